"""The storage seam: one queue's keys, read one at a time, written in one atomic commit.

The protocol has the shape of Dapr's ``ActorStateManager``: read a key, stage a set or a
delete, then save the staged changes atomically (or discard them). The engine never reads a
key it has staged in the same operation, so adapters need no read-your-writes logic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["CountingStore", "MemoryDatabase", "MemoryStore", "StagedStore", "StateStore"]


@runtime_checkable
class StateStore(Protocol):
    """The keys of one queue. Values are UTF-8 JSON bytes."""

    async def read(self, key: str) -> bytes | None:
        """The committed value of ``key``, or ``None`` when it does not exist."""
        ...

    def stage_set(self, key: str, value: bytes) -> None:
        """Stage ``key = value`` for the next :meth:`commit`."""
        ...

    def stage_delete(self, key: str) -> None:
        """Stage the removal of ``key`` (a no-op if it does not exist)."""
        ...

    async def commit(self) -> None:
        """Apply every staged change in one transaction; on failure apply none of them."""
        ...

    def discard(self) -> None:
        """Drop the staged changes without applying them."""
        ...


class StagedStore:
    """Stages changes in a dict; subclasses implement :meth:`read` and :meth:`_apply`."""

    def __init__(self) -> None:
        self._staged: dict[str, bytes | None] = {}

    async def read(self, key: str) -> bytes | None:
        raise NotImplementedError

    def stage_set(self, key: str, value: bytes) -> None:
        self._staged[key] = value

    def stage_delete(self, key: str) -> None:
        self._staged[key] = None

    async def commit(self) -> None:
        changes, self._staged = self._staged, {}
        if changes:
            await self._apply(changes)

    def discard(self) -> None:
        self._staged = {}

    async def _apply(self, changes: Mapping[str, bytes | None]) -> None:
        raise NotImplementedError


class MemoryDatabase:
    """Many queues' keys in one process's memory (tests, examples, extension authors)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, bytes]] = {}

    def store(self, queue_id: str) -> MemoryStore:
        return MemoryStore(self.data.setdefault(queue_id, {}))


class MemoryStore(StagedStore):
    """One queue's keys in a dict; commits are atomic because they never await."""

    def __init__(self, data: dict[str, bytes] | None = None) -> None:
        super().__init__()
        self.data: dict[str, bytes] = {} if data is None else data

    async def read(self, key: str) -> bytes | None:
        return self.data.get(key)

    async def _apply(self, changes: Mapping[str, bytes | None]) -> None:
        for key, value in changes.items():
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value


@dataclass
class StoreCounts:
    reads: int = 0
    writes: int = 0
    deletes: int = 0
    commits: int = 0
    bytes_written: int = 0
    keys_written: list[str] = field(default_factory=list)


class CountingStore:
    """Wraps a store and counts reads, writes, deletes, commits and bytes written."""

    def __init__(self, inner: StateStore) -> None:
        self.inner = inner
        self.counts = StoreCounts()

    def reset(self) -> StoreCounts:
        counts, self.counts = self.counts, StoreCounts()
        return counts

    async def read(self, key: str) -> bytes | None:
        self.counts.reads += 1
        return await self.inner.read(key)

    def stage_set(self, key: str, value: bytes) -> None:
        self.counts.writes += 1
        self.counts.bytes_written += len(value)
        self.counts.keys_written.append(key)
        self.inner.stage_set(key, value)

    def stage_delete(self, key: str) -> None:
        self.counts.deletes += 1
        self.inner.stage_delete(key)

    async def commit(self) -> None:
        self.counts.commits += 1
        await self.inner.commit()

    def discard(self) -> None:
        self.inner.discard()
