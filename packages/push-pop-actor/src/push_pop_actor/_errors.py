"""How a failed queue operation crosses the Dapr sidecar.

The typed actor methods raise one exception, which the SDK turns into the actor's error
response; :func:`queue_error` rebuilds the push-pop error on the caller's side::

    DaprInternalError           (dapr SDK)
    └── PushPopActorError       a queue operation failed; ``error`` is the push-pop-core error

The ``Dispatch`` method never raises for a queue error: it answers the error body instead, so
the REST server maps codes to statuses without parsing messages.
"""

from __future__ import annotations

import json
from typing import Any

from dapr.clients.exceptions import DaprInternalError
from push_pop_core import PushPopError, error_from_body

__all__ = ["PushPopActorError", "queue_error"]

_ACTOR_ERROR_PREFIX = "error from actor service: ("


class PushPopActorError(DaprInternalError):
    """A queue operation of the actor failed; ``error`` is what push-pop-core raised."""

    def __init__(self, error: PushPopError) -> None:
        body = error.to_body()
        super().__init__(error.message, error.code, json.dumps(body).encode())
        self.error = error

    def as_json_safe_dict(self) -> dict[str, Any]:
        # The SDK answers the sidecar with this dict: keep its two keys and add the error body,
        # so the caller can rebuild the exact error (``queue_error``).
        return {"message": self.error.message, "errorCode": self.error.code, **self.error.to_body()}


def queue_error(exc: BaseException) -> PushPopError | None:
    """The push-pop error behind an exception an actor proxy raised, or ``None``.

    The sidecar reports an actor's error response as ``error from actor service: (500) <body>``;
    when ``<body>`` is what :class:`PushPopActorError` sent, the original error comes back with
    its code and context (``QueueLockedError.lock_expires_at``, ``InvalidArgumentError.field``).
    """
    if isinstance(exc, PushPopActorError):
        return exc.error
    if isinstance(exc, PushPopError):
        return exc
    if not isinstance(exc, DaprInternalError):
        return None
    message = exc.message or ""
    start = message.find(_ACTOR_ERROR_PREFIX)
    if start < 0:
        return None
    _, _, body_text = message[start + len(_ACTOR_ERROR_PREFIX) :].partition(") ")
    try:
        body = json.loads(body_text)
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    return error_from_body(body)
