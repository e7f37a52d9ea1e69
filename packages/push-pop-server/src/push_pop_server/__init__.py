"""push-pop-server: the push-pop REST API (SPEC §4) over embedded SQLite or Dapr actors.

Build the app with :func:`create_app` (in-process, or ``uvicorn --factory``), or run the
``push-pop-server`` console script. See docs/SERVER.md and docs/API.md.
"""

from ._app import create_app
from ._backends import DaprBackend, EmbeddedBackend, QueueBackend
from ._exceptions import ServerError, SettingsError
from ._settings import Settings, parse_args
from ._state import AppState

__version__ = "0.1.0"

__all__ = [
    "AppState",
    "DaprBackend",
    "EmbeddedBackend",
    "QueueBackend",
    "ServerError",
    "Settings",
    "SettingsError",
    "__version__",
    "create_app",
    "parse_args",
]
