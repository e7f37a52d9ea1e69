"""The queue engine: every operation of SPEC §2 over a :class:`StateStore`.

Each operation runs as: load the metadata record, return the leases that have expired, do the
work reading what it needs (through a bounded cache), stage the writes, commit once. See
docs/ARCHITECTURE.md for the layout and the cost of each operation.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from ._errors import (
    InvalidArgumentError,
    LockExpiredError,
    LockNotFoundError,
    QueueFullError,
    QueueLockedError,
)
from ._layout import (
    DELIV,
    DL_AT,
    DL_PRIO,
    DL_REASON,
    ENQ,
    ITEM,
    MID,
    SEQ,
    Chain,
    LaneSeg,
    Meta,
    Record,
    Segment,
    dumps,
    encode_record,
    record_id,
)
from ._models import (
    DEFAULT_CONFIG,
    Message,
    PriorityStats,
    PushEntry,
    PushResult,
    QueueConfig,
    QueueStats,
    Totals,
)
from ._store import StateStore
from ._txn import Cache, Txn
from ._validation import (
    MAX_BATCH,
    check_count,
    check_idempotency_key,
    check_int,
    check_lock_id,
    check_priority,
    check_ttl,
    encode_item,
)

__all__ = ["QueueEngine"]

T = TypeVar("T")

META_KEY = "meta"
TDIR_KEY = "tdir"
SEGMENT_ITEMS = 100
SEGMENT_BYTES = 64 * 1024
CHUNK_ENTRIES = 256
TOMBSTONE_SECONDS = 3600.0
"""How long an expired lease's id keeps answering "lock expired" instead of "not found"."""

REASON_MAX_DELIVERIES = "max_deliveries"
REASON_CONSUMER = "consumer"

_TOT_PUSHED, _TOT_POPPED, _TOT_ACKED, _TOT_EXPIRED, _TOT_DEAD = range(5)
_KIND_LEASE, _KIND_TOMBSTONE, _KIND_IDEMPOTENCY = "l", "g", "i"
# A timeline directory entry: [chunks, entries in the last chunk, live entries, earliest due].
_D_CHUNKS, _D_TAIL, _D_LIVE, _D_MIN = range(4)


def _bucket_of(due: float, now: float) -> str:
    """Timeline bucket for a due time: width ~1/32 of the delay, a power of two seconds."""
    delay = max(due - now, 1.0)
    width = 1 << max(0, int(math.log2(delay)) - 5)
    return f"{width}_{int(due // width) * width}"


