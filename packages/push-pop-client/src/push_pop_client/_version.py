"""The installed distribution's version (one source: pyproject.toml)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("push-pop-client")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
