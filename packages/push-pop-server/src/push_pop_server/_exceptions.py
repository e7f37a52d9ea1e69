"""The errors of push-pop-server itself (queue errors are push-pop-core's)::

    ServerError
    └── SettingsError   a setting is missing or out of range (the server does not start)

Request errors answer with push-pop-core's :class:`~push_pop_core.PushPopError` bodies.
"""

from __future__ import annotations

__all__ = ["ServerError", "SettingsError"]


class ServerError(Exception):
    """Base of push-pop-server's own errors."""


class SettingsError(ServerError, ValueError):
    """A setting is missing or out of range."""
