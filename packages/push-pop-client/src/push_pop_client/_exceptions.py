"""Errors raised by the push-pop client.

Every error is a ``PushPopError``; catch that to handle them all::

    PushPopError
    ├── APIStatusError               the server answered with an error status
    │   ├── BadRequestError          400, 422 INVALID_ARGUMENT (also raised client-side) .field
    │   ├── AuthenticationError      401 UNAUTHORIZED
    │   ├── NotFoundError            404 NOT_FOUND (unknown route)
    │   │   └── LockNotFoundError    404 LOCK_NOT_FOUND
    │   ├── LockExpiredError         410 LOCK_EXPIRED
    │   ├── TooLargeError            413 TOO_LARGE
    │   ├── QueueLockedError         423 QUEUE_LOCKED .lock_expires_at
    │   ├── QueueFullError           429 QUEUE_FULL
    │   └── ServerError              5xx
    │       └── UnavailableError     503 UNAVAILABLE
    └── PushPopConnectionError       the request got no answer (connect, read or protocol error)
        └── PushPopTimeoutError      ... because a timeout elapsed

``status_code`` and ``code`` are ``None`` where no HTTP answer exists (transport errors, and
arguments rejected before any request is sent).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "LockExpiredError",
    "LockNotFoundError",
    "NotFoundError",
    "PushPopConnectionError",
    "PushPopError",
    "PushPopTimeoutError",
    "QueueFullError",
    "QueueLockedError",
    "ServerError",
    "TooLargeError",
    "UnavailableError",
    "make_status_error",
]


class PushPopError(Exception):
    """Base class of every error the client raises."""

    def __init__(
        self, message: str, *, status_code: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code

    def __str__(self) -> str:
        if self.code is None:
            return self.message
        return f"{self.code}: {self.message}"


class APIStatusError(PushPopError):
    """The server answered with an error status (4xx or 5xx)."""


class BadRequestError(APIStatusError):
    """The request was rejected as malformed; ``field`` names the offending input.

    Raised before sending (``status_code`` None) for arguments the client can check itself.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = 400,
        code: str | None = "INVALID_ARGUMENT",
        field: str | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, code=code)
        self.field = field


class AuthenticationError(APIStatusError):
    """The bearer token is missing or wrong."""


class NotFoundError(APIStatusError):
    """The path does not exist on the server (wrong base URL or an older server)."""


class LockNotFoundError(NotFoundError):
    """No lease has this lock id (never issued, or already acknowledged or nacked)."""


class LockExpiredError(APIStatusError):
    """The lease expired; its message is back in the queue or in the dead-letter list."""


class TooLargeError(APIStatusError):
    """An item is over the queue's ``max_item_bytes``, or the body over the server's limit."""


class QueueLockedError(APIStatusError):
    """An exclusive lease is outstanding; pops and leases fail until ``lock_expires_at``."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 423,
        code: str | None = "QUEUE_LOCKED",
        lock_expires_at: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, code=code)
        self.lock_expires_at = lock_expires_at


class QueueFullError(APIStatusError):
    """The queue holds ``max_length`` messages; nothing was enqueued."""


class ServerError(APIStatusError):
    """The server failed (5xx). Bad input never causes this: it is a server bug."""


class UnavailableError(ServerError):
    """The server's backend (Dapr sidecar or store) is unavailable; the client retries these."""


class PushPopConnectionError(PushPopError):
    """The request got no HTTP answer: connection refused, reset, or a protocol error."""


class PushPopTimeoutError(PushPopConnectionError):
    """The request timed out. After a read timeout the server may have done the work."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    410: LockExpiredError,
    413: TooLargeError,
    422: BadRequestError,
    423: QueueLockedError,
    429: QueueFullError,
    503: UnavailableError,
}


def make_status_error(status_code: int, body: Any, text: str = "") -> APIStatusError:
    """Build the exception for an error answer from its status and decoded JSON ``body``.

    ``text`` is the raw body, used as the message when the body is not the server's error
    shape (a proxy's HTML page, say).
    """
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {}
    code = error.get("code") if isinstance(error.get("code"), str) else None
    message = error.get("message")
    if not isinstance(message, str):
        message = text.strip()[:500] or f"HTTP {status_code}"

    if status_code == 404 and code == "LOCK_NOT_FOUND":
        return LockNotFoundError(message, status_code=status_code, code=code)
    cls = _BY_STATUS.get(status_code)
    if cls is None:
        cls = ServerError if status_code >= 500 else APIStatusError
    if cls is BadRequestError:
        field = error.get("field")
        return BadRequestError(
            message,
            status_code=status_code,
            code=code,
            field=field if isinstance(field, str) else None,
        )
    if cls is QueueLockedError:
        expires = error.get("lock_expires_at")
        return QueueLockedError(
            message,
            status_code=status_code,
            code=code,
            lock_expires_at=float(expires) if isinstance(expires, int | float) else None,
        )
    return cls(message, status_code=status_code, code=code)
