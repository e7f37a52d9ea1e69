"""``push-pop-server`` / ``python -m push_pop_server``: run the REST API under uvicorn.

On SIGTERM or Ctrl-C the server stops accepting connections, answers waiting long polls at
once (with what they have: nothing was popped for them), lets in-flight requests finish for up
to ``shutdown_timeout`` seconds, then closes the store.
"""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence

import uvicorn

from ._app import create_app
from ._logging import configure_logging, logger
from ._settings import Settings, parse_args
from ._state import AppState

__all__ = ["main"]


class _Server(uvicorn.Server):
    """uvicorn, plus: waiting long polls answer as soon as shutdown begins, and a graceful
    stop exits 0 (uvicorn re-raises the signal after shutting down, exiting 143 or 130)."""

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._on_shutdown()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(settings: Settings) -> int:
    """Run the server until it is stopped; the exit status."""
    app = create_app(settings)
    state: AppState = app.state.push_pop
    if settings.api_token is None and not _is_loopback(settings.host):
        logger.warning(
            "serving on %s without PUSH_POP_API_TOKEN: anyone who reaches this port can use "
            "every queue",
            settings.host,
        )
    logger.info(
        "push-pop-server starting",
        extra={
            "backend": settings.backend,
            "host": settings.host,
            "port": settings.port,
            "data_dir": str(settings.data_dir) if settings.backend == "embedded" else None,
            "auth": settings.api_token is not None,
        },
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # configure_logging already routes uvicorn's records as JSON
        log_level=settings.log_level,
        access_log=False,  # the app logs each request itself, with request and queue ids
        timeout_graceful_shutdown=settings.shutdown_timeout,
        server_header=False,
        lifespan="on",
    )
    server = _Server(config, on_shutdown=state.arrivals.drain)
    server.run()
    return 0 if server.started else 3


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    configure_logging(settings.log_level)
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
