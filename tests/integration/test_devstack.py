"""The devstack launcher runs a real Dapr actor app: placement, sidecars, state stores, restarts."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from push_pop_actor.devstack import DevStack

ACTOR = "CounterActor"
StackFactory = Callable[..., DevStack]


def actor_id() -> str:
    return f"counter-{secrets.token_hex(6)}"


def call(stack: DevStack, instance: int, actor: str, method: str, body: object = None) -> object:
    """Invoke an actor method through one instance's sidecar HTTP API."""
    url = f"{stack.instances[instance].dapr_http_url}/v1.0/actors/{ACTOR}/{actor}/method/{method}"
    response = httpx.post(url, json=body, timeout=30.0)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def sqlite_stack(devstack_factory: StackFactory, counter_app_argv: list[str]) -> DevStack:
    return devstack_factory(counter_app_argv, store="sqlite", actor_types=[ACTOR])


def test_stack_reports_actor_runtime_connected_to_placement(sqlite_stack: DevStack) -> None:
    runtime = sqlite_stack.metadata(0)["actorRuntime"]
    assert runtime["runtimeStatus"] == "RUNNING"
    assert runtime["placement"] == "placement: connected"
    assert runtime["hostReady"] is True
    assert ACTOR in {entry["type"] for entry in runtime["activeActors"]}


def listening_addresses(pid: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of the TCP sockets ``pid`` listens on."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.add(fields[1].rsplit(":", 1)[0])
    return found


def test_every_process_listens_on_loopback_only(sqlite_stack: DevStack) -> None:
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
    for pid in sqlite_stack.pids():
        addresses = listening_addresses(pid)
        assert addresses, f"pid {pid} listens nowhere?"
        assert addresses <= loopback, (pid, addresses)


def test_actor_call_returns_incremented_count(sqlite_stack: DevStack) -> None:
    counter = actor_id()
    assert call(sqlite_stack, 0, counter, "Increment", 2) == 2
    assert call(sqlite_stack, 0, counter, "Increment", 3) == 5
    assert call(sqlite_stack, 0, counter, "Get") == 5


def test_actor_state_survives_restart_of_app_and_sidecar(sqlite_stack: DevStack) -> None:
    counter = actor_id()
    call(sqlite_stack, 0, counter, "Increment", 7)
    sqlite_stack.restart_instance(0)
    assert call(sqlite_stack, 0, counter, "Get") == 7


def test_actor_state_survives_kill_9_of_app_and_sidecar(sqlite_stack: DevStack) -> None:
    counter = actor_id()
    call(sqlite_stack, 0, counter, "Increment", 4)
    sqlite_stack.kill_instance(0)
    sqlite_stack.start_instance(0)
    assert call(sqlite_stack, 0, counter, "Increment", 1) == 5


def test_two_instances_share_actors_through_one_placement(
    devstack_factory: StackFactory, counter_app_argv: list[str]
) -> None:
    stack = devstack_factory(counter_app_argv, store="sqlite", instances=2, actor_types=[ACTOR])
    counters = [actor_id() for _ in range(6)]
    with stack:
        for counter in counters:
            # Each call may land on the other host; placement routes it to the one owner.
            assert call(stack, 0, counter, "Increment", 1) == 1
            assert call(stack, 1, counter, "Increment", 1) == 2
        hosted = [
            sum(e.get("count", 0) for e in stack.metadata(i)["actorRuntime"]["activeActors"])
            for i in range(2)
        ]
    assert sum(hosted) == len(counters)


@pytest.mark.parametrize("store", ["inmemory", "sqlite", "redis", "postgresql"])
def test_actor_state_round_trips_on_each_store(
    devstack_factory: StackFactory, counter_app_argv: list[str], store: str
) -> None:
    with devstack_factory(counter_app_argv, store=store, actor_types=[ACTOR]) as stack:
        counter = actor_id()
        call(stack, 0, counter, "Increment", 3)
        assert call(stack, 0, counter, "Increment", 4) == 7


@pytest.mark.parametrize("store", ["redis", "postgresql"])
def test_actor_state_survives_sidecar_restart(
    devstack_factory: StackFactory, counter_app_argv: list[str], store: str
) -> None:
    with devstack_factory(counter_app_argv, store=store, actor_types=[ACTOR]) as stack:
        counter = actor_id()
        call(stack, 0, counter, "Increment", 9)
        stack.restart_instance(0)
        assert call(stack, 0, counter, "Get") == 9


def _process_group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_teardown_leaves_no_processes(
    dapr_binaries: dict[str, Path], counter_app_argv: list[str], tmp_path: Path
) -> None:
    stack = DevStack(
        counter_app_argv,
        store="inmemory",
        actor_types=[ACTOR],
        workdir=tmp_path,
        binaries=dapr_binaries,
    )
    with stack:
        pids = stack.pids()
        assert len(pids) == 3  # placement, app, daprd
    assert stack.pids() == []
    assert not any(_process_group_exists(pid) for pid in pids)
