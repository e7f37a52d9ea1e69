"""Checks on everything that enters the engine: queue ids, priorities, items, counts.

Each check raises :class:`InvalidArgumentError` naming the offending field, before any state
is touched.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._errors import InvalidArgumentError, ItemTooLargeError

__all__ = [
    "MAX_BATCH",
    "MAX_PRIORITY",
    "MAX_TTL_SECONDS",
    "check_count",
    "check_priority",
    "check_queue_id",
    "check_ttl",
    "encode_item",
]

MAX_PRIORITY = 2_147_483_647
MAX_BATCH = 1000
MAX_TTL_SECONDS = 43_200
MAX_IDEMPOTENCY_KEY = 256
MAX_LOCK_ID = 128

_QUEUE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")


def check_queue_id(queue_id: object) -> str:
    """Return ``queue_id`` if it is 1-200 chars of ``[A-Za-z0-9][A-Za-z0-9._:-]*``."""
    if not isinstance(queue_id, str) or not _QUEUE_ID.fullmatch(queue_id):
        raise InvalidArgumentError(
            "must be 1-200 characters: a letter or digit, then letters, digits or ._:-",
            field="queue_id",
        )
    return queue_id


def check_int(
    value: object, *, field: str, low: int, high: int, allow_none: bool = False
) -> int | None:
    """An integer in ``[low, high]``; ``bool``, floats and strings are refused."""
    if value is None and allow_none:
        return None
    if type(value) is not int:
        raise InvalidArgumentError(f"must be an integer, got {type(value).__name__}", field=field)
    if not low <= value <= high:
        raise InvalidArgumentError(f"must be between {low} and {high}", field=field)
    return value


def check_priority(value: object, *, field: str = "priority") -> int:
    result = check_int(value, field=field, low=0, high=MAX_PRIORITY)
    assert result is not None
    return result


def check_count(value: object, *, field: str = "count", high: int = MAX_BATCH) -> int:
    result = check_int(value, field=field, low=1, high=high)
    assert result is not None
    return result


def check_ttl(value: object, *, field: str = "ttl_seconds") -> int:
    result = check_int(value, field=field, low=1, high=MAX_TTL_SECONDS)
    assert result is not None
    return result


def check_bool(value: object, *, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentError("must be true or false", field=field)
    return value


def check_idempotency_key(value: object, *, field: str = "idempotency_key") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidArgumentError(
            f"must be a string of 1-{MAX_IDEMPOTENCY_KEY} characters", field=field
        )
    _check_unicode(value, field=field)
    return value


def _check_unicode(value: str, *, field: str) -> None:
    try:
        value.encode()
    except UnicodeEncodeError:
        raise InvalidArgumentError(
            "holds a lone surrogate, which is not valid Unicode", field=field
        ) from None


def check_lock_id(value: object, *, field: str = "lock_id") -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_LOCK_ID:
        raise InvalidArgumentError(
            f"must be a lock id string of 1-{MAX_LOCK_ID} characters", field=field
        )
    _check_unicode(value, field=field)
    return value


def encode_item(item: object, *, field: str, max_bytes: int) -> str:
    """The item's compact JSON, checked to be an object within ``max_bytes`` bytes."""
    if not isinstance(item, dict):
        raise InvalidArgumentError(f"must be a JSON object, got {_json_type(item)}", field=field)
    try:
        text = json.dumps(item, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"is not representable as JSON ({exc})", field=field) from None
    except RecursionError:
        raise InvalidArgumentError("is nested too deeply", field=field) from None
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        raise InvalidArgumentError(
            "holds a lone surrogate, which is not valid Unicode", field=field
        ) from None
    if size > max_bytes:
        raise ItemTooLargeError(
            f"item is {size} bytes of JSON, over the queue's max_item_bytes={max_bytes}",
            field=field,
            size=size,
            limit=max_bytes,
        )
    return text


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return type(value).__name__
