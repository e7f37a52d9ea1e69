"""One operation's view of the store: cached reads, staged writes, one commit.

Decoded values are cached across operations (an actor, or the embedded host, is the only
writer of its queue's keys). The cache is bounded by bytes, so memory stays at a few
segments whatever the depth of the queue. Values are mutated in place during an operation;
if the operation fails, the whole cache is dropped, so no half-applied change survives.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from ._layout import Meta, Segment
from ._store import StateStore

__all__ = ["Cache", "Txn"]

T = TypeVar("T")

_DELETED = object()
_ABSENT = object()
"""Cached for keys known not to exist, so an absent key costs one read, not one per use."""


class Cache:
    """A least-recently-used map of decoded values, bounded by their encoded size."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0

    def get(self, key: str) -> Any:
        hit = self._data.get(key)
        if hit is None:
            return None
        self._data.move_to_end(key)
        return hit[0]

    def put(self, key: str, value: Any, size: int) -> None:
        self.pop(key)
        if size > self.max_bytes:
            return
        self._data[key] = (value, size)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, (_, old) = self._data.popitem(last=False)
            self._bytes -= old

    def pop(self, key: str) -> None:
        hit = self._data.pop(key, None)
        if hit is not None:
            self._bytes -= hit[1]

    def clear(self) -> None:
        self._data.clear()
        self._bytes = 0

    @property
    def size(self) -> int:
        return self._bytes


def _encode_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


class Txn:
    """Reads through the cache, stages writes, and hands them to the store in one commit."""

    def __init__(self, store: StateStore, cache: Cache, meta: Meta) -> None:
        self.store = store
        self.cache = cache
        self.meta = meta
        self.meta_dirty = False
        self.meta_deleted = False
        self._writes: dict[str, tuple[Any, Callable[[Any], bytes]] | object] = {}

    async def _get(self, key: str, decode: Callable[[bytes], T]) -> T | None:
        staged = self._writes.get(key)
        if staged is _DELETED:
            return None
        if staged is not None:
            assert isinstance(staged, tuple)
            value: T = staged[0]
            return value
        cached = self.cache.get(key)
        if cached is _ABSENT:
            return None
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        raw = await self.store.read(key)
        if raw is None:
            self.cache.put(key, _ABSENT, 64)
            return None
        decoded = decode(raw)
        self.cache.put(key, decoded, len(raw))
        return decoded

    async def segment(self, key: str) -> Segment | None:
        return await self._get(key, Segment.decode)

    async def json(self, key: str) -> Any:
        return await self._get(key, json.loads)

    def put_segment(self, key: str, seg: Segment) -> None:
        self._writes[key] = (seg, Segment.encode)

    def put_json(self, key: str, value: Any) -> None:
        self._writes[key] = (value, _encode_json)

    def delete(self, key: str) -> None:
        self._writes[key] = _DELETED

    def touch_meta(self) -> None:
        self.meta_dirty = True

    @property
    def dirty(self) -> bool:
        return self.meta_dirty or self.meta_deleted or bool(self._writes)

    def stage(
        self, *, meta_key: str, meta_encode: Callable[[Meta], bytes]
    ) -> list[tuple[str, Any, int]]:
        """Stage every write in the store; returns what to cache once the commit succeeds."""
        publish: list[tuple[str, Any, int]] = []
        for key, staged in self._writes.items():
            if staged is _DELETED:
                self.store.stage_delete(key)
                publish.append((key, _ABSENT, 64))
            else:
                assert isinstance(staged, tuple)
                value, encode = staged
                raw = encode(value)
                self.store.stage_set(key, raw)
                publish.append((key, value, len(raw)))
        if self.meta_deleted:
            self.store.stage_delete(meta_key)
        elif self.meta_dirty:
            self.store.stage_set(meta_key, meta_encode(self.meta))
        return publish
