"""Version of the ideal_mm package."""

__version__ = '0.1.0'
