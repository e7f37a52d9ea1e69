"""A local Dapr stack on loopback: one placement service and N app instances with their sidecars.

Everything binds to 127.0.0.1 on free ports, every process is started in its own process group
and is stopped by that group's id only, and every process logs to its own file. Used by the
integration tests and by hand::

    python -m push_pop_actor.devstack --store sqlite --instances 2 -- python app.py

The app command receives its ports in the environment: ``APP_PORT`` (where it must listen),
``DAPR_HTTP_PORT``/``DAPR_GRPC_PORT``/``DAPR_RUNTIME_HOST`` (read by the Dapr Python SDK), and
``DAPR_HTTP_ENDPOINT``/``DAPR_GRPC_ENDPOINT`` (which the SDK prefers when present).

Binaries come from ``tools/dapr-runtime/build.py``'s cache (``$PUSH_POP_DAPR_CACHE`` or
``~/.cache/push-pop/dapr``, then ``1.18.3/``), or ``$PUSH_POP_DAPRD``/``$PUSH_POP_PLACEMENT``.
Component templates come from the repository's ``components/`` (or ``$PUSH_POP_COMPONENTS_DIR``).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

__all__ = [
    "DAPR_VERSION",
    "STORES",
    "DevStack",
    "DevStackError",
    "Instance",
    "StoreConfig",
    "default_binaries",
    "find_components_dir",
    "free_ports",
]

DAPR_VERSION = "1.18.3"
STORES = ("inmemory", "sqlite", "redis", "postgresql")
StoreName = Literal["inmemory", "sqlite", "redis", "postgresql"]
LOOPBACK = "127.0.0.1"
_PLACEHOLDER = re.compile(r"\{\{([A-Z0-9_]+)\}\}")
# Stacks with processes running; stopped at interpreter exit so a script that forgets stop()
# (or dies of an exception) leaves nothing behind. Nothing can help after SIGKILL.
_LIVE_STACKS: set[DevStack] = set()


class DevStackError(RuntimeError):
    """The stack could not be started or did not become ready; the message names the process."""


@dataclass(frozen=True)
class StoreConfig:
    """Which actor state store the stack uses, and where it lives.

    ``sqlite_path`` defaults to ``<workdir>/state.db``; ``postgres_table`` defaults to a fresh
    ``state_<random>`` table per stack so stacks sharing one server do not share state.
    """

    name: StoreName = "sqlite"
    sqlite_path: Path | None = None
    redis_host: str = LOOPBACK
    redis_port: int = 6379
    redis_password: str = ""
    redis_db: int = 0
    postgres_connection_string: str = (
        "host=127.0.0.1 port=5432 user=postgres password=postgres dbname=postgres sslmode=disable"
    )
    postgres_table: str | None = None


@dataclass
class Instance:
    """One app process and its daprd sidecar, with the loopback ports they use."""

    index: int
    app_port: int
    http_port: int
    grpc_port: int
    internal_grpc_port: int
    metrics_port: int
    app: subprocess.Popen[bytes] | None = None
    daprd: subprocess.Popen[bytes] | None = None

    @property
    def dapr_http_url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    @property
    def app_url(self) -> str:
        return f"http://{LOOPBACK}:{self.app_port}"

    def ports(self) -> dict[str, int]:
        return {
            "app": self.app_port,
            "dapr_http": self.http_port,
            "dapr_grpc": self.grpc_port,
            "dapr_internal_grpc": self.internal_grpc_port,
            "metrics": self.metrics_port,
        }


@dataclass
class _Placement:
    port: int
    healthz_port: int
    raft_port: int
    metrics_port: int
    process: subprocess.Popen[bytes] | None = None


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (held open together so none repeats)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def default_binaries() -> dict[str, Path]:
    """Where daprd and placement are: env overrides, else the build cache of build.py."""
    root = Path(
        os.environ.get("PUSH_POP_DAPR_CACHE") or Path.home() / ".cache" / "push-pop" / "dapr"
    ).expanduser()
    cache = root / DAPR_VERSION
    return {
        "daprd": Path(os.environ.get("PUSH_POP_DAPRD") or cache / "daprd"),
        "placement": Path(os.environ.get("PUSH_POP_PLACEMENT") or cache / "placement"),
    }


def find_components_dir() -> Path:
    """The repository's ``components/`` (templates), found from env, this file, or the cwd."""
    configured = os.environ.get("PUSH_POP_COMPONENTS_DIR")
    if configured:
        return Path(configured)
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for parent in (start, *start.parents):
            candidate = parent / "components"
            if (candidate / "config.yaml").is_file():
                return candidate
    raise DevStackError("cannot find components/config.yaml; set PUSH_POP_COMPONENTS_DIR")


