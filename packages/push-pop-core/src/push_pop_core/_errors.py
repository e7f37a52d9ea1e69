"""The errors of push-pop-core.

Every error the engine raises derives from one base, and each carries the wire ``code`` and
HTTP ``status`` that the REST server and the actor report::

    PushPopError
    ├── InvalidArgumentError   400 INVALID_ARGUMENT (names the ``field``)
    ├── LockNotFoundError      404 LOCK_NOT_FOUND
    ├── LockExpiredError       410 LOCK_EXPIRED
    ├── ItemTooLargeError      413 TOO_LARGE
    ├── QueueLockedError       423 QUEUE_LOCKED (carries ``lock_expires_at``)
    ├── QueueFullError         429 QUEUE_FULL
    └── StoreUnavailableError  503 UNAVAILABLE

A failed operation has changed nothing: the engine stages its writes and commits them only
once the whole operation succeeded.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "InvalidArgumentError",
    "ItemTooLargeError",
    "LockExpiredError",
    "LockNotFoundError",
    "PushPopError",
    "QueueFullError",
    "QueueLockedError",
    "StoreUnavailableError",
    "error_from_body",
]


class PushPopError(Exception):
    """Base of every push-pop error."""

    code: ClassVar[str] = "INTERNAL"
    status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_body(self) -> dict[str, Any]:
        """The JSON error body of SPEC §4: ``{"error": {"code", "message", ...}}``."""
        return {"error": {"code": self.code, "message": self.message, **self.context()}}

    def context(self) -> dict[str, Any]:
        """Typed context that travels with the error (e.g. the offending field)."""
        return {}


class InvalidArgumentError(PushPopError):
    """The request is malformed; ``field`` names the offending part."""

    code = "INVALID_ARGUMENT"
    status = 400

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field

    def context(self) -> dict[str, Any]:
        return {"field": self.field}


class LockNotFoundError(PushPopError):
    """No lease with this lock id is held (never granted, or already settled)."""

    code = "LOCK_NOT_FOUND"
    status = 404

    def __init__(self, lock_id: str) -> None:
        super().__init__(f"no lease is held with lock id {lock_id!r}")
        self.lock_id = lock_id

    def context(self) -> dict[str, Any]:
        return {"lock_id": self.lock_id}


class LockExpiredError(PushPopError):
    """The lease expired; its message is already back in the queue or dead-lettered."""

    code = "LOCK_EXPIRED"
    status = 410

    def __init__(self, lock_id: str) -> None:
        super().__init__(
            f"the lease {lock_id!r} expired; its message was returned to the queue "
            "(or dead-lettered) and was not lost"
        )
        self.lock_id = lock_id

    def context(self) -> dict[str, Any]:
        return {"lock_id": self.lock_id}


class ItemTooLargeError(PushPopError):
    """An item's JSON is larger than the queue's ``max_item_bytes``."""

    code = "TOO_LARGE"
    status = 413

    def __init__(self, message: str, *, field: str, size: int, limit: int) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.size = size
        self.limit = limit

    def context(self) -> dict[str, Any]:
        return {"field": self.field, "size": self.size, "limit": self.limit}


class QueueLockedError(PushPopError):
    """An exclusive lease is outstanding: pops and leases wait until it ends."""

    code = "QUEUE_LOCKED"
    status = 423

    def __init__(self, lock_expires_at: float | None) -> None:
        if lock_expires_at is None:
            message = "an exclusive lease needs a queue with no lease outstanding"
        else:
            message = "the queue is held by an exclusive lease"
        super().__init__(message)
        self.lock_expires_at = lock_expires_at

    def context(self) -> dict[str, Any]:
        return {"lock_expires_at": self.lock_expires_at}


class QueueFullError(PushPopError):
    """The push would take the queue past its ``max_length``."""

    code = "QUEUE_FULL"
    status = 429

    def __init__(self, *, max_length: int, ready: int, pushing: int) -> None:
        super().__init__(
            f"the queue holds {ready} ready messages; pushing {pushing} more would exceed "
            f"max_length={max_length}"
        )
        self.max_length = max_length

    def context(self) -> dict[str, Any]:
        return {"max_length": self.max_length}


class StoreUnavailableError(PushPopError):
    """The state store (or the Dapr sidecar in front of it) cannot be reached."""

    code = "UNAVAILABLE"
    status = 503


_BY_CODE: dict[str, type[PushPopError]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        LockNotFoundError,
        LockExpiredError,
        ItemTooLargeError,
        QueueLockedError,
        QueueFullError,
        StoreUnavailableError,
    )
}


def error_from_body(body: dict[str, Any]) -> PushPopError:
    """Rebuild the error that :meth:`PushPopError.to_body` described (for remote callers)."""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return PushPopError("malformed error body")
    code = str(err.get("code", "INTERNAL"))
    message = str(err.get("message", ""))
    cls = _BY_CODE.get(code)
    result: PushPopError
    if cls is InvalidArgumentError:
        result = InvalidArgumentError("", field=str(err.get("field", "")))
    elif cls is LockNotFoundError:
        result = LockNotFoundError(str(err.get("lock_id", "")))
    elif cls is LockExpiredError:
        result = LockExpiredError(str(err.get("lock_id", "")))
    elif cls is ItemTooLargeError:
        result = ItemTooLargeError(
            "",
            field=str(err.get("field", "")),
            size=int(err.get("size", 0)),
            limit=int(err.get("limit", 0)),
        )
    elif cls is QueueLockedError:
        expires = err.get("lock_expires_at")
        result = QueueLockedError(None if expires is None else float(expires))
    elif cls is QueueFullError:
        result = QueueFullError(max_length=int(err.get("max_length", 0)), ready=0, pushing=0)
    elif cls is StoreUnavailableError:
        result = StoreUnavailableError(message)
    else:
        result = PushPopError(message)
    # Keep the original wording: the remote side composed it with full context.
    result.message = message
    result.args = (message,)
    return result
