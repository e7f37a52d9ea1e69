"""The OpenAPI description of the REST API (docs/WIRE.md), for ``/openapi.json`` and ``/docs``.

Responses are pydantic models used only to document (routes return ready JSON, so nothing is
re-validated or coerced on the way out). Request bodies and query parameters are JSON Schema
written out here, because the server parses them itself and the schema must say exactly what
it accepts: integers that are not booleans, no unknown fields, the same bounds as the engine.
"""

from __future__ import annotations

from typing import Any, Literal

from push_pop_core import MAX_BATCH, MAX_PRIORITY, MAX_TTL_SECONDS
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Acknowledged",
    "ErrorBody",
    "Health",
    "LockExtended",
    "Messages",
    "Purged",
    "PushResult",
    "QueueConfig",
    "QueueStats",
    "Redriven",
    "Success",
    "body",
    "errors",
    "query",
]

MAX_WAIT_SECONDS = 60
QUEUE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"

# ---------------------------------------------------------------------------- responses


class Message(BaseModel):
    """A message as popped, leased, peeked or listed among the dead letters."""

    id: str = Field(description="Server-assigned, unique within the queue; opaque.")
    item: dict[str, Any] = Field(description="The JSON object pushed, exactly.")
    priority: int = Field(description="0 is the highest priority.")
    deliveries: int = Field(description="How many times the message was handed out.")
    enqueued_at: float = Field(description="Unix seconds.")
    lock_id: str | None = Field(None, description="Leases only (require_ack=true).")
    lock_expires_at: float | None = Field(None, description="Leases only; Unix seconds.")
    dead_letter_reason: Literal["max_deliveries", "consumer"] | None = Field(
        None, description="Dead letters only."
    )
    dead_lettered_at: float | None = Field(None, description="Dead letters only; Unix seconds.")


class Messages(BaseModel):
    items: list[Message]


class PushResult(BaseModel):
    success: bool
    items_pushed: int = Field(description="Newly enqueued.")
    duplicates: int = Field(description="Deduplicated by idempotency key (nothing enqueued).")
    ids: list[str] = Field(description="One id per item, in order; a duplicate's original id.")


class Success(BaseModel):
    success: bool


class Acknowledged(BaseModel):
    success: bool
    items_acknowledged: int


class LockExtended(BaseModel):
    success: bool
    lock_id: str
    lock_expires_at: float


class Redriven(BaseModel):
    success: bool
    items_redriven: int


class Purged(BaseModel):
    success: bool
    items_purged: int


class PriorityStats(BaseModel):
    priority: int
    ready: int
    oldest_age_seconds: float


class Totals(BaseModel):
    pushed: int
    popped: int
    acknowledged: int
    expired: int
    dead_lettered: int


class QueueStats(BaseModel):
    queue_id: str
    ready: int
    in_flight: int
    dead_letters: int
    priorities: list[PriorityStats]
    totals: Totals
    exclusive_lock_expires_at: float | None


class QueueConfig(BaseModel):
    max_deliveries: int | None
    dedup_window_seconds: int
    max_length: int | None
    max_item_bytes: int


class Health(BaseModel):
    status: str


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="INVALID_ARGUMENT, UNAUTHORIZED, LOCK_NOT_FOUND, ...")
    message: str
    field: str | None = Field(None, description="The offending part of the request.")
    lock_expires_at: float | None = Field(None, description="QUEUE_LOCKED: when it ends.")


class ErrorBody(BaseModel):
    error: ErrorDetail


