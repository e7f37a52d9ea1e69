"""The engine against a tiny reference model, driven by hypothesis stateful testing.

The model is a dict of deques (plus a sorted return lane per priority), a lease table, a
dead-letter list and an idempotency table. Random sequences of push, pop, lease, ack, nack,
extend, dead-letter, redrive, purge, config changes and clock jumps must agree with it, on the
in-memory store and on the SQLite store, with tiny segments and caches so every path of the
layout (segment roll-over, lane splits, cache misses) is exercised.
"""

from __future__ import annotations

import asyncio
import bisect
import tempfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from push_pop_core import (
    LockExpiredError,
    LockNotFoundError,
    MemoryStore,
    PushEntry,
    PushPopError,
    QueueEngine,
    QueueLockedError,
    SqliteDatabase,
)

TOMBSTONE = 3600.0
PRIORITIES = st.integers(0, 3)
# Non-negative: a live lease if any; negative: a settled, expired or unknown lock id.
LOCK_PICK = st.integers(0, 1000)
ITEMS = st.fixed_dictionaries(
    {"n": st.integers(-(2**70), 2**70)},
    optional={
        "s": st.sampled_from(["2024-01-01", "5m", "P1D", "héllo ✓", ""]),
        "f": st.floats(allow_nan=False, allow_infinity=False),
        "pad": st.text(max_size=120),
    },
)


@dataclass
class Msg:
    seq: int
    id: str
    item: dict[str, Any]
    deliveries: int
    priority: int = 0

    def view(self, priority: int, deliveries: int | None = None) -> tuple[Any, ...]:
        d = self.deliveries if deliveries is None else deliveries
        return (self.id, self.item, priority, d)


@dataclass
class Lease:
    msg: Msg
    priority: int
    expires: float
    exclusive: bool


@dataclass
class Model:
    now: float = 1_000_000.0
    seq: int = 1
    ready: dict[int, deque[Msg]] = field(default_factory=dict)
    lanes: dict[int, list[Msg]] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)
    tombstones: dict[str, float] = field(default_factory=dict)
    dead: list[tuple[Msg, int, str]] = field(default_factory=list)
    idem: dict[str, tuple[str, float]] = field(default_factory=dict)
    max_deliveries: int | None = None
    window: float = 300.0
    exclusive: int = 0

    def expire(self) -> None:
        for key, (_, exp) in list(self.idem.items()):
            if exp <= self.now:
                del self.idem[key]
        for lock, gc in list(self.tombstones.items()):
            if gc <= self.now:
                del self.tombstones[lock]
        due = sorted(
            ((lock, lease) for lock, lease in self.leases.items() if lease.expires <= self.now),
            key=lambda x: (x[1].expires, x[1].msg.seq),
        )
        for lock, lease in due:
            del self.leases[lock]
            self.tombstones[lock] = self.now + TOMBSTONE
            self.end_lease(lease)
            self.give_back(lease.priority, lease.msg)

    def end_lease(self, lease: Lease) -> None:
        if lease.exclusive:
            self.exclusive -= 1

    def give_back(self, priority: int, msg: Msg) -> None:
        if self.max_deliveries is not None and msg.deliveries >= self.max_deliveries:
            self.dead.append((msg, priority, "max_deliveries"))
            return
        lane = self.lanes.setdefault(priority, [])
        bisect.insort(lane, msg, key=lambda m: m.seq)

    def ready_count(self) -> int:
        return sum(len(q) for q in self.ready.values()) + sum(len(q) for q in self.lanes.values())

    def order(self, only: int | None = None) -> list[tuple[int, Msg]]:
        out: list[tuple[int, Msg]] = []
        keys = sorted(set(self.ready) | set(self.lanes)) if only is None else [only]
        for p in keys:
            out.extend((p, m) for m in self.lanes.get(p, []))
            out.extend((p, m) for m in self.ready.get(p, []))
        return out

    def take(self, count: int) -> list[tuple[int, Msg]]:
        taken = self.order()[:count]
        for p, msg in taken:
            lane = self.lanes.get(p)
            if lane and lane[0] is msg:
                lane.pop(0)
                if not lane:
                    del self.lanes[p]
            else:
                self.ready[p].popleft()
                if not self.ready[p]:
                    del self.ready[p]
        return taken

    def lease_of(self, lock: str) -> Lease:
        if lock in self.leases:
            return self.leases[lock]
        if lock in self.tombstones:
            raise LockExpiredError(lock)
        raise LockNotFoundError(lock)


