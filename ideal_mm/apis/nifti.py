"""Writing label volumes as NIfTI: the writers live in the data layer
(:mod:`ideal_mm.datasets.nifti_write`) so that the evaluation metric can
save predictions without importing ``apis``; re-exported here for callers of
the inference API."""
from ideal_mm.datasets.nifti_write import (write_label_nifti,
                                           write_label_nifti_like_source)

__all__ = ['write_label_nifti', 'write_label_nifti_like_source']