def render_template(text: str, values: Mapping[str, str]) -> str:
    """Replace ``{{NAME}}`` placeholders; every placeholder must have a value."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise DevStackError(f"no value for placeholder {{{{{name}}}}}")
        return values[name]

    return _PLACEHOLDER.sub(replace, text)


def _http_get(url: str, headers: Mapping[str, str], timeout: float = 2.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=0.5):
        return True
    return False


def _tail(path: Path, lines: int) -> str:
    if not path.exists():
        return "(no log)"
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 256 * lines))
        text = handle.read().decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:])


class DevStack:
    """Placement plus ``instances`` pairs of (app, daprd), all on loopback.

    Args:
        app_argv: command of one app instance; run with ``APP_PORT`` etc. in its environment.
        store: state store name (``STORES``) or a full :class:`StoreConfig`.
        instances: number of app+sidecar pairs; they share one app id (replicas of one app)
            so they share actor state, as replicas in production do.
        actor_types: actor types that must be registered before an instance counts as ready.
        app_env: extra environment for the app processes.
        app_api_token: when set, daprd sends it as ``dapr-api-token`` to the app
            (``APP_API_TOKEN``) and the app gets it in its environment to check.
        dapr_api_token: when set, daprd requires it on its API (``DAPR_API_TOKEN``); the app
            and the readiness checks send it.
        workdir: where resources, logs and the SQLite files go (default: a fresh temp dir,
            removed on :meth:`stop` unless ``keep_workdir``).
    """

    def __init__(
        self,
        app_argv: Sequence[str],
        *,
        store: StoreName | StoreConfig = "sqlite",
        instances: int = 1,
        app_id: str = "push-pop",
        actor_types: Sequence[str] = (),
        app_env: Mapping[str, str] | None = None,
        app_cwd: Path | None = None,
        app_api_token: str | None = None,
        dapr_api_token: str | None = None,
        workdir: Path | None = None,
        keep_workdir: bool = False,
        components_dir: Path | None = None,
        binaries: Mapping[str, Path] | None = None,
        log_level: str = "info",
        startup_timeout: float = 60.0,
    ) -> None:
        if instances < 1:
            raise ValueError("instances must be >= 1")
        self.app_argv = list(app_argv)
        self.store = store if isinstance(store, StoreConfig) else StoreConfig(name=store)
        if self.store.name not in STORES:
            raise ValueError(f"unknown store {self.store.name!r}; choose one of {STORES}")
        self.app_id = app_id
        self.actor_types = list(actor_types)
        self.app_env = dict(app_env or {})
        self.app_cwd = app_cwd
        self.app_api_token = app_api_token
        self.dapr_api_token = dapr_api_token
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="push-pop-devstack-"))
        self.keep_workdir = keep_workdir
        self.components_dir = components_dir or find_components_dir()
        self.binaries = dict(binaries or default_binaries())
        self.log_level = log_level
        self.startup_timeout = startup_timeout
        self.log_dir = self.workdir / "logs"
        self.resources_dir = self.workdir / "resources"
        self.config_path = self.workdir / "config.yaml"
        self.postgres_table = self.store.postgres_table or f"state_{secrets.token_hex(4)}"
        ports = free_ports(4 + 5 * instances)
        self.placement = _Placement(
            port=ports[0], healthz_port=ports[1], raft_port=ports[2], metrics_port=ports[3]
        )
        self.instances = [
            Instance(
                index=i,
                app_port=ports[4 + 5 * i],
                http_port=ports[5 + 5 * i],
                grpc_port=ports[6 + 5 * i],
                internal_grpc_port=ports[7 + 5 * i],
                metrics_port=ports[8 + 5 * i],
            )
            for i in range(instances)
        ]
        self._logs: list[TextIO] = []
        self.started = False

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> DevStack:
        return self if self.started else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> DevStack:
        """Write resources, start placement and every instance, wait until all are ready."""
        for name, path in self.binaries.items():
            if not os.access(path, os.X_OK):
                raise DevStackError(
                    f"{name} not found at {path}; run `python tools/dapr-runtime/build.py`"
                )
        try:
            _LIVE_STACKS.add(self)
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self.write_resources()
            self._start_placement()
            for instance in self.instances:
                self.start_instance(instance.index, wait=False)
            for instance in self.instances:
                self.wait_ready(instance.index)
        except BaseException:
            self.stop()
            raise
        self.started = True
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every process this stack started: sidecars and apps together, then placement."""
        procs = [p for i in self.instances for p in (i.daprd, i.app)]
        self._terminate_all(procs, timeout)
        for instance in self.instances:
            instance.daprd = instance.app = None
        self._terminate(self.placement.process, timeout)
        self.placement.process = None
        _LIVE_STACKS.discard(self)
        for handle in self._logs:
            handle.close()
        self._logs.clear()
        self.started = False
        if self._own_workdir and not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def pids(self) -> list[int]:
        """PIDs of the processes currently running (for checks that teardown left nothing)."""
        procs = [self.placement.process]
        for instance in self.instances:
            procs += [instance.app, instance.daprd]
        return [p.pid for p in procs if p is not None and p.poll() is None]

    # ----------------------------------------------------------------- resources

    def template_values(self) -> dict[str, str]:
        """Values for the ``{{PLACEHOLDERS}}`` in components/*.yaml."""
        store = self.store
        return {
            "SQLITE_PATH": str(store.sqlite_path or self.workdir / "state.db"),
            "NAME_RESOLUTION_PATH": str(self.workdir / "nameresolution.db"),
            "REDIS_HOST": store.redis_host,
            "REDIS_PORT": str(store.redis_port),
            "REDIS_PASSWORD": store.redis_password,
            "REDIS_DB": str(store.redis_db),
            "POSTGRES_CONNECTION_STRING": store.postgres_connection_string,
            "POSTGRES_TABLE": self.postgres_table,
        }

    def write_resources(self) -> None:
        """Render the chosen store and the Configuration into this stack's workdir."""
        values = self.template_values()
        self.resources_dir.mkdir(parents=True, exist_ok=True)
        source = self.components_dir / self.store.name / "statestore.yaml"
        (self.resources_dir / "statestore.yaml").write_text(
            render_template(source.read_text(), values)
        )
        self.config_path.write_text(
            render_template((self.components_dir / "config.yaml").read_text(), values)
        )

    # ----------------------------------------------------------------- processes

    def _open_log(self, name: str) -> TextIO:
        handle = (self.log_dir / f"{name}.log").open("a")
        handle.write(f"\n===== devstack: starting {name} at {time.strftime('%H:%M:%S')} =====\n")
        handle.flush()
        self._logs.append(handle)
        return handle

    def _spawn(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        log = self._open_log(name)
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,  # own process group: stopped by its id, nothing else
        )

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes] | None, sig: signal.Signals) -> None:
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)

    def _terminate(self, proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
        self._terminate_all([proc], timeout)

    def _terminate_all(
        self, procs: Sequence[subprocess.Popen[bytes] | None], timeout: float
    ) -> None:
        """SIGTERM every group at once, wait up to ``timeout`` for all, SIGKILL the rest."""
        running = [p for p in procs if p is not None]
        for proc in running:
            self._signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in running:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(proc, signal.SIGKILL)
                proc.wait()
            # Anything left in the group (e.g. a worker the app forked) goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    def _dapr_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DAPR_HOST_IP"] = LOOPBACK  # the address daprd advertises (never a LAN address)
        for key in ("APP_API_TOKEN", "DAPR_API_TOKEN"):
            env.pop(key, None)
        if self.app_api_token:
            env["APP_API_TOKEN"] = self.app_api_token
        if self.dapr_api_token:
            env["DAPR_API_TOKEN"] = self.dapr_api_token
        return env

    def _start_placement(self) -> None:
        p = self.placement
        argv = [
            str(self.binaries["placement"]),
            "--id", "dapr-placement-0",
            "--port", str(p.port),
            "--listen-address", LOOPBACK,
            "--healthz-port", str(p.healthz_port),
            "--healthz-listen-address", LOOPBACK,
            "--initial-cluster", f"dapr-placement-0={LOOPBACK}:{p.raft_port}",
            "--enable-metrics=false",
            "--metrics-port", str(p.metrics_port),
            "--metrics-listen-address", LOOPBACK,
            "--log-level", self.log_level,
        ]  # fmt: skip
        p.process = self._spawn("placement", argv, self._dapr_env())
        self._wait(
            "placement",
            lambda: _http_get(f"http://{LOOPBACK}:{p.healthz_port}/healthz", {})[0] == 200,
            [p.process],
        )

    def daprd_argv(self, instance: Instance) -> list[str]:
        """The exact daprd command line for one instance."""
        return [
            str(self.binaries["daprd"]),
            "--mode", "standalone",
            "--app-id", self.app_id,
            "--app-port", str(instance.app_port),
            "--app-protocol", "http",
            "--app-channel-address", LOOPBACK,
            "--dapr-http-port", str(instance.http_port),
            "--dapr-grpc-port", str(instance.grpc_port),
            "--dapr-internal-grpc-port", str(instance.internal_grpc_port),
            "--dapr-internal-grpc-listen-address", LOOPBACK,
            "--dapr-listen-addresses", LOOPBACK,
            "--placement-host-address", f"{LOOPBACK}:{self.placement.port}",
            "--resources-path", str(self.resources_dir),
            "--config", str(self.config_path),
            "--enable-metrics=false",
            "--metrics-port", str(instance.metrics_port),
            "--metrics-listen-address", LOOPBACK,
            "--log-level", self.log_level,
        ]  # fmt: skip

    def app_environment(self, instance: Instance) -> dict[str, str]:
        """The environment one app process gets."""
        env = dict(os.environ)
        for key in ("DAPR_HTTP_ENDPOINT", "DAPR_GRPC_ENDPOINT", "APP_API_TOKEN", "DAPR_API_TOKEN"):
            env.pop(key, None)
        env.update(self.app_env)
        env.update(
            {
                "APP_ID": self.app_id,
                "APP_PORT": str(instance.app_port),
                "APP_INSTANCE": str(instance.index),
                "DAPR_RUNTIME_HOST": LOOPBACK,
                "DAPR_HTTP_PORT": str(instance.http_port),
                "DAPR_GRPC_PORT": str(instance.grpc_port),
                "DAPR_HTTP_ENDPOINT": instance.dapr_http_url,
                "DAPR_GRPC_ENDPOINT": f"{LOOPBACK}:{instance.grpc_port}",
            }
        )
        if self.app_api_token:
            env["APP_API_TOKEN"] = self.app_api_token
        if self.dapr_api_token:
            env["DAPR_API_TOKEN"] = self.dapr_api_token
        return env

    def start_instance(
        self, index: int, *, app: bool = True, sidecar: bool = True, wait: bool = True
    ) -> Instance:
        """Start the app and/or sidecar of one instance (those not already running)."""
        instance = self.instances[index]
        if app and (instance.app is None or instance.app.poll() is not None):
            instance.app = self._spawn(
                f"app-{index}", self.app_argv, self.app_environment(instance), self.app_cwd
            )
        if sidecar and (instance.daprd is None or instance.daprd.poll() is not None):
            instance.daprd = self._spawn(
                f"daprd-{index}", self.daprd_argv(instance), self._dapr_env()
            )
        if wait:
            self.wait_ready(index)
        return instance

    def stop_instance(
        self, index: int, *, app: bool = True, sidecar: bool = True, timeout: float = 10.0
    ) -> None:
        """Gracefully stop (SIGTERM, then SIGKILL after ``timeout``) app and/or sidecar."""
        instance = self.instances[index]
        if sidecar:
            self._terminate(instance.daprd, timeout)
            instance.daprd = None
        if app:
            self._terminate(instance.app, timeout)
            instance.app = None

    def kill_instance(self, index: int, *, app: bool = True, sidecar: bool = True) -> None:
        """``kill -9`` app and/or sidecar of one instance, as a crash would."""
        instance = self.instances[index]
        for attr, wanted in (("daprd", sidecar), ("app", app)):
            proc: subprocess.Popen[bytes] | None = getattr(instance, attr)
            if wanted and proc is not None:
                self._signal(proc, signal.SIGKILL)
                proc.wait()
                setattr(instance, attr, None)

    def restart_instance(self, index: int, *, app: bool = True, sidecar: bool = True) -> Instance:
        """Stop then start app and/or sidecar of one instance and wait until it is ready."""
        self.stop_instance(index, app=app, sidecar=sidecar)
        return self.start_instance(index, app=app, sidecar=sidecar)

    # ----------------------------------------------------------------- readiness

    def _headers(self) -> dict[str, str]:
        return {"dapr-api-token": self.dapr_api_token} if self.dapr_api_token else {}

    def metadata(self, index: int) -> dict[str, Any]:
        """daprd's ``GET /v1.0/metadata`` for one instance."""
        url = f"{self.instances[index].dapr_http_url}/v1.0/metadata"
        status, body = _http_get(url, self._headers())
        if status != 200:
            raise DevStackError(f"metadata of instance {index}: HTTP {status} {body[:200]!r}")
        result: dict[str, Any] = json.loads(body)
        return result

    def actors_ready(self, index: int) -> bool:
        """Placement connected, host ready, and every expected actor type registered."""
        try:
            runtime = self.metadata(index).get("actorRuntime", {})
        except (OSError, DevStackError, ValueError):
            return False
        registered = {entry.get("type") for entry in runtime.get("activeActors", [])}
        return (
            runtime.get("runtimeStatus") == "RUNNING"
            and runtime.get("hostReady") is True
            and runtime.get("placement") == "placement: connected"
            and all(actor_type in registered for actor_type in self.actor_types)
        )

    def is_ready(self, index: int) -> bool:
        instance = self.instances[index]
        if instance.app is None or instance.daprd is None:
            return False
        if not _port_open(instance.app_port):
            return False
        try:
            status, _ = _http_get(f"{instance.dapr_http_url}/v1.0/healthz", {})
        except OSError:
            return False
        return status == 204 and self.actors_ready(index)

    def wait_ready(self, index: int, timeout: float | None = None) -> None:
        """Wait until app port, sidecar health and actor runtime are all ready."""
        instance = self.instances[index]
        self._wait(
            f"instance {index}",
            lambda: self.is_ready(index),
            [instance.app, instance.daprd],
            timeout,
        )

    def _wait(
        self,
        what: str,
        ready: Callable[[], bool],
        procs: Sequence[subprocess.Popen[bytes] | None],
        timeout: float | None = None,
    ) -> None:
        deadline = time.monotonic() + (timeout or self.startup_timeout)
        while time.monotonic() < deadline:
            for proc in procs:
                if proc is not None and proc.poll() is not None:
                    raise DevStackError(
                        f"{what}: process {proc.pid} exited with {proc.returncode}\n"
                        + self.log_tails()
                    )
            with contextlib.suppress(OSError):
                if ready():
                    return
            time.sleep(0.2)
        raise DevStackError(
            f"{what} not ready after {timeout or self.startup_timeout}s\n" + self.log_tails()
        )

    # ----------------------------------------------------------------- diagnostics

    def log_path(self, name: str) -> Path:
        """Log file of ``placement``, ``app-<i>`` or ``daprd-<i>``."""
        return self.log_dir / f"{name}.log"

    def log_tails(self, lines: int = 40) -> str:
        """The last ``lines`` of every log, for failure messages."""
        names = ["placement"] + [
            f"{kind}-{i.index}" for i in self.instances for kind in ("app", "daprd")
        ]
        return "\n".join(
            f"----- {name} ({self.log_path(name)}) -----\n{_tail(self.log_path(name), lines)}"
            for name in names
        )

    def describe(self) -> dict[str, Any]:
        """Ports and paths, as the CLI prints them."""
        return {
            "app_id": self.app_id,
            "store": self.store.name,
            "placement": f"{LOOPBACK}:{self.placement.port}",
            "workdir": str(self.workdir),
            "logs": str(self.log_dir),
            "instances": [i.ports() for i in self.instances],
        }


@atexit.register
def _stop_live_stacks() -> None:
    for stack in list(_LIVE_STACKS):
        stack.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m push_pop_actor.devstack",
        description="Start placement and N app+daprd instances on loopback until Ctrl-C.",
    )
    parser.add_argument("--store", choices=STORES, default="sqlite")
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--app-id", default="push-pop")
    parser.add_argument("--actor-type", action="append", default=[], dest="actor_types")
    parser.add_argument("--sqlite-path", type=Path)
    parser.add_argument("--redis", default=f"{LOOPBACK}:6379", help="host:port")
    parser.add_argument("--postgres", default=StoreConfig.postgres_connection_string)
    parser.add_argument("--workdir", type=Path, help="kept after exit when given")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("app_argv", nargs=argparse.REMAINDER, help="-- app command...")
    args = parser.parse_args(argv)
    app_argv = args.app_argv[1:] if args.app_argv[:1] == ["--"] else args.app_argv
    if not app_argv:
        parser.error("give the app command after --")
    redis_host, _, redis_port = args.redis.rpartition(":")
    store = StoreConfig(
        name=args.store,
        sqlite_path=args.sqlite_path,
        redis_host=redis_host,
        redis_port=int(redis_port),
        postgres_connection_string=args.postgres,
    )
    stack = DevStack(
        app_argv,
        store=store,
        instances=args.instances,
        app_id=args.app_id,
        actor_types=args.actor_types,
        workdir=args.workdir,
        log_level=args.log_level,
    )
    # SIGTERM ends the CLI like Ctrl-C, so the children (in their own sessions) are stopped too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        stack.start()
    except DevStackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(stack.describe(), indent=2), flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
