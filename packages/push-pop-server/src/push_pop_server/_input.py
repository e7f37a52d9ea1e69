"""Reading what a request carries: a size-capped body, strict JSON, typed query parameters.

Bodies are parsed here from raw bytes rather than by pydantic, so nothing is coerced: ``"1"``
stays a string and ``true`` stays a boolean, and push-pop-core's checks refuse them by name.
The size cap holds before parsing: a declared ``Content-Length`` over it is refused unread,
and a streamed body is cut off as soon as it passes the cap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, NoReturn

from push_pop_core import InvalidArgumentError, ItemTooLargeError
from starlette.requests import ClientDisconnect, Request

__all__ = ["Query", "parse_json", "read_body", "read_json_object"]

_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})
# A \uD800-\uDFFF escape: JSON allows it, but an unpaired one is not encodable unicode.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _too_large(size: int, limit: int) -> NoReturn:
    raise ItemTooLargeError(
        f"the request body is {size} bytes or more, over the server's limit of {limit} bytes",
        field="body",
        size=size,
        limit=limit,
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The body's bytes, refused with 413 once it passes ``limit`` (before any parsing)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        _too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                _too_large(size, limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise InvalidArgumentError(
            "the client disconnected before sending the whole body", field="body"
        ) from None
    return b"".join(chunks)


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return result


def _no_constant(name: str) -> NoReturn:
    raise _BadConstantError(name)


class _BadConstantError(ValueError):
    pass


def parse_json(raw: bytes, *, field: str = "body") -> object:
    """Strict JSON: UTF-8, no NaN/Infinity, no duplicate keys, only encodable strings."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise InvalidArgumentError(
            f"is not UTF-8 (byte {exc.start}: {exc.reason})", field=field
        ) from None
    except RecursionError:
        raise InvalidArgumentError("is nested too deeply", field=field) from None
    except _DuplicateKeyError as exc:
        raise InvalidArgumentError(
            f"holds the key {exc.key!r} twice in one object", field=field
        ) from None
    except _BadConstantError as exc:
        raise InvalidArgumentError(f"holds {exc}, which is not JSON", field=field) from None
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(
            f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", field=field
        ) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise InvalidArgumentError(f"is not acceptable JSON: {exc}", field=field) from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgumentError(
                "holds an unpaired UTF-16 surrogate escape (\\ud800-\\udfff), not unicode",
                field=field,
            ) from None
        except RecursionError:
            raise InvalidArgumentError("is nested too deeply", field=field) from None
    return value


async def read_json_object(request: Request, limit: int, *, required: bool) -> dict[str, Any]:
    """The body as a JSON object; an empty body is ``{}`` unless ``required``."""
    raw = await read_body(request, limit)
    if not raw.strip():
        if required:
            raise InvalidArgumentError("is required: send a JSON object", field="body")
        return {}
    value = parse_json(raw)
    if not isinstance(value, dict):
        raise InvalidArgumentError(
            f"must be a JSON object, got {type(value).__name__}", field="body"
        )
    return value


class Query:
    """A request's query parameters, checked against the names a route accepts."""

    def __init__(self, request: Request, allowed: Iterable[str]) -> None:
        allowed = frozenset(allowed)
        self._values: dict[str, str] = {}
        for name, value in request.query_params.multi_items():
            if name not in allowed:
                expected = ", ".join(sorted(allowed)) if allowed else "none"
                raise InvalidArgumentError(
                    f"unknown query parameter; expected: {expected}", field=name
                )
            if name in self._values:
                raise InvalidArgumentError("is given more than once", field=name)
            self._values[name] = value

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def integer(self, name: str) -> int | None:
        """The parameter as an integer (range checks are push-pop-core's), or None if absent."""
        raw = self._values.get(name)
        if raw is None:
            return None
        if not _INTEGER.fullmatch(raw):
            raise InvalidArgumentError(f"must be an integer, got {raw[:40]!r}", field=name)
        return int(raw)

    def boolean(self, name: str, default: bool) -> bool:
        raw = self._values.get(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise InvalidArgumentError(f"must be true or false, got {raw[:40]!r}", field=name)
