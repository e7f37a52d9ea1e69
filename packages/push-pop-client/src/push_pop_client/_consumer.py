"""Consumers: lease messages, run a handler on each, acknowledge or nack, keep leases alive.

The contract (both forms):

- a message is acknowledged when its handler returns, and nacked (back to the front of its
  priority at once) when the handler raises; the server's ``max_deliveries`` then decides when
  a failing message goes to the dead letters;
- while a message is held (waiting for a free slot, or in its handler) its lease is extended
  whenever less than half of ``ttl_seconds`` is left, so a slow handler is not redelivered;
- on ``stop`` the consumer leases no more (an open long poll finishes first, so ``wait_seconds``
  bounds the delay), nacks the messages it leased but did not start, lets running handlers
  finish and returns;
- on cancellation (async) or ``KeyboardInterrupt`` (sync) it nacks the messages it had not
  finished, running handlers included, and re-raises. A lease request cancelled in flight may
  have been granted: those messages come back when their lease expires. Nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from ._exceptions import (
    LockExpiredError,
    LockNotFoundError,
    PushPopConnectionError,
    PushPopError,
    QueueLockedError,
    ServerError,
)
from ._models import Message

if TYPE_CHECKING:
    from ._client import AsyncQueue, Queue

logger = logging.getLogger("push_pop_client")

MIN_POLL_SECONDS = 1.0
"""Empty answers faster than this are followed by a pause, so an idle consumer never spins."""
MAX_BACKOFF_SECONDS = 30.0


class LeaseBook:
    """The leases one consumer holds, with local deadlines (monotonic clock, so no skew)."""

    def __init__(self, ttl_seconds: int) -> None:
        self.ttl_seconds = ttl_seconds
        self.check_every = max(ttl_seconds / 4, 0.05)
        self._deadlines: dict[str, float] = {}
        self._lock = threading.Lock()  # the blocking consumer extends from another thread

    def hold(self, messages: Iterable[Message], requested_at: float) -> None:
        """Record fresh leases; their clock started no later than ``requested_at``."""
        with self._lock:
            for message in messages:
                self._deadlines[_lock_id(message)] = requested_at + self.ttl_seconds

    def __iter__(self) -> Iterator[str]:
        """The lock ids held now (a snapshot)."""
        with self._lock:
            return iter(list(self._deadlines))

    def release(self, lock_id: str) -> None:
        with self._lock:
            self._deadlines.pop(lock_id, None)

    def due(self, now: float) -> list[str]:
        """The leases with less than half their time left."""
        with self._lock:
            margin = self.ttl_seconds / 2
            return [lock_id for lock_id, end in self._deadlines.items() if end - now < margin]

    def extended(self, lock_id: str, requested_at: float) -> None:
        with self._lock:
            if lock_id in self._deadlines:  # not settled while the extension was on its way
                self._deadlines[lock_id] = requested_at + self.ttl_seconds

    def extension_failed(self, lock_id: str, error: PushPopError) -> None:
        """Log a failed extension; a lease the server no longer has is dropped from the book."""
        with self._lock:
            held = lock_id in self._deadlines
            if held and isinstance(error, LockExpiredError | LockNotFoundError):
                del self._deadlines[lock_id]
        if held:
            logger.warning("could not extend lease %s: %s", lock_id, error)


class Backoff:
    """How long to pause after a failed lease request; ``None`` when the error is final."""

    def __init__(self) -> None:
        self._failures = 0

    def succeeded(self) -> None:
        self._failures = 0

    def after(self, error: PushPopError) -> float | None:
        if isinstance(error, QueueLockedError):
            remaining = (error.lock_expires_at or 0.0) - time.time()
            return min(max(remaining, 0.1), MAX_BACKOFF_SECONDS)
        if not isinstance(error, PushPopConnectionError | ServerError):
            return None  # bad token, bad arguments, ...: retrying will not help
        self._failures += 1
        delay = min(MAX_BACKOFF_SECONDS, 0.5 * 2.0 ** min(self._failures, 16))
        logger.warning("lease failed (%s); retrying in %.1f s", error, delay)
        return delay


def _lock_id(message: Message) -> str:
    if message.lock_id is None:
        raise ValueError(f"message {message.id} is not leased")
    return message.lock_id


def _validate(ttl_seconds: int, batch: int, concurrency: int = 1) -> None:
    if ttl_seconds < 1:
        raise ValueError("ttl_seconds must be >= 1")
    if not 1 <= batch <= 1000:
        raise ValueError("batch must be between 1 and 1000")
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")


class Consumer:
    """The asynchronous consumer behind ``AsyncQueue.consume``."""

    def __init__(
        self,
        queue: AsyncQueue,
        handler: Callable[[Message], Awaitable[object]],
        ttl_seconds: int,
        batch: int,
        wait_seconds: int,
        concurrency: int,
    ) -> None:
        _validate(ttl_seconds, batch, concurrency)
        self._queue = queue
        self._handler = handler
        self._batch = batch
        self._wait_seconds = wait_seconds
        self._concurrency = concurrency
        self._leases = LeaseBook(ttl_seconds)
        self._backoff = Backoff()
        self._running = 0
        self._slot_freed = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        keeper = asyncio.create_task(self._keep_leases())
        failure: PushPopError | None = None
        try:
            async with asyncio.TaskGroup() as handlers:
                try:
                    await self._dispatch(handlers, stop)
                except PushPopError as error:  # raised bare below, not in an ExceptionGroup
                    failure = error
        finally:
            keeper.cancel()
            # A handler task cancelled before its first step never settled its message.
            await asyncio.gather(*(self._settle(lock_id, ack=False) for lock_id in self._leases))
            await asyncio.gather(keeper, return_exceptions=True)
        if failure is not None:
            raise failure

    async def _dispatch(self, handlers: asyncio.TaskGroup, stop: asyncio.Event) -> None:
        waiting: deque[Message] = deque()
        try:
            while not stop.is_set():
                if self._running >= self._concurrency:
                    self._slot_freed.clear()
                    await _first_of(self._slot_freed, stop)
                elif waiting:
                    self._running += 1
                    handlers.create_task(self._handle(waiting.popleft()))
                else:
                    waiting.extend(await self._lease(stop))
        finally:
            await asyncio.gather(*(self._settle(_lock_id(m), ack=False) for m in waiting))

    async def _lease(self, stop: asyncio.Event) -> list[Message]:
        requested_at = time.monotonic()
        try:
            messages = await self._queue.lease(
                self._batch, self._leases.ttl_seconds, wait_seconds=self._wait_seconds
            )
        except PushPopError as error:
            if (delay := self._backoff.after(error)) is None:
                raise
            await _first_of(stop, within=delay)
            return []
        self._backoff.succeeded()
        self._leases.hold(messages, requested_at)
        if not messages:
            idle = MIN_POLL_SECONDS - (time.monotonic() - requested_at)
            await _first_of(stop, within=max(idle, 0.0))
        return messages

    async def _handle(self, message: Message) -> None:
        lock_id = _lock_id(message)
        try:
            await self._handler(message)
        except asyncio.CancelledError:
            await self._settle(lock_id, ack=False)
            raise
        except Exception:
            logger.exception("handler failed on message %s; nacking it", message.id)
            await self._settle(lock_id, ack=False)
        else:
            await self._settle(lock_id, ack=True)
        finally:
            self._running -= 1
            self._slot_freed.set()

    async def _settle(self, lock_id: str, *, ack: bool) -> None:
        try:
            await (self._queue.ack(lock_id) if ack else self._queue.nack(lock_id))
        except PushPopError as error:
            # The message is not lost: an expired or unknown lease is already back in the queue.
            logger.warning("could not settle lease %s: %s", lock_id, error)
        finally:
            self._leases.release(lock_id)

    async def _keep_leases(self) -> None:
        while True:
            await asyncio.sleep(self._leases.check_every)
            for lock_id in self._leases.due(time.monotonic()):
                requested_at = time.monotonic()
                try:
                    await self._queue.extend(lock_id, self._leases.ttl_seconds)
                except PushPopError as error:
                    self._leases.extension_failed(lock_id, error)
                else:
                    self._leases.extended(lock_id, requested_at)


async def _first_of(*events: asyncio.Event, within: float | None = None) -> None:
    """Wait until one of ``events`` is set, or ``within`` seconds pass."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def run_blocking(
    queue: Queue,
    handler: Callable[[Message], object],
    ttl_seconds: int,
    batch: int,
    wait_seconds: int,
    stop: threading.Event | None,
) -> None:
    """The blocking consumer behind ``Queue.consume``: one handler call at a time."""
    _validate(ttl_seconds, batch)
    stop = stop or threading.Event()
    leases = LeaseBook(ttl_seconds)
    backoff = Backoff()
    finished = threading.Event()
    keeper = threading.Thread(
        target=_keep_leases_blocking,
        args=(queue, leases, finished),
        name=f"push-pop-leases-{queue.id}",
        daemon=True,
    )
    keeper.start()
    waiting: deque[Message] = deque()
    try:
        while not stop.is_set():
            if waiting:
                _handle_blocking(queue, leases, handler, waiting.popleft())
                continue
            requested_at = time.monotonic()
            try:
                waiting.extend(queue.lease(batch, ttl_seconds, wait_seconds=wait_seconds))
            except PushPopError as error:
                if (delay := backoff.after(error)) is None:
                    raise
                stop.wait(delay)
                continue
            backoff.succeeded()
            leases.hold(waiting, requested_at)
            if not waiting:
                stop.wait(max(MIN_POLL_SECONDS - (time.monotonic() - requested_at), 0.0))
    finally:
        finished.set()
        for lock_id in leases:  # leased but not started
            _settle_blocking(queue, leases, lock_id, ack=False)
        keeper.join()


