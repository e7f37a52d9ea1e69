"""The REST contract (SPEC §4, docs/WIRE.md) as executable checks, runnable against any server.

Each check is a coroutine taking a :class:`Target`: an ``httpx.AsyncClient`` for the server
(any base URL or transport: in-process ASGI, a local process, a Dapr deployment) and,
optionally, a second client for another instance of the same deployment, through which the
checks consume what they produced through the first. Every check works on fresh queues of its
own, so checks may run in any order, against a server that holds other data::

    async with httpx.AsyncClient(base_url="http://127.0.0.1:8000") as client:
        target = Target(client)
        for name, check in CHECKS.items():
            await check(target)

A failed check raises :class:`ContractError` (an ``AssertionError``) naming what differed.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["CHECKS", "ContractError", "Target"]

JSON = dict[str, Any]
Check = Callable[["Target"], Awaitable[None]]


class ContractError(AssertionError):
    """The server answered differently from the contract."""


@dataclass
class Target:
    """The server under test.

    Args:
        client: where requests go (its base URL, headers and transport are the caller's).
        consumer: another instance of the same deployment; pops, leases and reads go there
            (default: ``client``).
        prefix: prefix of the queue ids the checks create.
    """

    client: httpx.AsyncClient
    consumer: httpx.AsyncClient | None = None
    prefix: str = "contract"
    _count: int = field(default=0, repr=False)

    @property
    def reader(self) -> httpx.AsyncClient:
        return self.consumer or self.client

    def queue(self, name: str) -> str:
        """A queue id no other check (or earlier run) uses."""
        self._count += 1
        return f"{self.prefix}-{name}-{self._count}-{uuid.uuid4().hex[:10]}"


CHECKS: dict[str, Check] = {}


def _check(fn: Check) -> Check:
    CHECKS[fn.__name__.removeprefix("check_")] = fn
    return fn


# ------------------------------------------------------------------------------ helpers


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise ContractError(message)


def _equal(actual: object, expected: object, what: str) -> None:
    _expect(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


async def _call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    status: int = 200,
    **kwargs: Any,
) -> JSON:
    response = await client.request(method, path, **kwargs)
    _expect(
        response.status_code == status,
        f"{method} {path}: expected {status}, got {response.status_code}: {response.text[:500]}",
    )
    _expect(
        response.headers.get("content-type", "").startswith("application/json"),
        f"{method} {path}: content-type {response.headers.get('content-type')!r}",
    )
    body = response.json()
    _expect(isinstance(body, dict), f"{method} {path}: body is not an object: {body!r}")
    result: JSON = body
    return result


async def _error(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    status: int,
    code: str,
    field: str | None = None,
    **kwargs: Any,
) -> JSON:
    """Send a request that must fail with ``status`` and the error body of ``code``."""
    body = await _call(client, method, path, status, **kwargs)
    error = body.get("error")
    _expect(isinstance(error, dict), f"{method} {path}: no error object in {body!r}")
    assert isinstance(error, dict)
    _equal(error.get("code"), code, f"{method} {path} error code")
    _expect(
        isinstance(error.get("message"), str) and bool(error["message"]),
        f"{method} {path}: error without a message: {error!r}",
    )
    if field is not None:
        _equal(error.get("field"), field, f"{method} {path} error field")
    return error


async def _push(client: httpx.AsyncClient, queue: str, item: JSON, priority: int = 0) -> str:
    body = await _call(
        client, "POST", f"/queue/{queue}/push", json={"item": item, "priority": priority}
    )
    _equal(body["items_pushed"], 1, "items_pushed")
    ids = body["ids"]
    _expect(isinstance(ids, list) and len(ids) == 1, f"push ids: {ids!r}")
    return str(ids[0])


async def _push_many(client: httpx.AsyncClient, queue: str, entries: list[JSON]) -> list[str]:
    body = await _call(client, "POST", f"/queue/{queue}/push", json={"items": entries})
    _equal(body["items_pushed"], len(entries), "items_pushed")
    return [str(i) for i in body["ids"]]


async def _pop(client: httpx.AsyncClient, queue: str, **params: Any) -> list[JSON]:
    body = await _call(client, "POST", f"/queue/{queue}/pop", params=_params(params))
    items: list[JSON] = body["items"]
    return items


async def _lease(client: httpx.AsyncClient, queue: str, **params: Any) -> list[JSON]:
    return await _pop(client, queue, require_ack=True, **params)


async def _stats(client: httpx.AsyncClient, queue: str) -> JSON:
    return await _call(client, "GET", f"/queue/{queue}/stats")


def _params(params: dict[str, Any]) -> dict[str, str]:
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}


def _items(messages: list[JSON]) -> list[JSON]:
    return [m["item"] for m in messages]


# ------------------------------------------------------------------------------ push and pop


@_check
async def check_readme_demo(t: Target) -> None:
    """The original README: push ``{"task": "hello"}`` at priority 0, then pop it."""
    queue = t.queue("my-queue")
    body = await _call(
        t.client,
        "POST",
        f"/queue/{queue}/push",
        json={"item": {"task": "hello"}, "priority": 0},
    )
    _equal(body["success"], True, "success")
    _equal(body["items_pushed"], 1, "items_pushed")
    popped = await _call(t.reader, "POST", f"/queue/{queue}/pop")
    _equal(len(popped["items"]), 1, "popped count")
    message = popped["items"][0]
    _equal(message["item"], {"task": "hello"}, "item")
    _equal(message["priority"], 0, "priority")
    _equal(message["id"], body["ids"][0], "id")
    _equal(message["deliveries"], 1, "deliveries")
    _expect(isinstance(message["enqueued_at"], int | float), "enqueued_at is a number")
    _expect("lock_id" not in message, "a plain pop carries no lock")
    _equal(await _pop(t.reader, queue), [], "pop of an empty queue")


@_check
async def check_priority_then_fifo(t: Target) -> None:
    queue = t.queue("order")
    entries: list[JSON] = [
        {"item": {"n": 1}, "priority": 2},
        {"item": {"n": 2}, "priority": 0},
        {"item": {"n": 3}},
        {"item": {"n": 4}, "priority": 1},
        {"item": {"n": 5}, "priority": 0},
    ]
    await _push_many(t.client, queue, entries)
    await _push(t.client, queue, {"n": 6}, priority=2)
    await _push(t.client, queue, {"n": 7}, priority=0)
    popped = await _pop(t.reader, queue, count=1000)
    _equal([i["n"] for i in _items(popped)], [2, 3, 5, 7, 4, 1, 6], "pop order")
    _equal([m["priority"] for m in popped], [0, 0, 0, 0, 1, 2, 2], "priorities")


@_check
async def check_batch_ids_in_order_and_count(t: Target) -> None:
    queue = t.queue("batch")
    ids = await _push_many(t.client, queue, [{"item": {"n": n}} for n in range(1000)])
    _equal(len(set(ids)), 1000, "distinct ids")
    popped = await _pop(t.reader, queue, count=3)
    _equal([m["id"] for m in popped], ids[:3], "ids of the first three")
    stats = await _stats(t.reader, queue)
    _equal(stats["ready"], 997, "ready after popping 3 of 1000")


@_check
async def check_idempotency_key_deduplicates(t: Target) -> None:
    queue = t.queue("idem")
    first = await _call(
        t.client, "POST", f"/queue/{queue}/push", json={"item": {"a": 1}, "idempotency_key": "k1"}
    )
    again = await _call(
        t.client, "POST", f"/queue/{queue}/push", json={"item": {"a": 2}, "idempotency_key": "k1"}
    )
    _equal(again["items_pushed"], 0, "items_pushed of a duplicate")
    _equal(again["duplicates"], 1, "duplicates")
    _equal(again["ids"], first["ids"], "a duplicate answers the original id")
    _equal(_items(await _pop(t.reader, queue, count=10)), [{"a": 1}], "queue content")


@_check
async def check_items_round_trip_exactly(t: Target) -> None:
    queue = t.queue("fidelity")
    item = {
        "date": "2024-01-01",
        "datetime": "2024-01-01T12:30:00Z",
        "time": "12:30:00",
        "duration": "5m",
        "iso_duration": "PT5M",
        "big": 2**64,
        "bigger": -(2**70) + 1,
        "beyond_double": 2**53 + 1,
        "float": 0.1,
        "tiny": 5e-324,
        "huge": 1.7976931348623157e308,
        "negative_zero": -0.0,
        "one_point_zero": 1.0,
        "unicode": "héllo ✓ 日本語 🎉 \u0000 \u2028",
        "empty": {},
        "nested": {"a": [1, [2, [3, {"b": None, "c": True, "d": False}]]]},
        "list": [],
        "bytes_like": "aGVsbG8=",
        "uuid_like": "123e4567-e89b-12d3-a456-426614174000",
    }
    await _push(t.client, queue, item)
    response = await t.reader.post(f"/queue/{queue}/pop")
    _equal(response.status_code, 200, "pop status")
    popped = response.json()["items"][0]["item"]
    _equal(popped, item, "item after a round trip")
    _equal(type(popped["one_point_zero"]), float, "1.0 stays a float")
    _equal(type(popped["big"]), int, "2**64 stays an integer")


# ------------------------------------------------------------------------------ leases


@_check
async def check_lease_and_acknowledge(t: Target) -> None:
    queue = t.queue("lease")
    await _push_many(t.client, queue, [{"item": {"n": n}} for n in range(3)])
    before = time.time()
    leased = await _lease(t.reader, queue, count=2, ttl_seconds=60)
    _equal([m["item"]["n"] for m in leased], [0, 1], "leased items")
    for message in leased:
        _expect(isinstance(message["lock_id"], str) and bool(message["lock_id"]), "lock_id")
        expires = message["lock_expires_at"]
        _expect(before + 55 < expires < time.time() + 65, f"lock_expires_at {expires}")
        _equal(message["deliveries"], 1, "deliveries")
    stats = await _stats(t.reader, queue)
    _equal((stats["ready"], stats["in_flight"]), (1, 2), "ready and in flight")
    ack = await _call(
        t.reader,
        "POST",
        f"/queue/{queue}/acknowledge",
        json={"lock_ids": [m["lock_id"] for m in leased]},
    )
    _equal(ack, {"success": True, "items_acknowledged": 2}, "acknowledge")
    await _error(
        t.reader,
        "POST",
        f"/queue/{queue}/acknowledge",
        404,
        "LOCK_NOT_FOUND",
        json={"lock_id": leased[0]["lock_id"]},
    )
    stats = await _stats(t.reader, queue)
    _equal((stats["ready"], stats["in_flight"]), (1, 0), "after acknowledging")
    _equal(stats["totals"]["acknowledged"], 2, "acknowledged total")


@_check
async def check_nack_returns_to_front(t: Target) -> None:
    queue = t.queue("nack")
    await _push_many(t.client, queue, [{"item": {"n": n}} for n in range(3)])
    (first,) = await _lease(t.reader, queue)
    ok = await _call(t.reader, "POST", f"/queue/{queue}/nack", json={"lock_id": first["lock_id"]})
    _equal(ok, {"success": True}, "nack")
    again = await _lease(t.reader, queue)
    _equal(again[0]["item"], {"n": 0}, "the nacked message comes back first")
    _equal(again[0]["deliveries"], 2, "deliveries after a nack")
    await _call(
        t.reader,
        "POST",
        f"/queue/{queue}/nack",
        json={"lock_id": again[0]["lock_id"], "priority": 5},
    )
    popped = await _pop(t.reader, queue, count=10)
    _equal([(m["item"]["n"], m["priority"]) for m in popped], [(1, 0), (2, 0), (0, 5)], "order")


@_check
async def check_extend_lock(t: Target) -> None:
    queue = t.queue("extend")
    await _push(t.client, queue, {"n": 1})
    (message,) = await _lease(t.reader, queue, ttl_seconds=5)
    body = await _call(
        t.reader,
        "POST",
        f"/queue/{queue}/extend-lock",
        json={"lock_id": message["lock_id"], "ttl_seconds": 3600},
    )
    _equal(body["success"], True, "success")
    _equal(body["lock_id"], message["lock_id"], "lock_id")
    _expect(body["lock_expires_at"] > time.time() + 3500, f"new expiry {body['lock_expires_at']}")
    await _error(
        t.reader,
        "POST",
        f"/queue/{queue}/extend-lock",
        400,
        "INVALID_ARGUMENT",
        field="ttl_seconds",
        json={"lock_id": message["lock_id"], "ttl_seconds": 0},
    )


@_check
async def check_expired_lease_returns_and_answers_gone(t: Target) -> None:
    queue = t.queue("expire")
    await _push_many(t.client, queue, [{"item": {"n": 1}}, {"item": {"n": 2}}])
    (message,) = await _lease(t.reader, queue, ttl_seconds=1)
    await asyncio.sleep(1.3)
    await _error(
        t.reader,
        "POST",
        f"/queue/{queue}/acknowledge",
        410,
        "LOCK_EXPIRED",
        json={"lock_id": message["lock_id"]},
    )
    popped = await _pop(t.reader, queue, count=10)
    _equal([m["item"]["n"] for m in popped], [1, 2], "the expired message is back in front")
    _equal(popped[0]["deliveries"], 2, "deliveries of the returned message")
    stats = await _stats(t.reader, queue)
    _equal(stats["totals"]["expired"], 1, "expired total")


@_check
async def check_exclusive_lease_locks_the_queue(t: Target) -> None:
    queue = t.queue("exclusive")
    await _push_many(t.client, queue, [{"item": {"n": 1}}, {"item": {"n": 2}}])
    (message,) = await _lease(t.reader, queue, exclusive=True, ttl_seconds=60)
    for params in ({}, {"require_ack": "true"}):
        error = await _error(
            t.reader, "POST", f"/queue/{queue}/pop", 423, "QUEUE_LOCKED", params=params
        )
        _equal(error["lock_expires_at"], message["lock_expires_at"], "lock_expires_at")
    stats = await _stats(t.reader, queue)
    _equal(stats["exclusive_lock_expires_at"], message["lock_expires_at"], "stats lock expiry")
    await _call(
        t.reader, "POST", f"/queue/{queue}/acknowledge", json={"lock_id": message["lock_id"]}
    )
    _equal(_items(await _pop(t.reader, queue)), [{"n": 2}], "pop after the lock ends")


@_check
async def check_dead_letters(t: Target) -> None:
    queue = t.queue("dead")
    await _push_many(t.client, queue, [{"item": {"n": n}, "priority": 3} for n in range(3)])
    leased = await _lease(t.reader, queue, count=2)
    for message in leased:
        ok = await _call(
            t.reader, "POST", f"/queue/{queue}/deadletter", json={"lock_id": message["lock_id"]}
        )
        _equal(ok, {"success": True}, "deadletter")
    dead = await _call(t.reader, "GET", f"/queue/{queue}/dead-letters")
    _equal([m["item"]["n"] for m in dead["items"]], [0, 1], "dead letters")
    for message in dead["items"]:
        _equal(message["dead_letter_reason"], "consumer", "reason")
        _expect(isinstance(message["dead_lettered_at"], int | float), "dead_lettered_at")
    one = await _call(t.reader, "GET", f"/queue/{queue}/dead-letters", params={"count": 1})
    _equal(len(one["items"]), 1, "dead letters with count=1")
    redriven = await _call(
        t.reader, "POST", f"/queue/{queue}/dead-letters/redrive", json={"count": 1}
    )
    _equal(redriven, {"success": True, "items_redriven": 1}, "redrive one")
    popped = await _pop(t.reader, queue, count=10)
    _equal([(m["item"]["n"], m["priority"]) for m in popped], [(2, 3), (0, 3)], "after redrive")
    purged = await _call(t.reader, "DELETE", f"/queue/{queue}/dead-letters")
    _equal(purged, {"success": True, "items_purged": 1}, "purge dead letters")
    stats = await _stats(t.reader, queue)
    _equal(stats["dead_letters"], 0, "dead letters after purge")


@_check
async def check_redrive_all_to_a_priority(t: Target) -> None:
    queue = t.queue("redrive")
    await _push_many(t.client, queue, [{"item": {"n": n}} for n in range(2)])
    for message in await _lease(t.reader, queue, count=2):
        await _call(
            t.reader, "POST", f"/queue/{queue}/deadletter", json={"lock_id": message["lock_id"]}
        )
    body = await _call(t.reader, "POST", f"/queue/{queue}/dead-letters/redrive")
    _equal(body["items_redriven"], 2, "redrive all (no body)")
    for message in await _lease(t.reader, queue, count=2):
        await _call(
            t.reader, "POST", f"/queue/{queue}/deadletter", json={"lock_id": message["lock_id"]}
        )
    body = await _call(
        t.reader, "POST", f"/queue/{queue}/dead-letters/redrive", json={"priority": 7}
    )
    popped = await _pop(t.reader, queue, count=10)
    _equal([m["priority"] for m in popped], [7, 7], "redriven to priority 7")
    _equal([m["deliveries"] for m in popped], [1, 1], "fresh delivery counts")


@_check
async def check_max_deliveries_dead_letters(t: Target) -> None:
    queue = t.queue("maxdeliv")
    await _call(t.client, "PUT", f"/queue/{queue}/config", json={"max_deliveries": 1})
    await _push(t.client, queue, {"n": 1})
    (message,) = await _lease(t.reader, queue)
    await _call(t.reader, "POST", f"/queue/{queue}/nack", json={"lock_id": message["lock_id"]})
    dead = await _call(t.reader, "GET", f"/queue/{queue}/dead-letters")
    _equal([m["dead_letter_reason"] for m in dead["items"]], ["max_deliveries"], "reason")
    _equal(await _pop(t.reader, queue), [], "nothing left to pop")


# ------------------------------------------------------------------------------ inspection


@_check
async def check_peek_leaves_messages(t: Target) -> None:
    queue = t.queue("peek")
    await _push_many(
        t.client, queue, [{"item": {"n": 1}, "priority": 1}, {"item": {"n": 2}}, {"item": {"n": 3}}]
    )
    body = await _call(t.reader, "GET", f"/queue/{queue}/peek", params={"count": 2})
    _equal(_items(body["items"]), [{"n": 2}, {"n": 3}], "peek")
    body = await _call(t.reader, "GET", f"/queue/{queue}/peek", params={"priority": 1})
    _equal(_items(body["items"]), [{"n": 1}], "peek one priority")
    body = await _call(t.reader, "GET", f"/queue/{queue}/peek")
    _equal(_items(body["items"]), [{"n": 2}], "peek default count")
    _equal((await _stats(t.reader, queue))["ready"], 3, "ready after peeking")


@_check
async def check_stats_shape(t: Target) -> None:
    queue = t.queue("stats")
    await _push_many(t.client, queue, [{"item": {}, "priority": p} for p in (0, 0, 4)])
    await _lease(t.reader, queue)
    stats = await _stats(t.reader, queue)
    _equal(stats["queue_id"], queue, "queue_id")
    _equal((stats["ready"], stats["in_flight"], stats["dead_letters"]), (2, 1, 0), "counts")
    _equal(
        [(p["priority"], p["ready"]) for p in stats["priorities"]], [(0, 1), (4, 1)], "priorities"
    )
    for p in stats["priorities"]:
        _expect(0 <= p["oldest_age_seconds"] < 600, f"oldest_age_seconds {p}")
    _equal(
        stats["totals"],
        {"pushed": 3, "popped": 1, "acknowledged": 0, "expired": 0, "dead_lettered": 0},
        "totals",
    )
    _equal(stats["exclusive_lock_expires_at"], None, "no exclusive lock")


# ------------------------------------------------------------------------------ whole queue


@_check
async def check_purge_and_delete(t: Target) -> None:
    queue = t.queue("purge")
    await _push_many(t.client, queue, [{"item": {"n": n}, "priority": n % 2} for n in range(6)])
    body = await _call(t.client, "POST", f"/queue/{queue}/purge", params={"priority": 1})
    _equal(body, {"success": True, "items_purged": 3}, "purge priority 1")
    await _lease(t.reader, queue)
    body = await _call(t.client, "POST", f"/queue/{queue}/purge")
    _equal(body["items_purged"], 3, "purge everything (2 ready + 1 leased)")
    stats = await _stats(t.reader, queue)
    _equal((stats["ready"], stats["in_flight"]), (0, 0), "after purge")
    _equal(stats["totals"]["pushed"], 6, "totals survive a purge")
    await _call(t.client, "PUT", f"/queue/{queue}/config", json={"max_length": 50})
    await _push(t.client, queue, {"n": 9})
    body = await _call(t.client, "DELETE", f"/queue/{queue}")
    _equal(body, {"success": True, "items_purged": 1}, "delete")
    config = await _call(t.client, "GET", f"/queue/{queue}/config")
    _equal(config["max_length"], None, "a deleted queue's settings are gone")
    _equal((await _stats(t.reader, queue))["totals"]["pushed"], 0, "and its counters")


@_check
async def check_config(t: Target) -> None:
    queue = t.queue("config")
    config = await _call(t.client, "GET", f"/queue/{queue}/config")
    _equal(
        config,
        {
            "max_deliveries": None,
            "dedup_window_seconds": 300,
            "max_length": None,
            "max_item_bytes": 1048576,
        },
        "default config",
    )
    changed = await _call(
        t.client, "PUT", f"/queue/{queue}/config", json={"max_length": 2, "max_item_bytes": 100}
    )
    _equal((changed["max_length"], changed["max_item_bytes"]), (2, 100), "changed settings")
    _equal(changed["dedup_window_seconds"], 300, "untouched setting")
    await _error(
        t.client,
        "POST",
        f"/queue/{queue}/push",
        413,
        "TOO_LARGE",
        field="item",
        json={"item": {"text": "x" * 200}},
    )
    await _push_many(t.client, queue, [{"item": {"n": 1}}, {"item": {"n": 2}}])
    await _error(
        t.client, "POST", f"/queue/{queue}/push", 429, "QUEUE_FULL", json={"item": {"n": 3}}
    )
    await _error(
        t.client,
        "PUT",
        f"/queue/{queue}/config",
        400,
        "INVALID_ARGUMENT",
        field="max_length",
        json={"max_length": True},
    )
    await _error(
        t.client,
        "PUT",
        f"/queue/{queue}/config",
        400,
        "INVALID_ARGUMENT",
        field="colour",
        json={"colour": "red"},
    )
    _equal(
        await _call(t.client, "PUT", f"/queue/{queue}/config", json={"max_length": None}),
        {**changed, "max_length": None},
        "max_length back to unbounded",
    )


# ------------------------------------------------------------------------------ long poll


@_check
async def check_long_poll_answers_when_a_message_arrives(t: Target) -> None:
    queue = t.queue("longpoll")

    async def push_later() -> None:
        await asyncio.sleep(0.3)
        await _push(t.client, queue, {"late": True})

    started = time.monotonic()
    pusher = asyncio.create_task(push_later())
    popped = await _pop(t.reader, queue, wait_seconds=10)
    elapsed = time.monotonic() - started
    await pusher
    _equal(_items(popped), [{"late": True}], "long-polled item")
    _expect(elapsed < 5, f"the long poll answered after {elapsed:.2f}s, long after the push")


@_check
async def check_long_poll_times_out_empty(t: Target) -> None:
    queue = t.queue("longpoll-empty")
    started = time.monotonic()
    popped = await _lease(t.reader, queue, wait_seconds=1)
    elapsed = time.monotonic() - started
    _equal(popped, [], "nothing arrived")
    _expect(0.9 <= elapsed < 5, f"a 1 s long poll answered after {elapsed:.2f}s")


# ------------------------------------------------------------------------------ bad input


@_check
async def check_bad_input_is_refused_and_changes_nothing(t: Target) -> None:
    queue = t.queue("bad")
    await _push(t.client, queue, {"keep": 1})
    before = await _stats(t.reader, queue)
    push = f"/queue/{queue}/push"
    cases: list[tuple[str, str, int, str, str | None, dict[str, Any]]] = [
        (
            "POST",
            push,
            400,
            "INVALID_ARGUMENT",
            "priority",
            {"json": {"item": {}, "priority": True}},
        ),
        (
            "POST",
            push,
            400,
            "INVALID_ARGUMENT",
            "priority",
            {"json": {"item": {}, "priority": 1.0}},
        ),
        (
            "POST",
            push,
            400,
            "INVALID_ARGUMENT",
            "priority",
            {"json": {"item": {}, "priority": "1"}},
        ),
        ("POST", push, 400, "INVALID_ARGUMENT", "priority", {"json": {"item": {}, "priority": -1}}),
        (
            "POST",
            push,
            400,
            "INVALID_ARGUMENT",
            "priority",
            {"json": {"item": {}, "priority": 2**31}},
        ),
        ("POST", push, 400, "INVALID_ARGUMENT", "item", {"json": {"item": [1, 2]}}),
        ("POST", push, 400, "INVALID_ARGUMENT", "item", {"json": {"item": "text"}}),
        ("POST", push, 400, "INVALID_ARGUMENT", "item", {"json": {"priority": 0}}),
        ("POST", push, 400, "INVALID_ARGUMENT", "colour", {"json": {"item": {}, "colour": 1}}),
        ("POST", push, 400, "INVALID_ARGUMENT", "body", {"content": b'{"item": {'}),
        ("POST", push, 400, "INVALID_ARGUMENT", "body", {"content": b"[1, 2]"}),
        ("POST", push, 400, "INVALID_ARGUMENT", "body", {"content": b""}),
        ("POST", push, 400, "INVALID_ARGUMENT", "body", {"content": b"\xff\xfe"}),
        ("POST", push, 400, "INVALID_ARGUMENT", "body", {"content": b'{"item": {"x": NaN}}'}),
        (
            "POST",
            push,
            400,
            "INVALID_ARGUMENT",
            "items[1].priority",
            {"json": {"items": [{"item": {}}, {"item": {}, "priority": False}]}},
        ),
        (
            "POST",
            push,
            400,
            "INVALID_ARGUMENT",
            "items",
            {"json": {"items": [{"item": {"n": n}} for n in range(1001)]}},
        ),
        ("POST", push, 400, "INVALID_ARGUMENT", "items", {"json": {"items": []}}),
        ("POST", push, 400, "INVALID_ARGUMENT", "items", {"json": {"items": {"item": {}}}}),
        (
            "POST",
            push,
            400,
            "INVALID_ARGUMENT",
            "idempotency_key",
            {"json": {"item": {}, "idempotency_key": 7}},
        ),
        (
            "POST",
            f"/queue/{queue}/pop",
            400,
            "INVALID_ARGUMENT",
            "count",
            {"params": {"count": "abc"}},
        ),
        (
            "POST",
            f"/queue/{queue}/pop",
            400,
            "INVALID_ARGUMENT",
            "count",
            {"params": {"count": "1.5"}},
        ),
        (
            "POST",
            f"/queue/{queue}/pop",
            400,
            "INVALID_ARGUMENT",
            "count",
            {"params": {"count": "0"}},
        ),
        (
            "POST",
            f"/queue/{queue}/pop",
            400,
            "INVALID_ARGUMENT",
            "count",
            {"params": {"count": "1001"}},
        ),
        (
            "POST",
            f"/queue/{queue}/pop",
            400,
            "INVALID_ARGUMENT",
            "require_ack",
            {"params": {"require_ack": "maybe"}},
        ),
        (
            "POST",
            f"/queue/{queue}/pop",
            400,
            "INVALID_ARGUMENT",
            "ttl_seconds",
            {"params": {"require_ack": "true", "ttl_seconds": "43201"}},
        ),
        (
            "POST",
            f"/queue/{queue}/pop",
            400,
            "INVALID_ARGUMENT",
            "ttl_seconds",
            {"params": {"ttl_seconds": "30"}},
        ),
        (
            "POST",
            f"/queue/{queue}/pop",
            400,
            "INVALID_ARGUMENT",
            "wait_seconds",
            {"params": {"wait_seconds": "61"}},
        ),
        ("POST", f"/queue/{queue}/pop", 400, "INVALID_ARGUMENT", "cout", {"params": {"cout": "5"}}),
        ("POST", f"/queue/{queue}/pop", 400, "INVALID_ARGUMENT", "body", {"json": {"count": 5}}),
        (
            "GET",
            f"/queue/{queue}/peek",
            400,
            "INVALID_ARGUMENT",
            "priority",
            {"params": {"priority": "x"}},
        ),
        (
            "POST",
            f"/queue/{queue}/acknowledge",
            400,
            "INVALID_ARGUMENT",
            "lock_id",
            {"json": {"lock_id": 12}},
        ),
        (
            "POST",
            f"/queue/{queue}/acknowledge",
            400,
            "INVALID_ARGUMENT",
            "lock_ids",
            {"json": {"lock_ids": []}},
        ),
        (
            "POST",
            f"/queue/{queue}/acknowledge",
            400,
            "INVALID_ARGUMENT",
            "lock_id",
            {"json": {"lock_id": "a", "lock_ids": ["b"]}},
        ),
        (
            "POST",
            f"/queue/{queue}/acknowledge",
            404,
            "LOCK_NOT_FOUND",
            None,
            {"json": {"lock_id": "nope"}},
        ),
        (
            "POST",
            f"/queue/{queue}/nack",
            404,
            "LOCK_NOT_FOUND",
            None,
            {"json": {"lock_id": "nope"}},
        ),
        (
            "POST",
            f"/queue/{queue}/deadletter",
            404,
            "LOCK_NOT_FOUND",
            None,
            {"json": {"lock_id": "nope"}},
        ),
        (
            "POST",
            f"/queue/{queue}/extend-lock",
            404,
            "LOCK_NOT_FOUND",
            None,
            {"json": {"lock_id": "nope", "ttl_seconds": 5}},
        ),
        (
            "POST",
            f"/queue/{queue}/dead-letters/redrive",
            400,
            "INVALID_ARGUMENT",
            "count",
            {"json": {"count": "all"}},
        ),
        (
            "POST",
            f"/queue/{queue}/purge",
            400,
            "INVALID_ARGUMENT",
            "priority",
            {"params": {"priority": "-1"}},
        ),
        (
            "POST",
            "/queue/-leading-dash/push",
            400,
            "INVALID_ARGUMENT",
            "queue_id",
            {"json": {"item": {}}},
        ),
        (
            "POST",
            f"/queue/{'q' * 201}/push",
            400,
            "INVALID_ARGUMENT",
            "queue_id",
            {"json": {"item": {}}},
        ),
        (
            "POST",
            "/queue/has%20space/push",
            400,
            "INVALID_ARGUMENT",
            "queue_id",
            {"json": {"item": {}}},
        ),
        ("GET", "/queue/a%2Fstats", 400, "INVALID_ARGUMENT", "queue_id", {}),
        ("GET", f"/queue/{queue}/nothing-here", 404, "NOT_FOUND", None, {}),
        ("DELETE", push, 405, "METHOD_NOT_ALLOWED", None, {}),
    ]
    for method, path, status, code, field_name, kwargs in cases:
        await _error(t.client, method, path, status, code, field_name, **kwargs)
    _equal(_state(await _stats(t.reader, queue)), _state(before), "state after refused requests")
    _equal(_items(await _pop(t.reader, queue, count=10)), [{"keep": 1}], "queue content")


def _state(stats: JSON) -> JSON:
    """Stats without the ages (which grow by themselves)."""
    priorities = [(p["priority"], p["ready"]) for p in stats["priorities"]]
    return {**stats, "priorities": priorities}
