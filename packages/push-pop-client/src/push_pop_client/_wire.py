"""The REST contract (docs/WIRE.md) in one place: how each call is asked and how it is answered.

Each function returns a ``Call``: everything needed to send one request and to read its answer.
The async and sync clients only carry calls over HTTP, so neither repeats any of this.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Generic, TypeVar

from . import _models
from ._exceptions import BadRequestError
from ._models import ConfigChanges, Message, PushEntry, PushResult, QueueConfig, QueueStats

T = TypeVar("T")

MAX_BATCH = 1000
"""Most entries, lock ids or messages one request may carry (WIRE.md)."""

_QUEUE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")

QueryParams = dict[str, str | int | bool]


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request to the server and the reader of its successful answer."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: QueryParams = field(default_factory=dict)
    body: Any = None
    replayable: bool = True
    """Safe to send again when an earlier attempt may have reached the server (after a read
    timeout, say). Pops, leases and lock operations are not: a replay could hand out more
    messages, or fail on a lock the first attempt already settled."""
    wait_seconds: float = 0
    """Long poll: the server may hold the answer this long, so the read timeout grows by it."""


def validate_queue_id(queue_id: str) -> str:
    """Check a queue id against SPEC §1 (1-200 chars, ``[A-Za-z0-9][A-Za-z0-9._:-]*``)."""
    if not isinstance(queue_id, str) or not _QUEUE_ID.fullmatch(queue_id):
        raise BadRequestError(
            f"invalid queue id {queue_id!r}: 1-200 characters, the first one a letter or digit, "
            "then letters, digits, '.', '_', ':' or '-'",
            status_code=None,
            field="queue_id",
        )
    return queue_id


def new_idempotency_key() -> str:
    """A fresh key for a push the caller gave none for, so a retry never enqueues twice."""
    return uuid.uuid4().hex


# Requests -------------------------------------------------------------------------------------


def push(queue_id: str, item: Mapping[str, Any], priority: int, key: str | None) -> Call[str]:
    body = {"item": item, "priority": priority, "idempotency_key": key or new_idempotency_key()}
    return Call("POST", _path(queue_id, "push"), _parse_single_id, body=body)


def push_many(
    queue_id: str, entries: Iterable[Mapping[str, Any] | PushEntry]
) -> Iterator[Call[PushResult]]:
    """One call per ``MAX_BATCH`` entries; each entry gets a key if it has none."""
    batches = iter(entries)
    while batch := list(islice(batches, MAX_BATCH)):
        body = {"items": [_push_entry(entry) for entry in batch]}
        yield Call("POST", _path(queue_id, "push"), _parse_push_result, body=body)


def pop(queue_id: str, count: int, wait_seconds: int) -> Call[list[Message]]:
    params: QueryParams = {"count": count, "wait_seconds": wait_seconds}
    return _poll(queue_id, params, wait_seconds)


def lease(
    queue_id: str, count: int, ttl_seconds: int, exclusive: bool, wait_seconds: int
) -> Call[list[Message]]:
    params: QueryParams = {
        "count": count,
        "require_ack": True,
        "ttl_seconds": ttl_seconds,
        "exclusive": exclusive,
        "wait_seconds": wait_seconds,
    }
    return _poll(queue_id, params, wait_seconds)


def ack(queue_id: str, lock_ids: str | Sequence[str]) -> Call[int]:
    body = {"lock_id": lock_ids} if isinstance(lock_ids, str) else {"lock_ids": list(lock_ids)}
    parse = _counter("items_acknowledged")
    return Call("POST", _path(queue_id, "acknowledge"), parse, body=body, replayable=False)


def nack(queue_id: str, lock_id: str, priority: int | None) -> Call[None]:
    body: dict[str, Any] = {"lock_id": lock_id}
    if priority is not None:
        body["priority"] = priority
    return Call("POST", _path(queue_id, "nack"), _parse_nothing, body=body, replayable=False)


def extend(queue_id: str, lock_id: str, ttl_seconds: int) -> Call[float]:
    # Replayable: a second extension only moves the expiry to now + ttl again.
    body = {"lock_id": lock_id, "ttl_seconds": ttl_seconds}
    return Call("POST", _path(queue_id, "extend-lock"), _parse_expiry, body=body)


def dead_letter(queue_id: str, lock_id: str) -> Call[None]:
    body = {"lock_id": lock_id}
    path = _path(queue_id, "deadletter")
    return Call("POST", path, _parse_nothing, body=body, replayable=False)


def peek(queue_id: str, count: int, priority: int | None) -> Call[list[Message]]:
    params: QueryParams = {"count": count}
    if priority is not None:
        params["priority"] = priority
    return Call("GET", _path(queue_id, "peek"), _parse_messages, params=params)


def stats(queue_id: str) -> Call[QueueStats]:
    return Call("GET", _path(queue_id, "stats"), _parse_stats)


def dead_letters(queue_id: str, count: int) -> Call[list[Message]]:
    params: QueryParams = {"count": count}
    return Call("GET", _path(queue_id, "dead-letters"), _parse_messages, params=params)


def redrive(queue_id: str, count: int | None, priority: int | None) -> Call[int]:
    pairs = [("count", count), ("priority", priority)]
    body = {name: value for name, value in pairs if value is not None}
    path = _path(queue_id, "dead-letters/redrive")
    # Not replayable: a replay after a lost answer would move ``count`` more dead letters.
    return Call("POST", path, _counter("items_redriven"), body=body, replayable=False)


def purge_dead_letters(queue_id: str) -> Call[int]:
    return Call("DELETE", _path(queue_id, "dead-letters"), _counter("items_purged"))


def purge(queue_id: str, priority: int | None) -> Call[int]:
    params: QueryParams = {} if priority is None else {"priority": priority}
    return Call("POST", _path(queue_id, "purge"), _counter("items_purged"), params=params)


def delete(queue_id: str) -> Call[int]:
    return Call("DELETE", f"/queue/{queue_id}", _counter("items_purged"))


def get_config(queue_id: str) -> Call[QueueConfig]:
    return Call("GET", _path(queue_id, "config"), _parse_config)


def set_config(queue_id: str, changes: ConfigChanges) -> Call[QueueConfig]:
    return Call("PUT", _path(queue_id, "config"), _parse_config, body=dict(changes))


def _path(queue_id: str, action: str) -> str:
    return f"/queue/{queue_id}/{action}"


def _poll(queue_id: str, params: QueryParams, wait_seconds: int) -> Call[list[Message]]:
    path = _path(queue_id, "pop")
    return Call(
        "POST",
        path,
        _parse_messages,
        params=params,
        replayable=False,
        wait_seconds=max(0, wait_seconds),
    )


def _push_entry(entry: Mapping[str, Any] | PushEntry) -> dict[str, Any]:
    if isinstance(entry, PushEntry):
        key = entry.idempotency_key or new_idempotency_key()
        return {"item": entry.item, "priority": entry.priority, "idempotency_key": key}
    return {"item": entry, "priority": 0, "idempotency_key": new_idempotency_key()}


# Answers --------------------------------------------------------------------------------------
# The server speaks WIRE.md; a missing or mistyped field raises KeyError, TypeError or
# ValueError, which the client reports as an unexpected answer.


def _parse_nothing(body: Any) -> None:
    return None


def _parse_single_id(body: Any) -> str:
    return str(body["ids"][0])


def _parse_push_result(body: Any) -> PushResult:
    ids = tuple(str(message_id) for message_id in body["ids"])
    duplicates = int(body.get("duplicates", 0))
    return PushResult(ids=ids, pushed=int(body["items_pushed"]), duplicates=duplicates)


def _parse_expiry(body: Any) -> float:
    return float(body["lock_expires_at"])


def _counter(name: str) -> Callable[[Any], int]:
    def parse(body: Any) -> int:
        return int(body[name])

    return parse


def _parse_messages(body: Any) -> list[Message]:
    return [parse_message(data) for data in body["items"]]


def parse_message(data: Mapping[str, Any]) -> Message:
    """Read one message object of WIRE.md."""
    item = data["item"]
    if not isinstance(item, dict):
        raise TypeError(f"message item is {type(item).__name__}, not an object")
    return Message(
        id=str(data["id"]),
        item=item,
        priority=int(data["priority"]),
        deliveries=int(data["deliveries"]),
        enqueued_at=float(data["enqueued_at"]),
        lock_id=_optional(str, data.get("lock_id")),
        lock_expires_at=_optional(float, data.get("lock_expires_at")),
        dead_letter_reason=_optional(str, data.get("dead_letter_reason")),
        dead_lettered_at=_optional(float, data.get("dead_lettered_at")),
    )


def _parse_stats(body: Any) -> QueueStats:
    totals = body["totals"]
    return QueueStats(
        queue_id=str(body["queue_id"]),
        ready=int(body["ready"]),
        in_flight=int(body["in_flight"]),
        dead_letters=int(body["dead_letters"]),
        priorities=tuple(
            _models.PriorityStats(
                priority=int(level["priority"]),
                ready=int(level["ready"]),
                oldest_age_seconds=_optional(float, level.get("oldest_age_seconds")),
            )
            for level in body["priorities"]
        ),
        totals=_models.QueueTotals(
            pushed=int(totals["pushed"]),
            popped=int(totals["popped"]),
            acknowledged=int(totals["acknowledged"]),
            expired=int(totals["expired"]),
            dead_lettered=int(totals["dead_lettered"]),
        ),
        exclusive_lock_expires_at=_optional(float, body.get("exclusive_lock_expires_at")),
    )


def _parse_config(body: Any) -> QueueConfig:
    return QueueConfig(
        max_deliveries=_optional(int, body["max_deliveries"]),
        dedup_window_seconds=int(body["dedup_window_seconds"]),
        max_length=_optional(int, body["max_length"]),
        max_item_bytes=int(body["max_item_bytes"]),
    )


def _optional(kind: Callable[[Any], T], value: Any) -> T | None:
    return None if value is None else kind(value)
