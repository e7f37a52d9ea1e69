"""Many queues in one process: one engine per queue, created on first use.

The embedded server uses it over a :class:`SqliteDatabase`; idle engines beyond
``max_engines`` are dropped (their state is in the store), busy ones never are, so a queue
always has exactly one engine serialising its operations.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from ._engine import QueueEngine
from ._models import Totals
from ._store import StateStore
from ._validation import check_queue_id

__all__ = ["QueueHost"]


class QueueHost:
    """Hands out the engine of a queue id; different queues never block each other."""

    def __init__(
        self,
        store_for: Callable[[str], StateStore],
        *,
        clock: Callable[[], float] = time.time,
        max_engines: int = 10_000,
        on_commit: Callable[[str, Totals], None] | None = None,
    ) -> None:
        self._store_for = store_for
        self._clock = clock
        self._max = max_engines
        self._on_commit = on_commit
        self._engines: OrderedDict[str, QueueEngine] = OrderedDict()

    def engine(self, queue_id: str) -> QueueEngine:
        """The engine of ``queue_id`` (checked against SPEC §1's naming rule)."""
        check_queue_id(queue_id)
        engine = self._engines.get(queue_id)
        if engine is None:
            engine = QueueEngine(
                self._store_for(queue_id),
                queue_id=queue_id,
                clock=self._clock,
                on_commit=self._on_commit,
            )
            self._engines[queue_id] = engine
            self._evict()
        else:
            self._engines.move_to_end(queue_id)
        return engine

    def _evict(self) -> None:
        if len(self._engines) <= self._max:
            return
        for queue_id in list(self._engines):
            if len(self._engines) <= self._max:
                break
            if self._engines[queue_id].busy == 0:
                del self._engines[queue_id]

    def __len__(self) -> int:
        return len(self._engines)
