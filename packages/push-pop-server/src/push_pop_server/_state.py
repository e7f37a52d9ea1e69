"""What one app holds: its settings, backend, metrics and the long polls' wake-ups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from starlette.requests import Request

from ._backends import QueueBackend
from ._longpoll import Arrivals
from ._metrics import Metrics
from ._settings import Settings

__all__ = ["AppState", "app_state"]


@dataclass
class AppState:
    """Reachable as ``app.state.push_pop``; :meth:`aclose` releases the backend."""

    settings: Settings
    backend: QueueBackend
    metrics: Metrics
    arrivals: Arrivals = field(default_factory=Arrivals)

    async def aclose(self) -> None:
        """Close the store or sidecar connection (the next request opens it again)."""
        self.arrivals.drain()
        await self.backend.aclose()


def app_state(request: Request) -> AppState:
    return cast(AppState, request.app.state.push_pop)
