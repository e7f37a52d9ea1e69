"""One call's exchange with the server, retries included, written once without I/O.

``exchange`` is a generator that yields what to do next (an ``httpx.Request`` to send, or a
number of seconds to sleep) and is sent back what came of it (the response, or the transport
error). The async and sync clients each drive it with their own I/O in a few lines, so the retry
policy, the error mapping and the parsing exist once.

Retry policy:

- a request that surely never reached the server (connect error, connect or pool timeout) is
  retried for every call;
- a 503 answer is retried for every call: the server changed nothing;
- a request that may have reached the server (read timeout, connection dropped mid-answer) is
  retried only if replaying it is harmless (``Call.replayable``): pushes (idempotency keys),
  reads, extends, purges, config. Pops, leases, acks, nacks, dead-lettering and redrives are not:
  the error is raised and the caller decides (a lost lease simply expires back into the queue);
- everything else (4xx, other 5xx) is raised at once; 429 means the queue is full, not "later".

Delays grow exponentially with full jitter, bounded by ``max_delay``; a ``Retry-After`` header
on a 503 is honoured within that bound.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from ._exceptions import (
    PushPopConnectionError,
    PushPopError,
    PushPopTimeoutError,
    make_status_error,
)
from ._wire import Call

T = TypeVar("T")

Step = httpx.Request | float
"""What the driver must do: send this request, or sleep this many seconds."""
Outcome = httpx.Response | httpx.TransportError | None
"""What the driver sends back: the response or transport error (``None`` after a sleep)."""

_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry a call."""

    max_retries: int = 3
    base_delay: float = 0.25
    max_delay: float = 8.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)  # jitter, not cryptography


def exchange(
    client: httpx.Client | httpx.AsyncClient,
    call: Call[T],
    policy: RetryPolicy,
    timeout: httpx.Timeout,
) -> Generator[Step, Outcome, T]:
    """Carry out ``call``: yields requests and sleeps, returns the parsed answer or raises."""
    if call.wait_seconds:
        timeout = httpx.Timeout(
            connect=timeout.connect,
            read=None if timeout.read is None else timeout.read + call.wait_seconds,
            write=timeout.write,
            pool=timeout.pool,
        )
    request = client.build_request(
        call.method,
        call.path,
        params=call.params or None,
        json=call.body,
        timeout=timeout,
    )
    attempt = 0
    while True:
        outcome = yield request
        if isinstance(outcome, httpx.Response):
            if outcome.status_code < 400:
                return _read_answer(call, outcome)
            retry_after = _retry_after(outcome)
            if outcome.status_code != 503 or attempt >= policy.max_retries:
                raise make_status_error(outcome.status_code, _json_or_none(outcome), outcome.text)
        elif isinstance(outcome, httpx.TransportError):
            retry_after = None
            may_replay = call.replayable or isinstance(outcome, _NEVER_SENT)
            if not may_replay or attempt >= policy.max_retries or not _transient(outcome):
                raise transport_error(outcome) from outcome
        else:  # pragma: no cover - drivers always send an outcome after a request
            raise TypeError(f"unexpected outcome {outcome!r}")
        yield policy.delay(attempt, retry_after)
        attempt += 1


def transport_error(error: httpx.TransportError) -> PushPopConnectionError:
    """The client's error for an httpx transport failure."""
    url = error.request.url if _has_request(error) else "the server"
    if isinstance(error, httpx.TimeoutException):
        return PushPopTimeoutError(f"{type(error).__name__} talking to {url}: {error}")
    return PushPopConnectionError(f"{type(error).__name__} talking to {url}: {error}")


def _transient(error: httpx.TransportError) -> bool:
    # A bad URL scheme or a request httpx itself refuses to send will fail the same way again.
    return not isinstance(error, httpx.UnsupportedProtocol | httpx.LocalProtocolError)


def _has_request(error: httpx.TransportError) -> bool:
    try:
        _ = error.request  # the property raises when no request is attached
    except RuntimeError:
        return False
    return True


def _read_answer(call: Call[T], response: httpx.Response) -> T:
    try:
        return call.parse(response.json())
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise PushPopError(
            f"unexpected answer to {call.method} {call.path}: {response.text[:200]!r}",
            status_code=response.status_code,
        ) from error


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None