_ERROR_TEXT = {
    400: "Bad input (INVALID_ARGUMENT, naming the field); nothing changed.",
    401: "Missing or wrong bearer token (UNAUTHORIZED), when a token is configured.",
    404: "Unknown lock id (LOCK_NOT_FOUND), or no such route (NOT_FOUND).",
    410: "The lease expired (LOCK_EXPIRED); its message is back in the queue or dead-lettered.",
    413: "An item over max_item_bytes, or the body over the server's limit (TOO_LARGE).",
    423: "The queue is held by an exclusive lease (QUEUE_LOCKED, with lock_expires_at).",
    429: "The queue is at its max_length (QUEUE_FULL).",
    503: "The store or the Dapr sidecar is unavailable (UNAVAILABLE); safe to retry.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entries of a route's error statuses (plus 400, 401, 404 and 503)."""
    wanted = sorted({400, 401, 404, 503, *statuses})
    return {s: {"model": ErrorBody, "description": _ERROR_TEXT[s]} for s in wanted}


# ---------------------------------------------------------------------------- requests


def _int(low: int, high: int, *, nullable: bool = False, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["integer", "null"] if nullable else "integer"}
    return schema | {"minimum": low, "maximum": high} | extra


_PRIORITY = _int(0, MAX_PRIORITY, nullable=True, description="0 (highest) to 2147483647.")
_LOCK_ID = {"type": "string", "minLength": 1, "maxLength": 128}
_ITEM = {"type": "object", "description": "Any JSON object; kept exactly."}
_ENTRY: dict[str, Any] = {
    "type": "object",
    "required": ["item"],
    "additionalProperties": False,
    "properties": {
        "item": _ITEM,
        "priority": _PRIORITY,
        "idempotency_key": {"type": ["string", "null"], "minLength": 1, "maxLength": 256},
    },
}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": items}


def _object(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


BODIES: dict[str, dict[str, Any]] = {
    "push": {
        "oneOf": [
            _ENTRY,
            _object(
                ["items"],
                {"items": _array(_ENTRY)},
            ),
        ]
    },
    "acknowledge": {
        "oneOf": [
            _object(["lock_id"], {"lock_id": _LOCK_ID}),
            _object(
                ["lock_ids"],
                {"lock_ids": _array(_LOCK_ID)},
            ),
        ]
    },
    "nack": _object(["lock_id"], {"lock_id": _LOCK_ID, "priority": _PRIORITY}),
    "extend_lock": _object(
        ["lock_id", "ttl_seconds"], {"lock_id": _LOCK_ID, "ttl_seconds": _int(1, MAX_TTL_SECONDS)}
    ),
    "dead_letter": _object(["lock_id"], {"lock_id": _LOCK_ID}),
    "redrive": _object(
        [],
        {
            "count": _int(1, 2**62, nullable=True, description="How many (default: all)."),
            "priority": _PRIORITY | {"description": "Destination priority (default: original)."},
        },
    ),
    "set_config": _object(
        [],
        {
            "max_deliveries": _int(1, 1_000_000, nullable=True, description="null: unlimited."),
            "dedup_window_seconds": _int(0, 7 * 86_400),
            "max_length": _int(1, 2**62, nullable=True, description="null: unbounded."),
            "max_item_bytes": _int(1, 64 * 1024 * 1024),
        },
    ),
}


def body(name: str, *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` declaring the JSON request body of operation ``name``."""
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": BODIES[name]}},
        }
    }


_QUEUE_ID_PARAM = {
    "name": "queue_id",
    "in": "path",
    "required": True,
    "description": "1-200 characters: a letter or digit, then letters, digits or ._:-",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": QUEUE_ID_PATTERN},
}
_QUERY_SCHEMAS: dict[str, tuple[dict[str, Any], str]] = {
    "count": (_int(1, MAX_BATCH), "How many messages (1-1000)."),
    "require_ack": ({"type": "boolean", "default": False}, "Lease instead of removing."),
    "ttl_seconds": (_int(1, MAX_TTL_SECONDS, default=30), "Lease length (require_ack only)."),
    "exclusive": ({"type": "boolean", "default": False}, "Exclusive lease (require_ack only)."),
    "wait_seconds": (
        _int(0, MAX_WAIT_SECONDS, default=0),
        "Long poll: wait up to this long for a message to arrive.",
    ),
    "priority": (_int(0, MAX_PRIORITY), "Only this priority."),
}


def query(*names: str, **defaults: int) -> dict[str, Any]:
    """``openapi_extra`` declaring the path's queue id and the given query parameters."""
    params: list[dict[str, Any]] = [_QUEUE_ID_PARAM]
    for name in names:
        schema, description = _QUERY_SCHEMAS[name]
        if name in defaults:
            schema = schema | {"default": defaults[name]}
        params.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": description,
                "schema": schema,
            }
        )
    return {"parameters": params}
