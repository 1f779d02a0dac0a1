"""Using trained models: inference on NIfTI volumes, NIfTI writing, pictures."""
from .inference import init_model, load_volume, segment_volume  # noqa: F401
from .nifti import write_label_nifti, write_label_nifti_like_source  # noqa: F401
from .visualize import save_volume_montage, volume_montage  # noqa: F401
