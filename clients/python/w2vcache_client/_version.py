"""The package's version: the w2vcache tool's (a test checks they agree)."""

__version__ = "0.4.0"
