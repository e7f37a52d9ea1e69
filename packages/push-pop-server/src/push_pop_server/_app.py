"""The app factory: one FastAPI app serving SPEC §4 over the chosen backend.

The embedded backend opens its SQLite file lazily, so the app works in-process without its
lifespan (``httpx.ASGITransport(app=create_app(Settings(data_dir=tmp)))``); running the
lifespan, as uvicorn does, opens the store at startup and closes it at shutdown. Without the
lifespan, ``await app.state.push_pop.aclose()`` releases the file. The Dapr backend needs the
lifespan: that is where the actor is registered with the Dapr runtime.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from ._backends import DaprBackend, EmbeddedBackend, QueueBackend
from ._metrics import Metrics
from ._middleware import RequestMiddleware
from ._responses import install_error_handlers
from ._routes import router
from ._settings import Settings
from ._state import AppState

__all__ = ["create_app"]

_SIDECAR_PATHS = ("/actors", "/dapr/", "/healthz")
_DESCRIPTION = """\
A persistent priority FIFO queue. Priority 0 is served first; within a priority, first in,
first out. Pop removes messages; pop with `require_ack=true` leases them until acknowledged,
nacked or expired. Errors are `{"error": {"code", "message", "field"?}}`; see docs/API.md.
"""


def _backend(settings: Settings) -> QueueBackend:
    if settings.backend == "dapr":
        assert settings.dapr_http_port is not None  # Settings refuses dapr without it
        return DaprBackend(
            settings.dapr_http_port,
            api_token=settings.dapr_api_token,
            timeout=settings.dapr_timeout,
        )
    return EmbeddedBackend(settings.data_dir)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: AppState = app.state.push_pop
    await state.backend.open()
    try:
        yield
    finally:
        await state.aclose()


def _host_actor(app: FastAPI) -> None:
    """Serve the PushPopActor from this app, its routes open to the sidecar only."""
    from push_pop_actor import register_actor  # the Dapr SDK loads only in Dapr mode

    register_actor(app)
    generate = app.openapi

    def public_openapi() -> dict[str, Any]:
        # The sidecar's routes are not part of the public API.
        schema = generate()
        for path in [p for p in schema.get("paths", {}) if p.startswith(_SIDECAR_PATHS)]:
            del schema["paths"][path]
        return schema

    app.openapi = public_openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The push-pop REST app; ``settings`` default to :meth:`Settings.from_env`.

    Also usable as ``uvicorn --factory push_pop_server:create_app``.
    """
    from . import __version__

    settings = Settings.from_env() if settings is None else settings
    backend = _backend(settings)
    state = AppState(settings=settings, backend=backend, metrics=Metrics(backend.name))
    backend.on_counts = state.metrics.count_messages
    app = FastAPI(
        title="push-pop",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=_lifespan,
        redirect_slashes=False,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.push_pop = state
    install_error_handlers(app)
    app.include_router(router)
    if settings.backend == "dapr":
        _host_actor(app)
    # Added last, so it is outermost: it sees (and logs) every answer, refusals included.
    app.add_middleware(RequestMiddleware, state=state, routes=router.routes)
    return app