def _handle_blocking(
    queue: Queue, leases: LeaseBook, handler: Callable[[Message], object], message: Message
) -> None:
    lock_id = _lock_id(message)
    try:
        handler(message)
    except Exception:
        logger.exception("handler failed on message %s; nacking it", message.id)
        _settle_blocking(queue, leases, lock_id, ack=False)
    except BaseException:  # KeyboardInterrupt, SystemExit: give the message back, then stop
        _settle_blocking(queue, leases, lock_id, ack=False)
        raise
    else:
        _settle_blocking(queue, leases, lock_id, ack=True)


def _settle_blocking(queue: Queue, leases: LeaseBook, lock_id: str, *, ack: bool) -> None:
    try:
        if ack:
            queue.ack(lock_id)
        else:
            queue.nack(lock_id)
    except PushPopError as error:
        logger.warning("could not settle lease %s: %s", lock_id, error)
    finally:
        leases.release(lock_id)


def _keep_leases_blocking(queue: Queue, leases: LeaseBook, finished: threading.Event) -> None:
    while not finished.wait(leases.check_every):
        for lock_id in leases.due(time.monotonic()):
            requested_at = time.monotonic()
            try:
                queue.extend(lock_id, leases.ttl_seconds)
            except PushPopError as error:
                leases.extension_failed(lock_id, error)
            else:
                leases.extended(lock_id, requested_at)
