"""dlnotes: helpers for the dlnotes lecture notes."""
__version__ = "0.1.0"
