"""The async and sync clients and their queue handles.

Both are thin: ``_wire`` builds each call and reads its answer, ``_exchange`` decides retries and
errors; here each client only sends requests and sleeps, with its own kind of I/O.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack

import httpx

from . import _consumer, _wire
from ._exchange import RetryPolicy, exchange
from ._models import ConfigChanges, Message, PushEntry, PushResult, QueueConfig, QueueStats
from ._version import __version__

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8000"


class _ClientBase:
    """What both clients share: where the server is, how to authenticate, how to retry."""

    def __init__(
        self, base_url: str, token: str | None, timeout: float | None, max_retries: int
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self._timeout = httpx.Timeout(timeout)
        self._policy = RetryPolicy(max_retries=max_retries)
        self._headers = {"user-agent": f"push-pop-client/{__version__}"}
        if token:
            self._headers["authorization"] = f"Bearer {token}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"


class AsyncPushPopClient(_ClientBase):
    """Asynchronous client of a push-pop server.

    Use it as ``async with AsyncPushPopClient(url) as client:`` (or call ``aclose``), and reach
    a queue with ``client.queue("orders")``.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8000``.
        token: bearer token, when the server has ``PUSH_POP_API_TOKEN`` set.
        timeout: seconds for connect, read and write; long polls add their ``wait_seconds``.
        max_retries: retries of connection errors and 503 answers (see the retry policy).
        transport: an httpx transport, e.g. ``httpx.ASGITransport(app=...)`` in tests.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout: float | None = 10.0,
        max_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, token, timeout, max_retries)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self._headers, transport=transport
        )

    def queue(self, queue_id: str) -> AsyncQueue:
        """A handle on one queue (no request is made; queues exist on first use)."""
        return AsyncQueue(self, queue_id)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self, call: _wire.Call[T]) -> T:
        steps = exchange(self._http, call, self._policy, self._timeout)
        step = next(steps)
        try:
            while True:
                if isinstance(step, httpx.Request):
                    try:
                        outcome: httpx.Response | httpx.TransportError = await self._http.send(step)
                    except httpx.TransportError as error:
                        outcome = error
                    step = steps.send(outcome)
                else:
                    await asyncio.sleep(step)
                    step = steps.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