class EngineMachine(RuleBasedStateMachine):
    """Subclasses choose the store."""

    def make_engine(self, clock: Any) -> QueueEngine:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.model = Model()
        self.engine = self.make_engine(lambda: self.model.now)
        self.locks: list[str] = []
        self.taken: list[tuple[int, Msg]] = []

    def teardown(self) -> None:
        self.close()
        self.loop.close()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def both(self, engine_call: Any, model_call: Any) -> Any:
        """Run the engine and the model; they must fail the same way or both succeed."""
        self.model.expire()
        try:
            expected = model_call()
            expected_error: type[PushPopError] | None = None
        except PushPopError as exc:
            expected, expected_error = None, type(exc)
        try:
            got = self.run(engine_call())
        except PushPopError as exc:
            assert type(exc) is expected_error, f"engine raised {exc!r}, model {expected_error}"
            return None
        assert expected_error is None, f"engine succeeded, model raised {expected_error}"
        return got, expected

    @initialize()
    def start(self) -> None:
        pass

    @rule(
        batch=st.lists(
            st.tuples(ITEMS, PRIORITIES, st.none() | st.sampled_from(["a", "b", "c"])),
            min_size=1,
            max_size=8,
        )
    )
    def push(self, batch: list[tuple[dict[str, Any], int, str | None]]) -> None:
        m = self.model

        def model() -> list[str]:
            ids: list[str] = []
            seen: dict[str, str] = {}
            for item, p, key in batch:
                if key is not None and key in seen:
                    ids.append(seen[key])
                    continue
                if key is not None and key in m.idem:
                    ids.append(m.idem[key][0])
                    seen[key] = m.idem[key][0]
                    continue
                msg = Msg(m.seq, str(m.seq), item, 0)
                m.seq += 1
                m.ready.setdefault(p, deque()).append(msg)
                ids.append(msg.id)
                if key is not None:
                    seen[key] = msg.id
                    m.idem[key] = (msg.id, m.now + m.window)
            return ids

        entries = [PushEntry(item, p, key) for item, p, key in batch]
        out = self.both(lambda: self.engine.push(entries), model)
        assert out is not None
        got, expected = out
        assert got.ids == expected

    @rule(count=st.integers(1, 3))
    def pop(self, count: int) -> None:
        m = self.model

        def model() -> list[tuple[Any, ...]]:
            if m.exclusive:
                raise QueueLockedError(0.0)
            return [msg.view(p, msg.deliveries + 1) for p, msg in m.take(count)]

        out = self.both(lambda: self.engine.pop(count), model)
        if out:
            got, expected = out
            assert [(x.id, x.item, x.priority, x.deliveries) for x in got] == expected

    @rule(
        count=st.integers(1, 4),
        ttl=st.integers(1, 90),
        exclusive=st.sampled_from([False, False, False, True]),
    )
    def lease(self, count: int, ttl: int, exclusive: bool) -> None:
        m = self.model

        def model() -> list[tuple[Any, ...]]:
            if m.exclusive or (exclusive and m.leases):
                raise QueueLockedError(0.0)
            taken = self.taken = m.take(count)
            for _, msg in taken:
                msg.deliveries += 1
            if exclusive and taken:
                m.exclusive = len(taken)
            return [msg.view(p) for p, msg in taken]

        out = self.both(lambda: self.engine.lease(count, ttl, exclusive=exclusive), model)
        if out:
            got, expected = out
            assert [(x.id, x.item, x.priority, x.deliveries) for x in got] == expected
            for message, (p, msg) in zip(got, self.taken, strict=True):
                assert message.lock_id is not None
                self.locks.append(message.lock_id)
                m.leases[message.lock_id] = Lease(msg, p, m.now + ttl, exclusive)

    def pick(self, data: int) -> str:
        """A live lease when there is one (data >= 0), else an old or unknown lock id."""
        live = [lock for lock in self.locks if lock in self.model.leases]
        if data >= 0 and live:
            return live[data % len(live)]
        if self.locks and data % 3:
            return self.locks[data % len(self.locks)]
        return f"unknown-{data}"

    @precondition(lambda self: bool(self.model.leases))
    @rule(data=LOCK_PICK, many=st.booleans())
    def ack(self, data: int, many: bool) -> None:
        self.check_ack([self.pick(data)] + ([self.pick(data // 3 + 1)] if many else []))

    def check_ack(self, locks: list[str]) -> None:
        m = self.model

        def model() -> int:
            unique = list(dict.fromkeys(locks))
            leases = [m.lease_of(lock) for lock in unique]
            for lock, lease in zip(unique, leases, strict=True):
                del m.leases[lock]
                m.end_lease(lease)
            return len(unique)

        out = self.both(lambda: self.engine.acknowledge(locks), model)
        if out:
            assert out[0] == out[1]

    @precondition(lambda self: bool(self.model.leases))
    @rule(data=LOCK_PICK, priority=st.none() | PRIORITIES)
    def nack(self, data: int, priority: int | None) -> None:
        self.check_nack(self.pick(data), priority)

    def check_nack(self, lock: str, priority: int | None) -> None:
        m = self.model

        def model() -> None:
            lease = m.lease_of(lock)
            del m.leases[lock]
            m.end_lease(lease)
            m.give_back(lease.priority if priority is None else priority, lease.msg)

        self.both(lambda: self.engine.nack(lock, priority), model)

    @precondition(lambda self: bool(self.model.leases))
    @rule(data=LOCK_PICK, ttl=st.integers(1, 90))
    def extend(self, data: int, ttl: int) -> None:
        self.check_extend(self.pick(data), ttl)

    def check_extend(self, lock: str, ttl: int) -> None:
        m = self.model

        def model() -> float:
            m.lease_of(lock).expires = m.now + ttl
            return m.now + ttl

        out = self.both(lambda: self.engine.extend_lock(lock, ttl), model)
        if out:
            assert out[0] == out[1]

    @precondition(lambda self: bool(self.model.leases))
    @rule(data=LOCK_PICK)
    def dead_letter(self, data: int) -> None:
        self.check_dead_letter(self.pick(data))

    def check_dead_letter(self, lock: str) -> None:
        m = self.model

        def model() -> None:
            lease = m.lease_of(lock)
            del m.leases[lock]
            m.end_lease(lease)
            m.dead.append((lease.msg, lease.priority, "consumer"))

        self.both(lambda: self.engine.dead_letter(lock), model)

    @rule(op=st.sampled_from(["ack", "nack", "extend", "dead_letter"]), data=st.integers(1, 99))
    def stale_lock(self, op: str, data: int) -> None:
        """Settling a settled, expired or unknown lock fails the same way in both."""
        lock = self.pick(-data)
        if op == "ack":
            self.check_ack([lock])
        elif op == "nack":
            self.check_nack(lock, None)
        elif op == "extend":
            self.check_extend(lock, 5)
        else:
            self.check_dead_letter(lock)

    @rule(count=st.none() | st.integers(1, 3), priority=st.none() | PRIORITIES)
    def redrive(self, count: int | None, priority: int | None) -> None:
        m = self.model

        def model() -> int:
            n = len(m.dead) if count is None else min(count, len(m.dead))
            moved, m.dead = m.dead[:n], m.dead[n:]
            for msg, p, _ in moved:
                fresh = Msg(m.seq, msg.id, msg.item, 0)
                m.seq += 1
                m.ready.setdefault(p if priority is None else priority, deque()).append(fresh)
            return n

        out = self.both(lambda: self.engine.redrive(count, priority), model)
        if out:
            assert out[0] == out[1]

    @precondition(lambda self: self.model.seq % 5 == 0)
    @rule(priority=st.none() | PRIORITIES)
    def purge(self, priority: int | None) -> None:
        m = self.model

        def model() -> int:
            if priority is not None:
                n = len(m.ready.pop(priority, ())) + len(m.lanes.pop(priority, ()))
                return n
            n = m.ready_count() + len(m.leases) + len(m.dead)
            m.ready.clear()
            m.lanes.clear()
            m.leases.clear()
            m.tombstones.clear()
            m.dead.clear()
            m.idem.clear()
            m.exclusive = 0
            return n

        out = self.both(lambda: self.engine.purge(priority), model)
        if out:
            assert out[0] == out[1]

    @rule(limit=st.none() | st.integers(1, 3))
    def set_max_deliveries(self, limit: int | None) -> None:
        def model() -> None:
            self.model.max_deliveries = limit

        self.both(lambda: self.engine.set_config(max_deliveries=limit), model)

    @rule(seconds=st.sampled_from([0.5, 1, 5, 10, 29, 30, 31, 45, 60, 400, 4000]))
    def tick(self, seconds: float) -> None:
        self.model.now += seconds

    @rule(count=st.integers(1, 12), priority=st.none() | PRIORITIES)
    def peek(self, count: int, priority: int | None) -> None:
        out = self.both(
            lambda: self.engine.peek(count, priority),
            lambda: [msg.view(p) for p, msg in self.model.order(priority)[:count]],
        )
        assert out is not None
        got, expected = out
        assert [(x.id, x.item, x.priority, x.deliveries) for x in got] == expected

    @precondition(lambda self: True)
    @invariant()
    def stats_agree(self) -> None:
        m = self.model
        out = self.both(self.engine.stats, lambda: None)
        assert out is not None
        stats = out[0]
        assert stats.ready == m.ready_count()
        assert stats.in_flight == len(m.leases)
        assert stats.dead_letters == len(m.dead)
        per = {p.priority: p.ready for p in stats.priorities}
        expected: dict[int, int] = {}
        for p, _ in m.order():
            expected[p] = expected.get(p, 0) + 1
        assert per == expected

    @invariant()
    def dead_letters_agree(self) -> None:
        out = self.both(lambda: self.engine.dead_letters(1000), lambda: self.model.dead)
        assert out is not None
        got, expected = out
        assert [(x.id, x.item, x.priority, x.deliveries, x.dead_letter_reason) for x in got] == [
            (msg.id, msg.item, p, msg.deliveries, reason) for msg, p, reason in expected
        ]


class MemoryMachine(EngineMachine):
    def make_engine(self, clock: Any) -> QueueEngine:
        return QueueEngine(
            MemoryStore(), clock=clock, segment_items=3, segment_bytes=400, cache_bytes=600
        )


class SqliteMachine(EngineMachine):
    def make_engine(self, clock: Any) -> QueueEngine:
        self.tmp = tempfile.TemporaryDirectory()
        self.db = SqliteDatabase(Path(self.tmp.name) / "q.db")
        return QueueEngine(
            self.db.store("q"), clock=clock, segment_items=4, segment_bytes=500, cache_bytes=0
        )

    def close(self) -> None:
        self.run(self.db.close())
        self.tmp.cleanup()


_SETTINGS = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_engine_agrees_with_model_on_memory_store() -> None:
    run_state_machine_as_test(MemoryMachine, settings=_SETTINGS)


@pytest.mark.parametrize("examples", [25])
def test_engine_agrees_with_model_on_sqlite_store(examples: int) -> None:
    run_state_machine_as_test(
        SqliteMachine,
        settings=settings(_SETTINGS, max_examples=examples),
    )
