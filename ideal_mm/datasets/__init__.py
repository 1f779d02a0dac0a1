"""3D data sets as slices: the volume dataset base, ACDC (raw NIfTI and SSL4MIS
h5), nnU-Net and Decathlon folders; splits, volume cache, samplers."""
from . import transforms  # noqa: F401
from .volume_dataset import (  # noqa: F401,E402
    VolumeSegDataset, default_palette)
from .acdc import ACDCDataset  # noqa: F401,E402
from .nnunet import MSDDataset, NnUNetDataset  # noqa: F401,E402
from .samplers import SemiSupMultiSourceSampler  # noqa: F401
