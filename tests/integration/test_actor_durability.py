"""Nothing acknowledged is lost when the app and its sidecar stop or crash (SQLite store).

The stack is stopped (gracefully, then with ``kill -9``) and started again on the same state
file: every message is still there, in order, and leases taken before are still honoured.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from push_pop_actor.devstack import DevStack

ACTOR_APP = Path(__file__).resolve().parent / "apps" / "actor_app.py"


class Queue:
    """One queue, called through the stack's (current) sidecar."""

    def __init__(self, http: httpx.Client, stack: DevStack, name: str) -> None:
        self.http, self.stack, self.name = http, stack, f"{name}-{secrets.token_hex(4)}"

    def __call__(self, method: str, body: Any = None) -> Any:
        url = self.stack.instances[0].dapr_http_url
        response = self.http.post(
            f"{url}/v1.0/actors/PushPopActor/{self.name}/method/{method}",
            content=None if body is None else json.dumps(body).encode(),
        )
        assert response.status_code == 200, response.text
        return json.loads(response.content)


@pytest.fixture(scope="module")
def stack(devstack_factory: Callable[..., DevStack]) -> DevStack:
    return devstack_factory(
        [sys.executable, str(ACTOR_APP)], store="sqlite", actor_types=["PushPopActor"]
    )


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0, trust_env=False) as client:  # a new client costs ~50 ms
        yield client


def _fill(queue: Queue) -> list[tuple[int, int]]:
    """Push 300 messages over three priorities (singly and in batches); return (priority, n)."""
    pushed: list[tuple[int, int]] = []
    for n in range(60):
        queue("Push", {"item": {"n": n}, "priority": n % 3})
        pushed.append((n % 3, n))
    for start in range(60, 300, 80):
        batch = [{"item": {"n": n}, "priority": n % 3} for n in range(start, start + 80)]
        queue("Push", {"items": batch})
        pushed += [(n % 3, n) for n in range(start, start + 80)]
    return pushed


def test_a_graceful_restart_keeps_messages_order_and_leases(
    stack: DevStack, http: httpx.Client
) -> None:
    queue = Queue(http, stack, "durable")
    pushed = _fill(queue)
    long_lease, short_lease = (
        queue("PopWithAck", {"ttl_seconds": 600})[0],
        queue("PopWithAck", {"ttl_seconds": 2})[0],
    )
    first_two = [(0, 0), (0, 3)]
    assert [long_lease["item"]["n"], short_lease["item"]["n"]] == [n for _, n in first_two]

    stack.stop_instance(0)
    stack.start_instance(0)

    stats = queue("Stats")
    assert stats["ready"] + stats["in_flight"] == 300
    assert stats["in_flight"] >= 1  # the short lease may already be over, if the restart was slow
    # The short lease expires while the queue is back: its message returns to the front.
    time.sleep(max(0.0, short_lease["lock_expires_at"] - time.time()) + 0.2)
    (again,) = queue("Pop")
    assert (again["item"]["n"], again["deliveries"]) == (3, 2)
    # The long lease still holds its message, and its lock id still settles it.
    assert queue("Acknowledge", {"lock_id": long_lease["lock_id"]}) == {
        "success": True,
        "items_acknowledged": 1,
    }
    rest = [m["item"]["n"] for m in queue("Pop", {"count": 1000})]
    assert rest == [n for _, n in sorted(pushed) if n not in (0, 3)]


def test_a_crash_loses_no_acknowledged_push(stack: DevStack, http: httpx.Client) -> None:
    queue = Queue(http, stack, "crash")
    pushed = _fill(queue)
    (lease,) = queue("PopWithAck", {"ttl_seconds": 600})

    stack.kill_instance(0)  # kill -9, app and sidecar
    stack.start_instance(0)

    assert queue("Stats")["in_flight"] == 1
    assert queue("Nack", {"lock_id": lease["lock_id"]}) == {"success": True}
    popped = [m["item"]["n"] for m in queue("Pop", {"count": 1000})]
    assert popped == [n for _, n in sorted(pushed)]
