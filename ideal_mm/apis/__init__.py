"""Using trained models: inference on NIfTI volumes, NIfTI writing, pictures."""
from .inference import segment_volume  # noqa: F401
from .inputs import assign_outputs, collect_inputs  # noqa: F401
from .model import init_model  # noqa: F401
from .nifti import write_label_nifti, write_label_nifti_like_source  # noqa: F401
from .visualize import save_volume_montage, volume_montage  # noqa: F401
from .volume_io import load_volume  # noqa: F401
