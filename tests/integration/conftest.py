"""Fixtures that run real Dapr stacks (placement + app + daprd on loopback) for integration tests.

Use ``devstack_factory`` from a test module; stacks it starts live until the end of the module::

    @pytest.fixture(scope="module")
    def stack(devstack_factory: DevStackFactory) -> DevStack:
        return devstack_factory([sys.executable, "my_app.py"], store="sqlite",
                                actor_types=["PushPopActor"])

Availability rules: the Dapr runtime is built on first use (tools/dapr-runtime/build.py). When
the ``CI`` environment variable is set, a runtime that cannot be built or a store that is not
reachable FAILS the test; locally they skip. Stores: ``inmemory`` and ``sqlite`` need nothing;
``redis`` uses ``$PUSH_POP_REDIS`` (``host:port``, default 127.0.0.1:6379); ``postgresql`` uses
``$PUSH_POP_POSTGRES`` (a libpq key=value or URL connection string, default
``host=127.0.0.1 port=5432 user=postgres password=postgres dbname=postgres``).
``$PUSH_POP_INTEGRATION_STORES`` (comma-separated) limits which stores run at all: the others
skip, even in CI.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import socket
import sys
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import urlparse

import pytest
from push_pop_actor.devstack import STORES, DevStack, StoreConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
APPS_DIR = Path(__file__).resolve().parent / "apps"
COUNTER_APP = APPS_DIR / "counter_app.py"
DEFAULT_POSTGRES = (
    "host=127.0.0.1 port=5432 user=postgres password=postgres dbname=postgres sslmode=disable"
)

_ACTIVE_STACKS: list[DevStack] = []


class DevStackFactory(Protocol):
    def __call__(
        self,
        app_argv: Sequence[str],
        *,
        store: str = "sqlite",
        instances: int = 1,
        actor_types: Sequence[str] = (),
        **options: Any,
    ) -> DevStack: ...


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def unavailable(reason: str) -> None:
    """Fail in CI, skip locally."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def _load_build_module() -> Any:
    path = REPO_ROOT / "tools" / "dapr-runtime" / "build.py"
    spec = importlib.util.spec_from_file_location("push_pop_dapr_runtime_build", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclass/typing machinery looks modules up here
    spec.loader.exec_module(module)
    return module


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _postgres_address(dsn: str) -> tuple[str, int]:
    if "://" in dsn:
        url = urlparse(dsn)
        return url.hostname or "127.0.0.1", url.port or 5432
    fields = dict(part.split("=", 1) for part in dsn.split() if "=" in part)
    return fields.get("host", "127.0.0.1"), int(fields.get("port", "5432"))


def store_config(store: str) -> StoreConfig:
    """The StoreConfig for ``store``, or skip/fail when it cannot run here."""
    if store not in STORES:
        raise ValueError(f"unknown store {store!r}")
    selected = os.environ.get("PUSH_POP_INTEGRATION_STORES")
    if selected and store not in {s.strip() for s in selected.split(",")}:
        pytest.skip(f"store {store!r} not in PUSH_POP_INTEGRATION_STORES={selected}")
    if store == "redis":
        host, _, port = os.environ.get("PUSH_POP_REDIS", "127.0.0.1:6379").rpartition(":")
        if not _reachable(host, int(port)):
            unavailable(f"Redis not reachable at {host}:{port} (set PUSH_POP_REDIS)")
        # A random database number keeps stacks apart; actor ids in tests are unique too.
        return StoreConfig(
            name="redis", redis_host=host, redis_port=int(port), redis_db=secrets.randbelow(16)
        )
    if store == "postgresql":
        dsn = os.environ.get("PUSH_POP_POSTGRES", DEFAULT_POSTGRES)
        host, pg_port = _postgres_address(dsn)
        if not _reachable(host, pg_port):
            unavailable(f"PostgreSQL not reachable at {host}:{pg_port} (set PUSH_POP_POSTGRES)")
        return StoreConfig(name="postgresql", postgres_connection_string=dsn)
    return StoreConfig(name=cast(Any, store))


@pytest.fixture(scope="session")
def dapr_binaries() -> dict[str, Path]:
    """daprd and placement, built from source on first use (minutes; cached afterwards)."""
    build = _load_build_module()
    try:
        paths = build.build()
    except build.BuildError as exc:
        unavailable(f"Dapr runtime unavailable: {exc}")
    return cast(dict[str, Path], paths)


@pytest.fixture(scope="module")
def devstack_factory(
    dapr_binaries: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevStackFactory]:
    """Start stacks on demand; all of them are torn down when the module's tests end."""
    stacks: list[DevStack] = []

    def start(
        app_argv: Sequence[str],
        *,
        store: str = "sqlite",
        instances: int = 1,
        actor_types: Sequence[str] = (),
        **options: Any,
    ) -> DevStack:
        stack = DevStack(
            app_argv,
            store=store_config(store),
            instances=instances,
            actor_types=actor_types,
            workdir=tmp_path_factory.mktemp(f"devstack-{store}"),
            binaries=dapr_binaries,
            **options,
        )
        stacks.append(stack)
        _ACTIVE_STACKS.append(stack)
        stack.start()
        return stack

    yield start
    for stack in reversed(stacks):
        stack.stop()
        _ACTIVE_STACKS.remove(stack)


@pytest.fixture(scope="session")
def counter_app_argv() -> list[str]:
    """Command of the minimal counter actor app (``CounterActor``) used to test the launcher."""
    return [sys.executable, str(COUNTER_APP)]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the log tails of running stacks to a failed test's report."""
    report = yield
    if report.failed and _ACTIVE_STACKS:
        for stack in _ACTIVE_STACKS:
            report.sections.append((f"devstack logs ({stack.workdir})", stack.log_tails()))
    return report
