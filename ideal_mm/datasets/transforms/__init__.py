"""Registered components; each module registers on import."""
from . import intensity, loading  # noqa: F401,E402
