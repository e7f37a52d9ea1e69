"""Fixtures that run the real push-pop server: in-process (ASGI) and as a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from push_pop_client import AsyncPushPopClient, PushPopClient

TOKEN = "test-token"


@pytest.fixture
def api_token() -> str:
    return TOKEN


def _server() -> Any:
    server = pytest.importorskip("push_pop_server")
    if not hasattr(server, "create_app"):
        pytest.skip("push_pop_server.create_app is not available yet")
    return server


def make_app(data_dir: Path, token: str | None = None) -> Any:
    """The real server app over its embedded store in ``data_dir``."""
    server = _server()
    return server.create_app(server.Settings(data_dir=data_dir, api_token=token))


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Run the app's ASGI lifespan (startup, then shutdown), which ASGITransport skips."""
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send(message: dict[str, Any]) -> None:
        await from_app.put(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, to_app.get, send))
    await to_app.put({"type": "lifespan.startup"})
    started = await from_app.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"server failed to start: {started}")
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        await from_app.get()
        await task


@pytest.fixture
async def server_app(tmp_path: Path) -> AsyncIterator[Any]:
    app = make_app(tmp_path / "data")
    async with lifespan(app):
        yield app


@pytest.fixture
async def client(server_app: Any) -> AsyncIterator[AsyncPushPopClient]:
    transport = httpx.ASGITransport(app=server_app)
    async with AsyncPushPopClient("http://push-pop.test", transport=transport) as client:
        yield client


@pytest.fixture
async def secured_app(tmp_path: Path) -> AsyncIterator[Any]:
    app = make_app(tmp_path / "secured", token=TOKEN)
    async with lifespan(app):
        yield app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RunningServer:
    """A ``python -m push_pop_server`` process listening on a loopback port."""

    def __init__(self, data_dir: Path, token: str | None = None) -> None:
        _server()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PUSH_POP_API_TOKEN": token or ""}
        if token is None:
            env.pop("PUSH_POP_API_TOKEN")
        command = [sys.executable, "-m", "push_pop_server", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--data-dir", str(data_dir)]
        # The server logs a JSON line per request: to a file, so a full pipe never blocks it.
        self.log_path = data_dir / "server.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(command, env=env, stderr=self._log, text=True)
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._log.close()
                raise RuntimeError(f"the server exited: {self.log_path.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("the server did not become healthy within 20 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()

    def client(self) -> PushPopClient:
        return PushPopClient(self.url)


@pytest.fixture(scope="module")
def running_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = RunningServer(tmp_path_factory.mktemp("server"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def secured_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = RunningServer(tmp_path_factory.mktemp("secured"), token=TOKEN)
    yield server
    server.stop()
