"""The package version (one place; read by ``dcplan --version`` and the report)."""

__version__ = "0.1.0"
