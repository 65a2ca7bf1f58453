"""The package's version, in one place (the command line reads it without importing the whole package)."""

__version__ = "1.0.0.dev0"
