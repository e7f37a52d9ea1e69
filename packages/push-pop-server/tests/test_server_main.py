"""The console script: a real uvicorn process on a loopback port, JSON logs, graceful stop."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DAPR_", "PUSH_POP_"))}
        command = [sys.executable, "-m", "push_pop_server", "--port", str(self.port)]
        command += ["--data-dir", str(tmp_path / "data"), *args]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(command, env=env, stderr=log, stdout=log)
        deadline = time.monotonic() + 20
        with httpx.Client(base_url=self.url, timeout=1) as probe:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited: {self.log.read_text()}")
                with contextlib.suppress(httpx.HTTPError):
                    if probe.get("/health").status_code == 200:
                        return
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the server did not start: {self.log.read_text()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def log_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path, "--long-poll-interval", "30")
    yield running
    running.stop()


def test_the_readme_demo_over_real_http(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        pushed = client.post(
            "/queue/my-queue/push", json={"item": {"task": "hello"}, "priority": 0}
        )
        assert pushed.json()["success"] is True
        popped = client.post("/queue/my-queue/pop").json()
    assert popped["items"][0]["item"] == {"task": "hello"}


def test_logs_are_json_lines_with_request_and_queue_ids(server: Server) -> None:
    httpx.post(
        f"{server.url}/queue/orders/push", json={"item": {}}, headers={"X-Request-ID": "req-7"}
    )
    assert server.stop() == 0
    lines = server.log_lines()
    (access,) = [line for line in lines if line.get("route") == "/queue/{queue_id}/push"]
    assert access["request_id"] == "req-7"
    assert access["queue_id"] == "orders"
    assert access["status"] == 200
    assert any(str(line["logger"]).startswith("uvicorn") for line in lines)


def test_sigterm_answers_a_waiting_long_poll_and_exits_cleanly(server: Server) -> None:
    answer: list[httpx.Response] = []

    def wait() -> None:
        answer.append(httpx.post(f"{server.url}/queue/q/pop?wait_seconds=60", timeout=90))

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)
    stopping = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    waiter.join(timeout=30)
    assert answer and answer[0].json() == {"items": []}
    assert server.process.wait(timeout=20) == 0
    assert time.monotonic() - stopping < 10


def test_messages_survive_a_restart(tmp_path: Path) -> None:
    first = Server(tmp_path)
    httpx.post(f"{first.url}/queue/q/push", json={"item": {"kept": True}})
    assert first.stop() == 0
    second = Server(tmp_path)
    try:
        popped = httpx.post(f"{second.url}/queue/q/pop").json()
    finally:
        second.stop()
    assert popped["items"][0]["item"] == {"kept": True}


def test_an_unusable_data_dir_fails_at_startup(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAPR_", "PUSH_POP_"))}
    result = subprocess.run(
        [
            *(sys.executable, "-m", "push_pop_server"),
            *("--port", str(_free_port()), "--data-dir", str(blocker / "data")),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "embedded store" in result.stderr


def test_the_console_script_is_declared() -> None:
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "push-pop-server"]
    assert script.value == "push_pop_server.__main__:main"


def test_help_lists_the_flags() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "push_pop_server", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    for flag in ("--host", "--port", "--backend", "--data-dir", "--max-body-bytes"):
        assert flag in result.stdout