class QueueEngine:
    """One queue: push, pop, leases, dead letters, stats and config over a state store.

    Operations on one engine run one at a time (an internal lock, on top of the actor's
    turn-based concurrency). Create one engine per queue and reuse it: its cache is what
    makes steady-state operations cost at most one read.

    Args:
        store: the queue's keys.
        queue_id: the queue's name, reported by :meth:`stats`.
        clock: Unix time in seconds; tests inject their own.
        cache_bytes: bound on cached segment bytes.
        on_commit: called after each committed operation with the queue id and how much each
            lifetime counter grew (pushed, popped, acknowledged, expired, dead-lettered) —
            including expiries the operation handled — for metrics.
    """

    def __init__(
        self,
        store: StateStore,
        *,
        queue_id: str = "",
        clock: Callable[[], float] = time.time,
        cache_bytes: int = 8 * SEGMENT_BYTES,
        segment_items: int = SEGMENT_ITEMS,
        segment_bytes: int = SEGMENT_BYTES,
        on_commit: Callable[[str, Totals], None] | None = None,
    ) -> None:
        self.store = store
        self.on_commit = on_commit
        self.queue_id = queue_id
        self.clock = clock
        self._cache = Cache(cache_bytes)
        self._meta: Meta | None = None
        self._lock = asyncio.Lock()
        self._seg_items = segment_items
        self._seg_bytes = segment_bytes
        self.busy = 0
        """Operations running or waiting (the embedded host never evicts a busy engine)."""

    # ------------------------------------------------------------------ running operations

    async def _run(self, work: Callable[[Txn, float], Awaitable[T]]) -> T:
        self.busy += 1
        try:
            async with self._lock:
                return await self._run_locked(work)
        finally:
            self.busy -= 1

    async def _run_locked(self, work: Callable[[Txn, float], Awaitable[T]]) -> T:
        try:
            meta = self._meta
            if meta is None:
                raw = await self.store.read(META_KEY)
                meta = Meta() if raw is None else Meta.from_bytes(raw)
                self._meta = meta
            txn = Txn(self.store, self._cache, meta)
            before = list(meta.totals)
            now = self.clock()
            await self._expire(txn, now)
            result = await work(txn, now)
            if txn.dirty:
                publish = txn.stage(meta_key=META_KEY, meta_encode=Meta.to_bytes)
                await self.store.commit()
                if txn.meta_deleted:
                    self._meta = None
                for key, value, size in publish:
                    self._cache.put(key, value, size)
                if self.on_commit is not None and meta.totals != before:
                    delta = [a - b for a, b in zip(meta.totals, before, strict=True)]
                    self.on_commit(self.queue_id, Totals(*delta))
        except BaseException:
            # Nothing staged may reach a later commit, and nothing mutated may be reused.
            self.store.discard()
            self._cache.clear()
            self._meta = None
            raise
        return result

    def _config(self, meta: Meta) -> QueueConfig:
        return DEFAULT_CONFIG.updated(**meta.config) if meta.config else DEFAULT_CONFIG

    # ------------------------------------------------------------------ public operations

    async def push(self, entries: Sequence[PushEntry]) -> PushResult:
        """Enqueue 1-1,000 entries atomically; returns their ids in order."""
        if not isinstance(entries, Sequence) or isinstance(entries, str | bytes):
            raise InvalidArgumentError("must be a list of entries", field="items")
        if not 1 <= len(entries) <= MAX_BATCH:
            raise InvalidArgumentError(f"must hold 1 to {MAX_BATCH} items", field="items")
        single = len(entries) == 1
        checked: list[tuple[int, str, str | None]] = []
        for i, entry in enumerate(entries):
            where = "" if single else f"items[{i}]."
            if not isinstance(entry, PushEntry):
                raise InvalidArgumentError("must be a PushEntry", field=f"items[{i}]")
            priority = check_priority(entry.priority, field=f"{where}priority")
            key = check_idempotency_key(entry.idempotency_key, field=f"{where}idempotency_key")
            checked.append((priority, where, key))

        async def work(txn: Txn, now: float) -> PushResult:
            meta = txn.meta
            config = self._config(meta)
            texts = [
                encode_item(entry.item, field=f"{where}item", max_bytes=config.max_item_bytes)
                for entry, (_, where, _) in zip(entries, checked, strict=True)
            ]
            ids: list[str] = []
            fresh: list[tuple[int, Record, str]] = []  # priority, record, its JSON
            seen: dict[str, str] = {}
            idem_writes: list[tuple[str, str]] = []
            window = config.dedup_window_seconds
            for (priority, _, key), text in zip(checked, texts, strict=True):
                if key is not None and window > 0:
                    if key in seen:
                        ids.append(seen[key])
                        continue
                    ref = _idem_ref(key)
                    found = await txn.json(f"i/{ref}")
                    if found is not None and found["e"] > now:
                        ids.append(found["id"])
                        seen[key] = found["id"]
                        continue
                seq = meta.seq
                meta.seq += 1
                mid = str(seq)
                # The record keeps the item's JSON text: that is what gets written, and it
                # is parsed once, when the message is delivered (the engine owns that copy).
                rec: Record = [seq, now, 0, RawItem(text), None]
                fresh.append((priority, rec, f"[{seq},{dumps(now)},0,{text},null]"))
                ids.append(mid)
                if key is not None and window > 0:
                    seen[key] = mid
                    idem_writes.append((_idem_ref(key), mid))
            if config.max_length is not None and meta.ready + len(fresh) > config.max_length:
                raise QueueFullError(
                    max_length=config.max_length, ready=meta.ready, pushing=len(fresh)
                )
            by_priority: dict[int, list[tuple[Record, str]]] = {}
            for priority, rec, rec_json in fresh:
                by_priority.setdefault(priority, []).append((rec, rec_json))
            for priority, recs in by_priority.items():
                chain = meta.chains.setdefault(priority, Chain())
                await self._chain_append(txn, f"s/{priority}", chain, recs)
            if idem_writes:
                due = now + window
                for ref, mid in idem_writes:
                    txn.put_json(f"i/{ref}", {"id": mid, "e": due})
                await self._timeline_add(
                    txn, now, [(due, _KIND_IDEMPOTENCY, ref) for ref, _ in idem_writes]
                )
            if fresh:
                meta.ready += len(fresh)
                meta.totals[_TOT_PUSHED] += len(fresh)
                txn.touch_meta()
            return PushResult(ids=ids, pushed=len(fresh), duplicates=len(ids) - len(fresh))

        return await self._run(work)

    async def pop(self, count: int = 1) -> list[Message]:
        """Remove and return up to ``count`` messages in priority order."""
        count = check_count(count)

        async def work(txn: Txn, now: float) -> list[Message]:
            self._check_not_locked(txn.meta)
            taken = await self._take(txn, count)
            txn.meta.totals[_TOT_POPPED] += len(taken)
            return [_message(rec, p, rec[DELIV] + 1, copy=False) for p, rec in taken]

        return await self._run(work)

    async def lease(
        self, count: int = 1, ttl_seconds: int = 30, *, exclusive: bool = False
    ) -> list[Message]:
        """Take up to ``count`` messages under independent leases of ``ttl_seconds``."""
        count = check_count(count)
        ttl = check_ttl(ttl_seconds)
        if not isinstance(exclusive, bool):
            raise InvalidArgumentError("must be true or false", field="exclusive")

        async def work(txn: Txn, now: float) -> list[Message]:
            meta = txn.meta
            self._check_not_locked(meta)
            if exclusive and meta.in_flight > 0:
                raise QueueLockedError(None)
            taken = await self._take(txn, count)
            if not taken:
                return []
            expires = now + ttl
            bucket = _bucket_of(expires, now)
            out: list[Message] = []
            entries: list[tuple[float, str, str]] = []
            for priority, rec in taken:
                rec[DELIV] += 1
                lock_id = secrets.token_urlsafe(16)
                txn.put_json(
                    f"k/{lock_id}",
                    {"r": rec, "p": priority, "e": expires, "x": exclusive, "b": bucket},
                )
                entries.append((expires, _KIND_LEASE, lock_id))
                out.append(_message(rec, priority, rec[DELIV], lock_id, expires))
            await self._timeline_add(txn, now, entries)
            meta.in_flight += len(taken)
            meta.totals[_TOT_POPPED] += len(taken)
            if exclusive:
                meta.exclusive = [len(taken), expires]
            return out

        return await self._run(work)

    async def acknowledge(self, lock_ids: Sequence[str]) -> int:
        """Settle leases for good; all or nothing. Returns how many were acknowledged."""
        ids = self._check_lock_ids(lock_ids)

        async def work(txn: Txn, now: float) -> int:
            leases = [(lock_id, await self._lease(txn, lock_id)) for lock_id in ids]
            for lock_id, lease in leases:
                await self._settle(txn, lock_id, lease)
            txn.meta.totals[_TOT_ACKED] += len(leases)
            return len(leases)

        return await self._run(work)

    async def nack(self, lock_id: str, priority: int | None = None) -> None:
        """Return a leased message to the front of its priority (or of ``priority``)."""
        lock_id = check_lock_id(lock_id)
        new_priority = None if priority is None else check_priority(priority)

        async def work(txn: Txn, now: float) -> None:
            lease = await self._lease(txn, lock_id)
            await self._settle(txn, lock_id, lease)
            target = lease["p"] if new_priority is None else new_priority
            await self._return(txn, now, [(target, lease["r"])])

        await self._run(work)

    async def extend_lock(self, lock_id: str, ttl_seconds: int) -> float:
        """Move a lease's expiry to now + ``ttl_seconds``; returns the new expiry."""
        lock_id = check_lock_id(lock_id)
        ttl = check_ttl(ttl_seconds)

        async def work(txn: Txn, now: float) -> float:
            lease = await self._lease(txn, lock_id)
            await self._timeline_settle(txn, lease["b"])
            expires = now + ttl
            lease["e"] = expires
            lease["b"] = _bucket_of(expires, now)
            txn.put_json(f"k/{lock_id}", lease)
            await self._timeline_add(txn, now, [(expires, _KIND_LEASE, lock_id)])
            excl = txn.meta.exclusive
            if lease["x"] and excl is not None:
                excl[1] = expires if excl[0] == 1 else max(excl[1], expires)
            txn.touch_meta()
            return expires

        return await self._run(work)

    async def dead_letter(self, lock_id: str) -> None:
        """Move a leased message to the dead-letter list."""
        lock_id = check_lock_id(lock_id)

        async def work(txn: Txn, now: float) -> None:
            lease = await self._lease(txn, lock_id)
            await self._settle(txn, lock_id, lease)
            await self._bury(txn, now, [(lease["p"], lease["r"], REASON_CONSUMER)])

        await self._run(work)

    async def peek(self, count: int = 1, priority: int | None = None) -> list[Message]:
        """The next ``count`` messages in pop order (of one priority if given), unchanged."""
        count = check_count(count)
        only = None if priority is None else check_priority(priority)

        async def work(txn: Txn, now: float) -> list[Message]:
            meta = txn.meta
            out: list[Message] = []
            for p in meta.priorities() if only is None else [only]:
                for rec in await self._peek_priority(txn, p, count - len(out)):
                    out.append(_message(rec, p, rec[DELIV]))
                if len(out) >= count:
                    break
            return out

        return await self._run(work)

    async def stats(self) -> QueueStats:
        async def work(txn: Txn, now: float) -> QueueStats:
            meta = txn.meta
            priorities = []
            for p in meta.priorities():
                oldest = now
                lane = meta.lanes.get(p)
                if lane:
                    seg = await self._must_segment(txn, f"l/{p}/{lane[0].segno}")
                    oldest = min(oldest, seg.recs[lane[0].offset][ENQ])
                chain = meta.chains.get(p)
                if chain and chain.count:
                    seg = await self._must_segment(txn, f"s/{p}/{chain.head}")
                    oldest = min(oldest, seg.recs[chain.offset][ENQ])
                priorities.append(PriorityStats(p, meta.ready_in(p), max(0.0, now - oldest)))
            excl = meta.exclusive
            return QueueStats(
                queue_id=self.queue_id,
                ready=meta.ready,
                in_flight=meta.in_flight,
                dead_letters=meta.dead.count,
                priorities=priorities,
                totals=Totals(*meta.totals),
                exclusive_lock_expires_at=None if excl is None else excl[1],
            )

        return await self._run(work)

    async def dead_letters(self, count: int = 100) -> list[Message]:
        """The oldest ``count`` dead letters, with the reason each was dead-lettered."""
        count = check_count(count)

        async def work(txn: Txn, now: float) -> list[Message]:
            recs = await self._chain_peek(txn, "d", txn.meta.dead, count)
            return [_dead_message(rec) for rec in recs]

        return await self._run(work)

    async def redrive(self, count: int | None = None, priority: int | None = None) -> int:
        """Move the oldest ``count`` dead letters (all when None) back to the queue's tail.

        They go to their original priority, or to ``priority`` when given, with a fresh
        delivery count.
        """
        limit = None if count is None else check_int(count, field="count", low=1, high=2**62)
        target = None if priority is None else check_priority(priority)

        async def work(txn: Txn, now: float) -> int:
            meta = txn.meta
            n = meta.dead.count if limit is None else min(limit, meta.dead.count)
            if n == 0:
                return 0
            config = self._config(meta)
            if config.max_length is not None and meta.ready + n > config.max_length:
                raise QueueFullError(max_length=config.max_length, ready=meta.ready, pushing=n)
            recs = await self._chain_take(txn, "d", meta.dead, n)
            by_priority: dict[int, list[tuple[Record, str]]] = {}
            for dead in recs:
                seq = meta.seq
                meta.seq += 1
                rec: Record = [seq, now, 0, _item(dead), record_id(dead)]
                p = dead[DL_PRIO] if target is None else target
                by_priority.setdefault(p, []).append((rec, encode_record(rec)))
            for p, group in by_priority.items():
                await self._chain_append(txn, f"s/{p}", meta.chains.setdefault(p, Chain()), group)
            meta.ready += n
            return n

        return await self._run(work)

    async def purge_dead_letters(self) -> int:
        async def work(txn: Txn, now: float) -> int:
            return self._drop_chain(txn, "d", txn.meta.dead)

        return await self._run(work)

    async def purge(self, priority: int | None = None) -> int:
        """Remove ready messages of one priority, or (without one) everything but settings."""
        only = None if priority is None else check_priority(priority)

        async def work(txn: Txn, now: float) -> int:
            if only is not None:
                return self._drop_priority(txn, only)
            purged = await self._drop_everything(txn)
            return purged

        return await self._run(work)

    async def delete(self) -> int:
        """Remove the queue whole: messages, leases, dead letters, settings and counters."""

        async def work(txn: Txn, now: float) -> int:
            purged = await self._drop_everything(txn)
            txn.meta_deleted = True
            return purged

        return await self._run(work)

    async def get_config(self) -> QueueConfig:
        async def work(txn: Txn, now: float) -> QueueConfig:
            return self._config(txn.meta)

        return await self._run(work)

    async def set_config(self, **changes: Any) -> QueueConfig:
        """Change some settings; unknown names and bad values are refused whole."""
        checked: dict[str, Any] = {}
        limits = {
            "max_deliveries": (1, 1_000_000, True),
            "dedup_window_seconds": (0, 7 * 86_400, False),
            "max_length": (1, 2**62, True),
            "max_item_bytes": (1, 64 * 1024 * 1024, False),
        }
        for name, value in changes.items():
            if name not in limits:
                raise InvalidArgumentError(
                    f"unknown setting; known: {', '.join(sorted(limits))}", field=name
                )
            low, high, nullable = limits[name]
            checked[name] = check_int(value, field=name, low=low, high=high, allow_none=nullable)

        async def work(txn: Txn, now: float) -> QueueConfig:
            config = self._config(txn.meta).updated(**checked)
            txn.meta.config = {
                k: v for k, v in config.to_wire().items() if v != getattr(DEFAULT_CONFIG, k)
            }
            txn.touch_meta()
            return config

        return await self._run(work)

    # ------------------------------------------------------------------ checks

    def _check_not_locked(self, meta: Meta) -> None:
        if meta.exclusive is not None:
            raise QueueLockedError(meta.exclusive[1])

    def _check_lock_ids(self, lock_ids: Sequence[str]) -> list[str]:
        if isinstance(lock_ids, str) or not isinstance(lock_ids, Sequence):
            raise InvalidArgumentError("must be a list of lock ids", field="lock_ids")
        if not 1 <= len(lock_ids) <= MAX_BATCH:
            raise InvalidArgumentError(f"must hold 1 to {MAX_BATCH} lock ids", field="lock_ids")
        ids = [check_lock_id(x, field=f"lock_ids[{i}]") for i, x in enumerate(lock_ids)]
        return list(dict.fromkeys(ids))

    async def _lease(self, txn: Txn, lock_id: str) -> dict[str, Any]:
        lease = await txn.json(f"k/{lock_id}")
        if lease is None:
            raise LockNotFoundError(lock_id)
        if "t" in lease:
            raise LockExpiredError(lock_id)
        return lease  # type: ignore[no-any-return]

    async def _settle(self, txn: Txn, lock_id: str, lease: dict[str, Any]) -> None:
        """Forget a lease (acknowledged, nacked or dead-lettered by its holder)."""
        txn.delete(f"k/{lock_id}")
        await self._timeline_settle(txn, lease["b"])
        self._lease_ended(txn.meta, lease)

    def _lease_ended(self, meta: Meta, lease: dict[str, Any]) -> None:
        meta.in_flight -= 1
        if lease["x"] and meta.exclusive is not None:
            meta.exclusive[0] -= 1
            if meta.exclusive[0] <= 0:
                meta.exclusive = None

    # ------------------------------------------------------------------ taking messages

    async def _take(self, txn: Txn, count: int) -> list[tuple[int, Record]]:
        """Remove up to ``count`` ready messages in pop order."""
        meta = txn.meta
        out: list[tuple[int, Record]] = []
        for p in meta.priorities():
            want = count - len(out)
            lane = meta.lanes.get(p)
            if lane:
                recs = await self._lane_take(txn, p, lane, want)
                out.extend((p, r) for r in recs)
                if not lane:
                    del meta.lanes[p]
                want = count - len(out)
            chain = meta.chains.get(p)
            if chain is not None and want > 0:
                recs = await self._chain_take(txn, f"s/{p}", chain, want)
                out.extend((p, r) for r in recs)
                if chain.count == 0:
                    del meta.chains[p]
            if len(out) >= count:
                break
        meta.ready -= len(out)
        if out:
            txn.touch_meta()
        for _, rec in out:
            _item(rec)  # delivered: parse now, before a lease record stores it
        return out

    async def _peek_priority(self, txn: Txn, p: int, count: int) -> list[Record]:
        meta = txn.meta
        out: list[Record] = []
        for lseg in meta.lanes.get(p, ()):
            seg = await self._must_segment(txn, f"l/{p}/{lseg.segno}")
            out.extend(seg.recs[lseg.offset : lseg.offset + count - len(out)])
            if len(out) >= count:
                return out
        chain = meta.chains.get(p)
        if chain is not None:
            out.extend(await self._chain_peek(txn, f"s/{p}", chain, count - len(out)))
        return out

    async def _must_segment(self, txn: Txn, key: str) -> Segment:
        seg = await txn.segment(key)
        if seg is None:
            raise RuntimeError(f"queue state is inconsistent: segment {key} is missing")
        return seg

    # ------------------------------------------------------------------ segment chains

    async def _chain_append(
        self, txn: Txn, prefix: str, chain: Chain, recs: list[tuple[Record, str]]
    ) -> None:
        """Append records at the tail, starting a new segment when the tail is full."""
        seg: Segment | None = None
        if chain.tail_count > 0 and chain.head == chain.tail and chain.offset > 0:
            # The shared head/tail segment is rewritten anyway: drop its popped prefix.
            seg = await self._must_segment(txn, f"{prefix}/{chain.tail}")
            seg.drop_front(chain.offset)
            chain.tail_count -= chain.offset
            chain.offset = 0
            chain.tail_bytes = seg.size()
        for rec, enc in recs:
            size = len(enc) + 1
            if chain.tail_count > 0 and (
                chain.tail_count >= self._seg_items or chain.tail_bytes + size > self._seg_bytes
            ):
                if seg is not None:
                    txn.put_segment(f"{prefix}/{chain.tail}", seg)
                seg = Segment([], [])
                chain.tail += 1
                chain.tail_count = 0
                chain.tail_bytes = 1
            elif seg is None:
                if chain.tail_count > 0:
                    seg = await self._must_segment(txn, f"{prefix}/{chain.tail}")
                else:
                    seg = Segment([], [])
                    chain.head, chain.offset, chain.tail_bytes = chain.tail, 0, 1
            seg.append(rec, enc)
            chain.tail_count += 1
            chain.tail_bytes += size
            chain.count += 1
        if seg is not None:
            txn.put_segment(f"{prefix}/{chain.tail}", seg)
        txn.touch_meta()

    async def _chain_take(self, txn: Txn, prefix: str, chain: Chain, count: int) -> list[Record]:
        """Remove up to ``count`` records from the head by advancing the head offset."""
        out: list[Record] = []
        while len(out) < count and chain.count > 0:
            key = f"{prefix}/{chain.head}"
            seg = await self._must_segment(txn, key)
            n = min(count - len(out), len(seg.recs) - chain.offset)
            out.extend(seg.recs[chain.offset : chain.offset + n])
            chain.offset += n
            chain.count -= n
            if chain.offset >= len(seg.recs):
                txn.delete(key)
                if chain.head == chain.tail:
                    # Emptied: the next push starts a fresh segment at the same number.
                    chain.offset = 0
                    chain.tail_count = 0
                    chain.tail_bytes = 0
                else:
                    chain.head += 1
                    chain.offset = 0
        txn.touch_meta()
        return out

    async def _chain_peek(self, txn: Txn, prefix: str, chain: Chain, count: int) -> list[Record]:
        out: list[Record] = []
        segno, offset, left = chain.head, chain.offset, chain.count
        while len(out) < count and left > 0:
            seg = await self._must_segment(txn, f"{prefix}/{segno}")
            part = seg.recs[offset : offset + count - len(out)]
            out.extend(part)
            left -= len(seg.recs) - offset
            segno, offset = segno + 1, 0
        return out

    def _drop_chain(self, txn: Txn, prefix: str, chain: Chain) -> int:
        """Delete every segment of a chain; returns how many records it held."""
        n = chain.count
        if chain.count > 0 or chain.tail_count > 0:
            for segno in range(chain.head, chain.tail + 1):
                txn.delete(f"{prefix}/{segno}")
        chain.head = chain.tail = chain.offset = chain.tail_count = chain.tail_bytes = 0
        chain.count = 0
        txn.touch_meta()
        return n

    # ------------------------------------------------------------------ return lanes

    async def _lane_take(self, txn: Txn, p: int, lane: list[LaneSeg], count: int) -> list[Record]:
        out: list[Record] = []
        while lane and len(out) < count:
            lseg = lane[0]
            key = f"l/{p}/{lseg.segno}"
            seg = await self._must_segment(txn, key)
            n = min(count - len(out), lseg.count - lseg.offset)
            out.extend(seg.recs[lseg.offset : lseg.offset + n])
            lseg.offset += n
            if lseg.offset >= lseg.count:
                txn.delete(key)
                lane.pop(0)
            else:
                lseg.first = seg.recs[lseg.offset][SEQ]
        return out

    async def _lane_insert(self, txn: Txn, p: int, recs: list[Record]) -> None:
        """Insert returned records into priority ``p``'s lane, kept sorted by sequence."""
        meta = txn.meta
        lane = meta.lanes.setdefault(p, [])
        dirty: dict[int, Segment] = {}
        for rec in sorted(recs, key=lambda r: int(r[SEQ])):
            seq = rec[SEQ]
            idx = next((i for i, s in enumerate(lane) if s.last > seq), None)
            if idx is None:
                if lane:
                    idx = len(lane) - 1
                else:
                    lane.append(LaneSeg(meta.lane_next, 0, 0, seq, seq))
                    meta.lane_next += 1
                    dirty[lane[0].segno] = Segment([], [])
                    idx = 0
            elif seq < lane[idx].first and idx > 0:
                idx -= 1
            lseg = lane[idx]
            seg = dirty.get(lseg.segno)
            if seg is None:
                seg = await self._must_segment(txn, f"l/{p}/{lseg.segno}")
                dirty[lseg.segno] = seg
            if lseg.offset:
                seg.drop_front(lseg.offset)
                lseg.count -= lseg.offset
                lseg.offset = 0
            pos = next((i for i, r in enumerate(seg.recs) if r[SEQ] > seq), len(seg.recs))
            seg.insert(pos, rec)
            lseg.count += 1
            lseg.first = seg.recs[0][SEQ]
            lseg.last = seg.recs[-1][SEQ]
        # Split overfull segments in halves so each rewrite stays within a segment's cap.
        i = 0
        while i < len(lane):
            lseg = lane[i]
            seg = dirty.get(lseg.segno)
            if (
                seg is not None
                and len(seg.recs) > 1
                and (len(seg.recs) > self._seg_items or seg.size() > self._seg_bytes)
            ):
                right = seg.split(len(seg.recs) // 2)
                new = LaneSeg(
                    meta.lane_next, 0, len(right.recs), right.recs[0][SEQ], right.recs[-1][SEQ]
                )
                meta.lane_next += 1
                lseg.count, lseg.last = len(seg.recs), seg.recs[-1][SEQ]
                lane.insert(i + 1, new)
                dirty[new.segno] = right
                continue
            i += 1
        for segno, seg in dirty.items():
            txn.put_segment(f"l/{p}/{segno}", seg)
        txn.touch_meta()

    async def _return(self, txn: Txn, now: float, returned: list[tuple[int, Record]]) -> None:
        """Put messages back at the front of their priority, or bury them if spent."""
        meta = txn.meta
        limit = self._config(meta).max_deliveries
        back: dict[int, list[Record]] = {}
        spent: list[tuple[int, Record, str]] = []
        for p, rec in returned:
            if limit is not None and rec[DELIV] >= limit:
                spent.append((p, rec, REASON_MAX_DELIVERIES))
            else:
                back.setdefault(p, []).append(rec)
        for p, recs in back.items():
            await self._lane_insert(txn, p, recs)
            meta.ready += len(recs)
        if spent:
            await self._bury(txn, now, spent)
        txn.touch_meta()

    async def _bury(self, txn: Txn, now: float, dead: list[tuple[int, Record, str]]) -> None:
        meta = txn.meta
        recs = []
        for p, rec, reason in dead:
            row = [rec[SEQ], rec[ENQ], rec[DELIV], _item(rec), record_id(rec), p, reason, now]
            recs.append((row, encode_record(row)))
        await self._chain_append(txn, "d", meta.dead, recs)
        meta.totals[_TOT_DEAD] += len(dead)

    # ------------------------------------------------------------------ purge

    def _drop_priority(self, txn: Txn, p: int) -> int:
        meta = txn.meta
        n = meta.ready_in(p)
        chain = meta.chains.pop(p, None)
        if chain is not None:
            self._drop_chain(txn, f"s/{p}", chain)
        for lseg in meta.lanes.pop(p, []):
            txn.delete(f"l/{p}/{lseg.segno}")
        meta.ready -= n
        txn.touch_meta()
        return n

    async def _drop_everything(self, txn: Txn) -> int:
        meta = txn.meta
        purged = meta.in_flight + meta.dead.count
        for p in meta.priorities():
            purged += self._drop_priority(txn, p)
        self._drop_chain(txn, "d", meta.dead)
        tdir: dict[str, list[Any]] = await txn.json(TDIR_KEY) or {}
        for bucket, entry in tdir.items():
            for k in range(entry[_D_CHUNKS]):
                chunk = await txn.json(f"t/{bucket}/{k}") or []
                for _, kind, ref in chunk:
                    txn.delete(f"i/{ref}" if kind == _KIND_IDEMPOTENCY else f"k/{ref}")
                txn.delete(f"t/{bucket}/{k}")
        if tdir:
            txn.delete(TDIR_KEY)
        meta.in_flight = 0
        meta.exclusive = None
        meta.next_due = None
        txn.touch_meta()
        return purged

    # ------------------------------------------------------------------ the expiry timeline

    async def _timeline_add(
        self, txn: Txn, now: float, entries: list[tuple[float, str, str]]
    ) -> None:
        """Record things that fall due later: lease expiries, tombstones, idempotency keys."""
        tdir: dict[str, list[Any]] = await txn.json(TDIR_KEY) or {}
        grouped: dict[str, list[tuple[float, str, str]]] = {}
        for entry in entries:
            grouped.setdefault(_bucket_of(entry[0], now), []).append(entry)
        for bucket, group in grouped.items():
            d = tdir.get(bucket)
            if d is None:
                d = tdir[bucket] = [0, CHUNK_ENTRIES, 0, group[0][0]]
            chunk: list[Any] | None = None
            if d[_D_TAIL] < CHUNK_ENTRIES:
                chunk = await txn.json(f"t/{bucket}/{d[_D_CHUNKS] - 1}")
            for entry in group:
                if chunk is None or d[_D_TAIL] >= CHUNK_ENTRIES:
                    if chunk is not None:
                        txn.put_json(f"t/{bucket}/{d[_D_CHUNKS] - 1}", chunk)
                    chunk = []
                    d[_D_CHUNKS] += 1
                    d[_D_TAIL] = 0
                chunk.append(list(entry))
                d[_D_TAIL] += 1
                d[_D_LIVE] += 1
                d[_D_MIN] = min(d[_D_MIN], entry[0])
            assert chunk is not None
            txn.put_json(f"t/{bucket}/{d[_D_CHUNKS] - 1}", chunk)
        self._timeline_save(txn, tdir)

    def _timeline_save(self, txn: Txn, tdir: dict[str, list[Any]]) -> None:
        if tdir:
            txn.put_json(TDIR_KEY, tdir)
        else:
            txn.delete(TDIR_KEY)
        txn.meta.next_due = min((d[_D_MIN] for d in tdir.values()), default=None)
        txn.touch_meta()

    async def _timeline_settle(self, txn: Txn, bucket: str) -> None:
        """One lease in ``bucket`` ended early; an all-settled bucket is deleted unread."""
        tdir: dict[str, list[Any]] = await txn.json(TDIR_KEY) or {}
        d = tdir.get(bucket)
        if d is None:
            return
        d[_D_LIVE] -= 1
        if d[_D_LIVE] <= 0:
            for k in range(d[_D_CHUNKS]):
                txn.delete(f"t/{bucket}/{k}")
            del tdir[bucket]
        self._timeline_save(txn, tdir)

    async def _expire(self, txn: Txn, now: float) -> None:
        """Handle everything due by ``now``; costs nothing when nothing is due."""
        meta = txn.meta
        if meta.next_due is None or meta.next_due > now:
            return
        tdir: dict[str, list[Any]] = await txn.json(TDIR_KEY) or {}
        expired: list[tuple[float, int, Record]] = []
        tombstones: list[tuple[float, str, str]] = []
        for bucket in sorted(
            (b for b, d in tdir.items() if d[_D_MIN] <= now), key=lambda b: tdir[b][_D_MIN]
        ):
            d = tdir[bucket]
            keep: list[list[Any]] = []
            for k in range(d[_D_CHUNKS]):
                chunk = await txn.json(f"t/{bucket}/{k}") or []
                for entry in chunk:
                    due, kind, ref = entry
                    if due > now:
                        keep.append(entry)
                        continue
                    if kind == _KIND_LEASE:
                        lease = await txn.json(f"k/{ref}")
                        if lease is None or "t" in lease or lease["e"] != due:
                            continue  # settled or extended: its count was already dropped
                        txn.put_json(f"k/{ref}", {"t": due})
                        tombstones.append((now + TOMBSTONE_SECONDS, _KIND_TOMBSTONE, ref))
                        self._lease_ended(meta, lease)
                        expired.append((due, lease["p"], lease["r"]))
                    else:
                        txn.delete(f"k/{ref}" if kind == _KIND_TOMBSTONE else f"i/{ref}")
                    d[_D_LIVE] -= 1
                txn.delete(f"t/{bucket}/{k}")
            if keep and d[_D_LIVE] > 0:
                chunks = [keep[i : i + CHUNK_ENTRIES] for i in range(0, len(keep), CHUNK_ENTRIES)]
                for k, chunk in enumerate(chunks):
                    txn.put_json(f"t/{bucket}/{k}", chunk)
                d[_D_CHUNKS] = len(chunks)
                d[_D_TAIL] = len(chunks[-1])
                d[_D_MIN] = min(e[0] for e in keep)
            else:
                del tdir[bucket]
        self._timeline_save(txn, tdir)
        if expired:
            # Leases that expire together return in expiry order, then enqueue order.
            expired.sort(key=lambda e: (e[0], e[2][SEQ]))
            meta.totals[_TOT_EXPIRED] += len(expired)
            await self._return(txn, now, [(p, rec) for _, p, rec in expired])
        if tombstones:
            await self._timeline_add(txn, now, tombstones)


class RawItem:
    """An item pushed through this engine, kept as its JSON text until it is delivered."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _item(rec: Record) -> Any:
    """The record's item as an object, parsing (once) an item still held as text."""
    item = rec[ITEM]
    if type(item) is RawItem:
        item = rec[ITEM] = json.loads(item.text)
    return item


def _idem_ref(key: str) -> str:
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def _copy(item: Any) -> Any:
    return json.loads(dumps(item))


def _message(
    rec: Record,
    priority: int,
    deliveries: int,
    lock_id: str | None = None,
    expires: float | None = None,
    *,
    copy: bool = True,
) -> Message:
    """A message for the caller; its item is a copy unless the record leaves for good."""
    return Message(
        id=record_id(rec),
        item=_copy(_item(rec)) if copy else _item(rec),
        priority=priority,
        deliveries=deliveries,
        enqueued_at=rec[ENQ],
        lock_id=lock_id,
        lock_expires_at=expires,
    )


def _dead_message(rec: Record) -> Message:
    return Message(
        id=str(rec[MID]),
        item=_copy(_item(rec)),
        priority=rec[DL_PRIO],
        deliveries=rec[DELIV],
        enqueued_at=rec[ENQ],
        dead_letter_reason=rec[DL_REASON],
        dead_lettered_at=rec[DL_AT],
    )
