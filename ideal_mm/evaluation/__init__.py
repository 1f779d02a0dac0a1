"""Registered components; each module registers on import."""
from .functional import ACDC_LABELS, binary_metrics, volume_metrics  # noqa: F401
from .volume_metric import ACDCVolumeMetric  # noqa: F401
from .clinical import cardiac_function, ejection_fraction, label_volumes_ml  # noqa: F401
from .probe import build_probe_encoder, load_probe_data, probe_encoder  # noqa: F401
