"""Long polls: a pop that waits up to ``wait_seconds`` for a message to arrive.

A waiting pop tries, then sleeps until one of: a push, nack or redrive on its queue through
this instance (woken at once), the re-check interval (pushes through other instances), the
deadline, the client hanging up, or the server shutting down. It pops only when it is about to
answer, so a client that gives up or disconnects while waiting loses nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["Arrivals", "long_poll"]

JSON = dict[str, Any]


class Arrivals:
    """Per-queue wake-ups for waiting pops, signalled after messages arrive.

    Waiters are plain futures of the running loop (no loop-bound Event), so one instance
    serves any event loop that drives the app.
    """

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        self.generation = 0
        """Bumped by :meth:`drain`: a poll begun in an older generation stops waiting."""

    def subscribe(self, queue_id: str) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(queue_id, set()).add(waiter)
        return waiter

    def unsubscribe(self, queue_id: str, waiter: asyncio.Future[None]) -> None:
        waiters = self._waiters.get(queue_id)
        if waiters is not None:
            waiters.discard(waiter)
            if not waiters:
                del self._waiters[queue_id]
        if not waiter.done():
            waiter.cancel()

    def notify(self, queue_id: str) -> None:
        """Messages became ready on ``queue_id``: wake every pop waiting on it."""
        for waiter in self._waiters.pop(queue_id, ()):
            if not waiter.done():
                waiter.get_loop().call_soon_threadsafe(_wake, waiter)

    def drain(self) -> None:
        """The server is stopping: every pop waiting now answers at once."""
        self.generation += 1
        for queue_id in list(self._waiters):
            self.notify(queue_id)

    @property
    def waiting(self) -> int:
        return sum(len(w) for w in self._waiters.values())


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def long_poll(
    attempt: Callable[[], Awaitable[JSON]],
    *,
    arrivals: Arrivals,
    queue_id: str,
    wait_seconds: float,
    interval: float,
    gone: asyncio.Future[Any],
) -> JSON:
    """Run ``attempt`` (a pop) until it yields items or the wait ends; its last answer.

    ``gone`` completes when the client disconnects: the poll then stops without popping
    again, so no message is taken for a client that cannot receive it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    generation = arrivals.generation
    while True:
        # Subscribe before trying, so a push landing between the try and the wait still wakes us.
        waiter = arrivals.subscribe(queue_id)
        try:
            result = await attempt()
            remaining = deadline - loop.time()
            if result.get("items") or remaining <= 0 or arrivals.generation != generation:
                return result
            await asyncio.wait(
                {waiter, gone},
                timeout=min(interval, remaining),
                return_when=asyncio.FIRST_COMPLETED,
            )
            if gone.done() or arrivals.generation != generation:
                return result
        finally:
            arrivals.unsubscribe(queue_id, waiter)