class PushPopClient(_ClientBase):
    """Synchronous client of a push-pop server; the same API as ``AsyncPushPopClient``.

    Use it as ``with PushPopClient(url) as client:`` (or call ``close``). It is safe to share
    between threads.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        transport: httpx.BaseTransport | None = None,
        token: str | None = None,
        timeout: float | None = 10.0,
        max_retries: int = 3,
    ) -> None:
        super().__init__(base_url, token, timeout, max_retries)
        self._http = httpx.Client(
            base_url=self.base_url, headers=self._headers, transport=transport
        )

    def queue(self, queue_id: str) -> Queue:
        """A handle on one queue (no request is made; queues exist on first use)."""
        return Queue(self, queue_id)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self, call: _wire.Call[T]) -> T:
        steps = exchange(self._http, call, self._policy, self._timeout)
        outcome: httpx.Response | httpx.TransportError | None = None
        try:
            while True:
                step = steps.send(outcome)
                if isinstance(step, httpx.Request):
                    try:
                        outcome = self._http.send(step)
                    except httpx.TransportError as error:
                        outcome = error
                else:
                    time.sleep(step)
                    outcome = None
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


class _QueueBase:
    def __init__(self, queue_id: str) -> None:
        self.id = _wire.validate_queue_id(queue_id)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r})"


class AsyncQueue(_QueueBase):
    """One queue of an ``AsyncPushPopClient``; every method is one request (``push_many`` one
    per 1,000 entries, ``consume`` many)."""

    def __init__(self, client: AsyncPushPopClient, queue_id: str) -> None:
        super().__init__(queue_id)
        self._client = client

    async def push(
        self, item: Mapping[str, Any], priority: int = 0, idempotency_key: str | None = None
    ) -> str:
        """Enqueue one item (0 is the highest priority); returns the message id.

        A duplicate ``idempotency_key`` enqueues nothing and returns the original id. Without
        one the client makes one, so its own retries never enqueue twice.
        """
        return await self._client._run(_wire.push(self.id, item, priority, idempotency_key))

    async def push_many(self, entries: Iterable[Mapping[str, Any] | PushEntry]) -> PushResult:
        """Enqueue items or ``PushEntry``s in order, 1,000 per request.

        Each request is all-or-nothing, but a batch of more than 1,000 is several requests: if
        one fails, the earlier ones stay enqueued. Give each entry an ``idempotency_key`` to be
        able to resend the whole batch safely.
        """
        calls = _wire.push_many(self.id, entries)
        return PushResult.combine([await self._client._run(call) for call in calls])

    async def pop(self, count: int = 1, wait_seconds: int = 0) -> list[Message]:
        """Remove and return up to ``count`` messages; ``[]`` if none came within
        ``wait_seconds`` (long poll, up to 60). Not retried once the request may have been
        sent: a replay could remove more messages than the caller receives."""
        return await self._client._run(_wire.pop(self.id, count, wait_seconds))

    async def lease(
        self, count: int = 1, ttl_seconds: int = 30, exclusive: bool = False, wait_seconds: int = 0
    ) -> list[Message]:
        """Lease up to ``count`` messages for ``ttl_seconds``; settle each by its ``lock_id``.

        ``exclusive`` takes the queue's single lock (granted only when no lease is out). Like
        ``pop``, not retried once the request may have been sent; the leases of a lost answer
        expire back into the queue.
        """
        call = _wire.lease(self.id, count, ttl_seconds, exclusive, wait_seconds)
        return await self._client._run(call)

    async def ack(self, lock_ids: str | Sequence[str]) -> int:
        """Acknowledge one lease or a list of them (all or nothing); returns how many."""
        if not isinstance(lock_ids, str) and not lock_ids:
            return 0
        return await self._client._run(_wire.ack(self.id, lock_ids))

    async def nack(self, lock_id: str, priority: int | None = None) -> None:
        """Return a leased message to the front of its priority (or of ``priority``) now."""
        await self._client._run(_wire.nack(self.id, lock_id, priority))

    async def extend(self, lock_id: str, ttl_seconds: int) -> float:
        """Move a lease's expiry to now + ``ttl_seconds``; returns it (Unix seconds)."""
        return await self._client._run(_wire.extend(self.id, lock_id, ttl_seconds))

    async def dead_letter(self, lock_id: str) -> None:
        """Move a leased message to the dead-letter list (reason ``"consumer"``)."""
        await self._client._run(_wire.dead_letter(self.id, lock_id))

    async def peek(self, count: int = 1, priority: int | None = None) -> list[Message]:
        """The next ``count`` messages in pop order (of one ``priority``), left in place."""
        return await self._client._run(_wire.peek(self.id, count, priority))

    async def stats(self) -> QueueStats:
        """Counts of ready, in-flight and dead-lettered messages, and lifetime totals."""
        return await self._client._run(_wire.stats(self.id))

    async def dead_letters(self, count: int = 100) -> list[Message]:
        """The first ``count`` dead letters, each with its ``dead_letter_reason``."""
        return await self._client._run(_wire.dead_letters(self.id, count))

    async def redrive(self, count: int | None = None, priority: int | None = None) -> int:
        """Move dead letters (all, or the first ``count``) back to the queue, optionally at
        ``priority``; returns how many moved."""
        return await self._client._run(_wire.redrive(self.id, count, priority))

    async def purge_dead_letters(self) -> int:
        """Drop every dead letter; returns how many."""
        return await self._client._run(_wire.purge_dead_letters(self.id))

    async def purge(self, priority: int | None = None) -> int:
        """Drop the ready messages of ``priority``; without one, every message of the queue
        (ready, leased, dead letters) but not its settings. Returns how many."""
        return await self._client._run(_wire.purge(self.id, priority))

    async def delete(self) -> int:
        """Delete the queue whole (messages, leases, dead letters, settings); returns how many
        messages."""
        return await self._client._run(_wire.delete(self.id))

    async def get_config(self) -> QueueConfig:
        """The queue's settings."""
        return await self._client._run(_wire.get_config(self.id))

    async def set_config(self, **changes: Unpack[ConfigChanges]) -> QueueConfig:
        """Change some settings (``None`` lifts a limit); returns the whole new config."""
        return await self._client._run(_wire.set_config(self.id, changes))

    async def consume(
        self,
        handler: Callable[[Message], Awaitable[object]],
        *,
        ttl_seconds: int = 30,
        batch: int = 10,
        wait_seconds: int = 20,
        concurrency: int = 1,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Lease messages and run ``handler`` on each until ``stop`` is set or cancelled.

        A message is acknowledged when its handler returns, nacked when it raises; its lease is
        extended while the handler runs. See ``docs/CLIENT.md`` for the full contract.
        """
        await _consumer.Consumer(self, handler, ttl_seconds, batch, wait_seconds, concurrency).run(
            stop or asyncio.Event()
        )


class Queue(_QueueBase):
    """One queue of a ``PushPopClient``: the blocking twin of ``AsyncQueue``."""

    def __init__(self, client: PushPopClient, queue_id: str) -> None:
        super().__init__(queue_id)
        self._client = client

    def push(
        self, item: Mapping[str, Any], priority: int = 0, idempotency_key: str | None = None
    ) -> str:
        """Enqueue one item; returns the message id (see ``AsyncQueue.push``)."""
        return self._client._run(_wire.push(self.id, item, priority, idempotency_key))

    def push_many(self, entries: Iterable[Mapping[str, Any] | PushEntry]) -> PushResult:
        """Enqueue items or ``PushEntry``s, 1,000 per request (see ``AsyncQueue.push_many``)."""
        calls = _wire.push_many(self.id, entries)
        return PushResult.combine([self._client._run(call) for call in calls])

    def pop(self, count: int = 1, wait_seconds: int = 0) -> list[Message]:
        """Remove and return up to ``count`` messages (see ``AsyncQueue.pop``)."""
        return self._client._run(_wire.pop(self.id, count, wait_seconds))

    def lease(
        self, count: int = 1, ttl_seconds: int = 30, exclusive: bool = False, wait_seconds: int = 0
    ) -> list[Message]:
        """Lease up to ``count`` messages for ``ttl_seconds`` (see ``AsyncQueue.lease``)."""
        call = _wire.lease(self.id, count, ttl_seconds, exclusive, wait_seconds)
        return self._client._run(call)

    def ack(self, lock_ids: str | Sequence[str]) -> int:
        """Acknowledge one lease or a list of them (all or nothing); returns how many."""
        if not isinstance(lock_ids, str) and not lock_ids:
            return 0
        return self._client._run(_wire.ack(self.id, lock_ids))

    def nack(self, lock_id: str, priority: int | None = None) -> None:
        """Return a leased message to the front of its priority (or of ``priority``) now."""
        self._client._run(_wire.nack(self.id, lock_id, priority))

    def extend(self, lock_id: str, ttl_seconds: int) -> float:
        """Move a lease's expiry to now + ``ttl_seconds``; returns it (Unix seconds)."""
        return self._client._run(_wire.extend(self.id, lock_id, ttl_seconds))

    def dead_letter(self, lock_id: str) -> None:
        """Move a leased message to the dead-letter list (reason ``"consumer"``)."""
        self._client._run(_wire.dead_letter(self.id, lock_id))

    def peek(self, count: int = 1, priority: int | None = None) -> list[Message]:
        """The next ``count`` messages in pop order (of one ``priority``), left in place."""
        return self._client._run(_wire.peek(self.id, count, priority))

    def stats(self) -> QueueStats:
        """Counts of ready, in-flight and dead-lettered messages, and lifetime totals."""
        return self._client._run(_wire.stats(self.id))

    def dead_letters(self, count: int = 100) -> list[Message]:
        """The first ``count`` dead letters, each with its ``dead_letter_reason``."""
        return self._client._run(_wire.dead_letters(self.id, count))

    def redrive(self, count: int | None = None, priority: int | None = None) -> int:
        """Move dead letters back to the queue; returns how many (see ``AsyncQueue.redrive``)."""
        return self._client._run(_wire.redrive(self.id, count, priority))

    def purge_dead_letters(self) -> int:
        """Drop every dead letter; returns how many."""
        return self._client._run(_wire.purge_dead_letters(self.id))

    def purge(self, priority: int | None = None) -> int:
        """Drop the ready messages of ``priority``; without one, every message of the queue
        (ready, leased, dead letters) but not its settings. Returns how many."""
        return self._client._run(_wire.purge(self.id, priority))

    def delete(self) -> int:
        """Delete the queue whole (messages, leases, dead letters, settings); returns how many
        messages."""
        return self._client._run(_wire.delete(self.id))

    def get_config(self) -> QueueConfig:
        """The queue's settings."""
        return self._client._run(_wire.get_config(self.id))

    def set_config(self, **changes: Unpack[ConfigChanges]) -> QueueConfig:
        """Change some settings (``None`` lifts a limit); returns the whole new config."""
        return self._client._run(_wire.set_config(self.id, changes))

    def consume(
        self,
        handler: Callable[[Message], object],
        *,
        ttl_seconds: int = 30,
        batch: int = 10,
        wait_seconds: int = 20,
        stop: threading.Event | None = None,
    ) -> None:
        """Lease messages and run ``handler`` on each, one at a time, until ``stop`` is set.

        Acknowledges on return, nacks on exception, extends leases from a background thread;
        on ``KeyboardInterrupt`` the unfinished messages are nacked. See ``docs/CLIENT.md``.
        """
        _consumer.run_blocking(self, handler, ttl_seconds, batch, wait_seconds, stop)
