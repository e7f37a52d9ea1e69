"""Every queue operation through a real Dapr sidecar and the Python actor proxy (SQLite store).

One stack for the module: placement, ``apps/actor_app.py`` and daprd with the SQLite actor
state store. Calls go through ``queue_proxy`` (the SDK's ``ActorProxy`` with the plain JSON
serializer), through the stock ``ActorProxy.create`` as the original README has it, or as raw
HTTP to the sidecar's actor API where a test needs the wire itself.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from dapr.actor import ActorId, ActorProxy
from dapr.clients.exceptions import DaprInternalError
from dapr.conf import settings
from push_pop_actor import PushPopActorInterface, queue_error, queue_proxy
from push_pop_actor.devstack import DevStack
from push_pop_core import InvalidArgumentError, LockNotFoundError, QueueLockedError

ACTOR_APP = Path(__file__).resolve().parent / "apps" / "actor_app.py"
StackFactory = Callable[..., DevStack]

FIDELITY_ITEM: dict[str, Any] = {
    "date": "2024-01-01",
    "when": "2024-01-01T10:00:00Z",
    "duration": "5m",
    "big": 2**53 + 1,
    "huge": 2**70 + 3,
    "negative": -(2**63) - 1,
    "float": 0.1,
    "exp": 1e-300,
    "whole_float": 2.0,
    "unicode": 'żółć 🧪 ✓ \u2028 <b>&</b> \\ "q" \u0000',
    "nested": {"b": [1, {"c": ["2024/12/31", "1h30m"]}], "a": None},
}


def _queue() -> str:
    return f"ops-{secrets.token_hex(5)}"


@pytest.fixture(scope="module")
def stack(devstack_factory: StackFactory) -> DevStack:
    return devstack_factory(
        [sys.executable, str(ACTOR_APP)], store="sqlite", actor_types=["PushPopActor"]
    )


@pytest.fixture(scope="module", autouse=True)
def sidecar(stack: DevStack) -> Iterator[str]:
    """Point this process's Dapr SDK at the stack's sidecar."""
    url = stack.instances[0].dapr_http_url
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "DAPR_HTTP_ENDPOINT", url)
        yield url


async def _invoke(url: str, queue: str, method: str, body: Any = None) -> httpx.Response:
    content = None if body is None else json.dumps(body).encode()
    async with httpx.AsyncClient(timeout=30.0, trust_env=False) as client:
        return await client.post(
            f"{url}/v1.0/actors/PushPopActor/{queue}/method/{method}", content=content
        )


async def test_the_original_readme_snippet_works() -> None:
    proxy = ActorProxy.create(
        actor_type="PushPopActor",
        actor_id=ActorId(_queue()),
        actor_interface=PushPopActorInterface,
    )
    await proxy.Push({"item": {"task": "urgent"}, "priority": 0})
    await proxy.Push({"item": {"task": "normal"}, "priority": 5})
    items = await proxy.Pop()
    assert [message["item"] for message in items] == [{"task": "urgent"}]
    assert [message["item"] for message in await proxy.Pop()] == [{"task": "normal"}]
    assert await proxy.Pop() == []


async def test_items_come_back_exactly_through_queue_proxy() -> None:
    proxy = queue_proxy(_queue())
    await proxy.Push({"item": FIDELITY_ITEM})
    (message,) = await proxy.Pop()
    assert message["item"] == FIDELITY_ITEM
    assert list(message["item"]) == list(FIDELITY_ITEM)
    assert type(message["item"]["whole_float"]) is float


async def test_the_stock_proxy_decodes_date_strings_on_the_callers_side() -> None:
    # Documented limitation: the queue keeps the string, the SDK's default decoder does not.
    queue = _queue()
    await queue_proxy(queue).Push({"item": {"date": "2024-01-01"}})
    stock = ActorProxy.create("PushPopActor", ActorId(queue), PushPopActorInterface)
    (message,) = await stock.Peek()
    assert isinstance(message["item"]["date"], datetime)
    (exact,) = await queue_proxy(queue).Pop()
    assert exact["item"] == {"date": "2024-01-01"}


async def test_pop_drains_priority_zero_first_and_each_priority_in_push_order() -> None:
    proxy = queue_proxy(_queue())
    order = [(3, "a"), (0, "b"), (3, "c"), (1, "d"), (0, "e")]
    for priority, name in order:
        await proxy.Push({"item": {"name": name}, "priority": priority})
    await proxy.Push({"items": [{"item": {"name": f"batch{i}"}, "priority": 1} for i in range(3)]})
    popped = await proxy.Pop({"count": 100})
    names = [message["item"]["name"] for message in popped]
    assert names == ["b", "e", "d", "batch0", "batch1", "batch2", "a", "c"]


async def test_every_operation_is_an_actor_method() -> None:
    proxy = queue_proxy(_queue())
    config = await proxy.SetConfig({"max_length": 50, "dedup_window_seconds": 600})
    assert (config["max_length"], config["dedup_window_seconds"]) == (50, 600)
    assert (await proxy.GetConfig())["max_length"] == 50

    pushed = await proxy.Push(
        {
            "items": [
                {"item": {"n": i}, "priority": i % 2, "idempotency_key": f"k{i}"} for i in range(6)
            ]
        }
    )
    assert (pushed["success"], pushed["items_pushed"], len(pushed["ids"])) == (True, 6, 6)
    again = await proxy.Push({"item": {"n": 0}, "idempotency_key": "k0"})
    assert (again["items_pushed"], again["duplicates"], again["ids"]) == (0, 1, pushed["ids"][:1])

    assert [m["item"]["n"] for m in await proxy.Peek({"count": 10})] == [0, 2, 4, 1, 3, 5]
    assert [m["item"]["n"] for m in await proxy.Peek({"count": 10, "priority": 1})] == [1, 3, 5]

    leased = await proxy.PopWithAck({"count": 3, "ttl_seconds": 60})
    assert [m["item"]["n"] for m in leased] == [0, 2, 4]
    assert all(m["lock_id"] and m["lock_expires_at"] > 0 for m in leased)
    extended = await proxy.ExtendLock({"lock_id": leased[0]["lock_id"], "ttl_seconds": 600})
    assert extended["lock_expires_at"] > leased[0]["lock_expires_at"]
    acked = await proxy.Acknowledge({"lock_ids": [leased[0]["lock_id"]]})
    assert acked == {"success": True, "items_acknowledged": 1}
    assert await proxy.Nack({"lock_id": leased[1]["lock_id"], "priority": 1}) == {"success": True}
    assert await proxy.DeadLetter({"lock_id": leased[2]["lock_id"]}) == {"success": True}

    stats = await proxy.Stats()
    assert (stats["ready"], stats["in_flight"], stats["dead_letters"]) == (4, 0, 1)
    assert stats["totals"]["pushed"] == 6
    assert [p["priority"] for p in stats["priorities"]] == [1]

    (dead,) = await proxy.DeadLetters({"count": 10})
    assert (dead["item"], dead["dead_letter_reason"]) == ({"n": 4}, "consumer")
    assert (await proxy.Redrive({"priority": 0}))["items_redriven"] == 1
    (c,) = await proxy.PopWithAck()
    assert c["item"] == {"n": 4}
    await proxy.DeadLetter({"lock_id": c["lock_id"]})
    assert (await proxy.PurgeDeadLetters())["items_purged"] == 1

    assert [m["item"]["n"] for m in await proxy.Peek({"count": 10})] == [2, 1, 3, 5]
    assert (await proxy.Purge({"priority": 1}))["items_purged"] == 4
    await proxy.Push({"item": {"n": 9}})
    assert (await proxy.Purge())["items_purged"] == 1
    await proxy.Push({"item": {"n": 10}})
    assert (await proxy.Delete())["items_purged"] == 1
    assert await proxy.Pop() == []


async def test_an_expired_lease_returns_its_message_to_the_front() -> None:
    proxy = queue_proxy(_queue())
    await proxy.Push({"items": [{"item": {"n": 1}}, {"item": {"n": 2}}]})
    (leased,) = await proxy.PopWithAck({"ttl_seconds": 1})
    await asyncio.sleep(1.2)
    (again,) = await proxy.Pop()
    assert (again["item"], again["deliveries"]) == ({"n": 1}, 2)
    with pytest.raises(DaprInternalError) as caught:
        await proxy.Acknowledge({"lock_id": leased["lock_id"]})
    error = queue_error(caught.value)
    assert error is not None and error.code == "LOCK_EXPIRED"


async def test_a_typed_method_error_reaches_the_caller_with_its_code() -> None:
    proxy = queue_proxy(_queue())
    with pytest.raises(DaprInternalError) as caught:
        await proxy.Acknowledge({"lock_id": "never-granted"})
    error = queue_error(caught.value)
    assert isinstance(error, LockNotFoundError)
    assert error.lock_id == "never-granted"


async def test_an_exclusive_lease_locks_the_queue_with_its_expiry() -> None:
    proxy = queue_proxy(_queue())
    await proxy.Push({"items": [{"item": {"n": 1}}, {"item": {"n": 2}}]})
    (held,) = await proxy.PopWithAck({"exclusive": True, "ttl_seconds": 60})
    with pytest.raises(DaprInternalError) as caught:
        await proxy.Pop()
    error = queue_error(caught.value)
    assert isinstance(error, QueueLockedError)
    assert error.lock_expires_at == held["lock_expires_at"]
    await proxy.Acknowledge({"lock_id": held["lock_id"]})
    assert [m["item"] for m in await proxy.Pop()] == [{"n": 2}]


async def test_dispatch_answers_results_and_errors_without_raising(sidecar: str) -> None:
    queue = _queue()
    pushed = await _invoke(sidecar, queue, "Dispatch", {"op": "push", "payload": {"item": {}}})
    assert pushed.status_code == 200
    assert pushed.json()["result"]["items_pushed"] == 1
    bad = await _invoke(sidecar, queue, "Dispatch", {"op": "pop", "payload": {"count": 1001}})
    assert bad.status_code == 200
    assert bad.json() == {
        "error": {
            "code": "INVALID_ARGUMENT",
            "message": "count: must be between 1 and 1000",
            "field": "count",
        },
        "status": 400,
    }


async def test_an_invalid_queue_id_is_refused(sidecar: str) -> None:
    answer = await _invoke(sidecar, "not%20valid", "Dispatch", {"op": "stats"})
    assert answer.json()["status"] == 400
    assert answer.json()["error"]["field"] == "queue_id"
    with pytest.raises(InvalidArgumentError):
        queue_proxy("not valid")


async def test_a_failed_batch_leaves_nothing_in_the_store(stack: DevStack) -> None:
    queue = _queue()
    proxy = queue_proxy(queue)
    await proxy.Push({"item": {"keep": "first"}})
    marker = secrets.token_hex(8)
    batch = {"items": [{"item": {"lost": marker}}, {"item": {"lost": marker}}, {"item": [1]}]}
    with pytest.raises(DaprInternalError) as caught:
        await proxy.Push(batch)
    error = queue_error(caught.value)
    assert isinstance(error, InvalidArgumentError) and error.field == "items[2].item"
    await proxy.Push({"item": {"keep": "second"}})

    path = stack.template_values()["SQLITE_PATH"]
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT key, value FROM state WHERE key LIKE ?", (f"%||{queue}||%",))
        values = {key: value for key, value in rows}
    assert values, "the queue's state is in the SQLite file"
    assert not any(marker in json.loads(value) for value in values.values())
    assert [m["item"] for m in await proxy.Pop({"count": 10})] == [
        {"keep": "first"},
        {"keep": "second"},
    ]
    assert (await proxy.Stats())["totals"]["pushed"] == 2


# ---------------------------------------------------------------- the sidecar token (SPEC §5)

TOKEN = "app-token-" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def guarded_stack(devstack_factory: StackFactory) -> DevStack:
    return devstack_factory(
        [sys.executable, str(ACTOR_APP)],
        store="inmemory",
        actor_types=["PushPopActor"],
        app_api_token=TOKEN,
    )


async def test_with_app_api_token_the_sidecar_still_reaches_the_actor(
    guarded_stack: DevStack,
) -> None:
    url = guarded_stack.instances[0].dapr_http_url
    answer = await _invoke(url, _queue(), "Push", {"item": {"a": 1}})
    assert answer.status_code == 200, answer.text


async def test_with_app_api_token_direct_calls_to_the_app_are_refused(
    guarded_stack: DevStack,
) -> None:
    app = guarded_stack.instances[0].app_url
    path = f"/actors/PushPopActor/{_queue()}/method/Dispatch"
    body = json.dumps({"op": "push", "payload": {"item": {}}})
    async with httpx.AsyncClient(base_url=app, timeout=10.0, trust_env=False) as client:
        assert (await client.put(path, content=body)).status_code == 401
        assert (await client.get("/dapr/config")).status_code == 401
        wrong = {"dapr-api-token": "guess"}
        assert (await client.put(path, content=body, headers=wrong)).status_code == 401
        right = {"dapr-api-token": TOKEN}
        assert (await client.get("/dapr/config", headers=right)).status_code == 200
        assert (await client.get("/health")).status_code == 200
