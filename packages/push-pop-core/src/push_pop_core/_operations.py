"""The wire form of every operation: a JSON payload in, a JSON result out.

The REST server (embedded mode) and the Dapr actor both call :func:`execute`, so the two
backends validate and answer identically. Payload fields are those of SPEC §4 (request body
and query parameters together); unknown fields are refused so a typo never passes silently.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ._engine import QueueEngine
from ._errors import InvalidArgumentError
from ._models import PushEntry
from ._validation import MAX_BATCH, check_bool, check_count, check_lock_id, check_ttl

__all__ = ["OPERATIONS", "execute"]

Payload = Mapping[str, Any]
JSON = dict[str, Any]


def _fields(payload: object, allowed: set[str], *, where: str = "") -> Payload:
    if payload is None:
        return {}
    if not isinstance(payload, Mapping):
        raise InvalidArgumentError("must be a JSON object", field=where or "body")
    for name in payload:
        if name not in allowed:
            raise InvalidArgumentError(
                f"unknown field; expected one of: {', '.join(sorted(allowed))}",
                field=f"{where}{name}",
            )
    return payload


def _opt(payload: Payload, name: str, default: Any) -> Any:
    value = payload.get(name)
    return default if value is None else value


def _entry(raw: object, where: str) -> PushEntry:
    body = _fields(raw, {"item", "priority", "idempotency_key"}, where=where)
    if "item" not in body:
        raise InvalidArgumentError("is required", field=f"{where}item")
    return PushEntry(
        item=body["item"],
        priority=_opt(body, "priority", 0),
        idempotency_key=body.get("idempotency_key"),
    )


async def _push(engine: QueueEngine, payload: Payload) -> JSON:
    if isinstance(payload, Mapping) and "items" in payload:
        body = _fields(payload, {"items"})
        items = body["items"]
        if not isinstance(items, list):
            raise InvalidArgumentError("must be a list", field="items")
        if not 1 <= len(items) <= MAX_BATCH:
            raise InvalidArgumentError(f"must hold 1 to {MAX_BATCH} items", field="items")
        entries = [_entry(raw, f"items[{i}].") for i, raw in enumerate(items)]
    else:
        entries = [_entry(payload, "")]
    return (await engine.push(entries)).to_wire()


async def _pop(engine: QueueEngine, payload: Payload) -> JSON:
    body = _fields(payload, {"count"})
    messages = await engine.pop(check_count(_opt(body, "count", 1)))
    return {"items": [m.to_wire() for m in messages]}


async def _lease(engine: QueueEngine, payload: Payload) -> JSON:
    body = _fields(payload, {"count", "ttl_seconds", "exclusive"})
    messages = await engine.lease(
        check_count(_opt(body, "count", 1)),
        check_ttl(_opt(body, "ttl_seconds", 30)),
        exclusive=check_bool(_opt(body, "exclusive", False), field="exclusive"),
    )
    return {"items": [m.to_wire() for m in messages]}


async def _acknowledge(engine: QueueEngine, payload: Payload) -> JSON:
    body = _fields(payload, {"lock_id", "lock_ids"})
    if ("lock_id" in body) == ("lock_ids" in body):
        raise InvalidArgumentError("give exactly one of lock_id or lock_ids", field="lock_id")
    if "lock_id" in body:
        ids = [check_lock_id(body["lock_id"])]
    else:
        ids = body["lock_ids"]
        if not isinstance(ids, list):
            raise InvalidArgumentError("must be a list of lock ids", field="lock_ids")
    return {"success": True, "items_acknowledged": await engine.acknowledge(ids)}


async def _nack(engine: QueueEngine, payload: Payload) -> JSON:
    body = _fields(payload, {"lock_id", "priority"})
    await engine.nack(check_lock_id(body.get("lock_id")), body.get("priority"))
    return {"success": True}


async def _extend_lock(engine: QueueEngine, payload: Payload) -> JSON:
    body = _fields(payload, {"lock_id", "ttl_seconds"})
    lock_id = check_lock_id(body.get("lock_id"))
    if "ttl_seconds" not in body:
        raise InvalidArgumentError("is required", field="ttl_seconds")
    expires = await engine.extend_lock(lock_id, check_ttl(body["ttl_seconds"]))
    return {"success": True, "lock_id": lock_id, "lock_expires_at": expires}


async def _dead_letter(engine: QueueEngine, payload: Payload) -> JSON:
    body = _fields(payload, {"lock_id"})
    await engine.dead_letter(check_lock_id(body.get("lock_id")))
    return {"success": True}


async def _peek(engine: QueueEngine, payload: Payload) -> JSON:
    body = _fields(payload, {"count", "priority"})
    messages = await engine.peek(check_count(_opt(body, "count", 1)), body.get("priority"))
    return {"items": [m.to_wire() for m in messages]}


async def _stats(engine: QueueEngine, payload: Payload) -> JSON:
    _fields(payload, set())
    return (await engine.stats()).to_wire()


async def _dead_letters(engine: QueueEngine, payload: Payload) -> JSON:
    body = _fields(payload, {"count"})
    messages = await engine.dead_letters(check_count(_opt(body, "count", 100)))
    return {"items": [m.to_wire() for m in messages]}


async def _redrive(engine: QueueEngine, payload: Payload) -> JSON:
    body = _fields(payload, {"count", "priority"})
    n = await engine.redrive(body.get("count"), body.get("priority"))
    return {"success": True, "items_redriven": n}


async def _purge_dead_letters(engine: QueueEngine, payload: Payload) -> JSON:
    _fields(payload, set())
    return {"success": True, "items_purged": await engine.purge_dead_letters()}


async def _purge(engine: QueueEngine, payload: Payload) -> JSON:
    body = _fields(payload, {"priority"})
    return {"success": True, "items_purged": await engine.purge(body.get("priority"))}


async def _delete(engine: QueueEngine, payload: Payload) -> JSON:
    _fields(payload, set())
    return {"success": True, "items_purged": await engine.delete()}


async def _get_config(engine: QueueEngine, payload: Payload) -> JSON:
    _fields(payload, set())
    return (await engine.get_config()).to_wire()


async def _set_config(engine: QueueEngine, payload: Payload) -> JSON:
    body = _fields(
        payload, {"max_deliveries", "dedup_window_seconds", "max_length", "max_item_bytes"}
    )
    return (await engine.set_config(**body)).to_wire()


_HANDLERS: dict[str, Callable[[QueueEngine, Payload], Awaitable[JSON]]] = {
    "push": _push,
    "pop": _pop,
    "lease": _lease,
    "acknowledge": _acknowledge,
    "nack": _nack,
    "extend_lock": _extend_lock,
    "dead_letter": _dead_letter,
    "peek": _peek,
    "stats": _stats,
    "dead_letters": _dead_letters,
    "redrive": _redrive,
    "purge_dead_letters": _purge_dead_letters,
    "purge": _purge,
    "delete": _delete,
    "get_config": _get_config,
    "set_config": _set_config,
}

OPERATIONS = frozenset(_HANDLERS)
"""Names accepted by :func:`execute`."""


async def execute(engine: QueueEngine, operation: str, payload: object = None) -> JSON:
    """Run one wire operation; raises a :class:`PushPopError` subclass on failure."""
    handler = _HANDLERS.get(operation)
    if handler is None:
        raise InvalidArgumentError(
            f"unknown operation {operation!r}; expected one of: {', '.join(sorted(OPERATIONS))}",
            field="operation",
        )
    if payload is not None and not isinstance(payload, Mapping):
        raise InvalidArgumentError("must be a JSON object", field="body")
    return await handler(engine, payload or {})
