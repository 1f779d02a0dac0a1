"""ACDC data: raw NIfTI / SSL4MIS h5 reading, splits, volume cache, samplers."""
from . import transforms  # noqa: F401
from .acdc import ACDCDataset  # noqa: F401,E402
from .samplers import SemiSupMultiSourceSampler  # noqa: F401
