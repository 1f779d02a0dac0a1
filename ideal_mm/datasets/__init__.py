"""3D data sets as slices: the volume dataset base, ACDC (raw NIfTI and SSL4MIS
h5), nnU-Net and Decathlon folders; splits, volume cache, samplers."""
from . import transforms
from .acdc import ACDCDataset
from .nnunet import MSDDataset, NnUNetDataset
from .samplers import SemiSupMultiSourceSampler
from .volume_dataset import VolumeSegDataset, default_palette

__all__ = [
    'transforms', 'ACDCDataset', 'MSDDataset', 'NnUNetDataset',
    'SemiSupMultiSourceSampler', 'VolumeSegDataset', 'default_palette'
]
