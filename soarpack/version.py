"""The package's version, apart from `soarpack/__init__.py`: modules below the public
facade (the HTTP client's User-Agent, the manifest cache key) read it without importing
the facade, which imports the engine."""

from __future__ import annotations

__version__ = "0.1.0"
