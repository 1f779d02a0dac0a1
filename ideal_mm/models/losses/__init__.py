"""Registered components; each module registers on import."""
