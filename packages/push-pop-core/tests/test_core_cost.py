"""SPEC §3 cost: counted with an instrumented store, so the checks are deterministic.

Reads, writes, commits and bytes written per operation must not depend on the depth of the
queue, the leases in flight or the dead letters.
"""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass

import pytest
from push_pop_core import CountingStore, MemoryStore, PushEntry, QueueEngine

ITEM = {"payload": "x" * 200, "n": 12345}
DIGITS = 1.02
"""Bytes may differ only by the digits that sequence numbers and counters gain with depth
(a 6-digit id is 3 bytes longer than a 3-digit one): logarithmic, never proportional."""
CYCLE = 200  # two segments' worth of operations: a whole fill cycle of the tail segment
HEAD_LOADS = 2 * CYCLE // 100 + 1
"""A deep queue's head segments were written long ago and are not cached: consuming its
2 * CYCLE messages loads one segment per 100 messages. A shallow queue consumes what it has
just pushed, still cached. That is the only difference depth may make."""


@dataclass
class Cost:
    reads: int
    writes: int  # sets and deletes
    commits: int
    bytes_written: int


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


async def queue_at_depth(
    depth: int, *, leased: int = 0, dead: int = 0
) -> tuple[QueueEngine, CountingStore, Clock]:
    clock = Clock()
    store = CountingStore(MemoryStore())
    engine = QueueEngine(store, clock=clock)
    for start in range(0, depth + leased + dead, 1000):
        n = min(1000, depth + leased + dead - start)
        await engine.push([PushEntry(ITEM, 0) for _ in range(n)])
    for _ in range(dead):
        (lease,) = await engine.lease(1, 600)
        assert lease.lock_id
        await engine.dead_letter(lease.lock_id)
    for _ in range(leased):
        await engine.lease(1, 3600)
    # Put the head and tail at the same phase of their segments whatever the depth.
    store.reset()
    return engine, store, clock


async def measure_cycle(engine: QueueEngine, store: CountingStore, clock: Clock) -> Cost:
    """Steady state at constant depth: push, pop, push, lease, acknowledge; CYCLE times."""
    store.reset()
    for _ in range(CYCLE):
        clock.now += 0.01
        await engine.push([PushEntry(ITEM, 0)])
        await engine.pop(1)
        await engine.push([PushEntry(ITEM, 0)])
        (lease,) = await engine.lease(1, 30)
        assert lease.lock_id
        await engine.acknowledge([lease.lock_id])
    c = store.reset()
    return Cost(c.reads, c.writes + c.deletes, c.commits, c.bytes_written)


@pytest.mark.parametrize("big", [100_000])
async def test_cost_per_operation_is_the_same_at_depth_100_and_100_000(big: int) -> None:
    small = await measure_cycle(*await queue_at_depth(100))
    large = await measure_cycle(*await queue_at_depth(big))
    assert (large.writes, large.commits) == (small.writes, small.commits)
    assert large.reads <= small.reads + HEAD_LOADS
    assert large.bytes_written <= small.bytes_written * DIGITS


async def test_cost_does_not_grow_with_leases_in_flight_or_dead_letters() -> None:
    base = await measure_cycle(*await queue_at_depth(200))
    loaded = await measure_cycle(*await queue_at_depth(200, leased=2000, dead=2000))
    assert (loaded.writes, loaded.commits) == (base.writes, base.commits)
    assert loaded.reads <= base.reads + HEAD_LOADS
    assert loaded.bytes_written <= base.bytes_written * DIGITS


async def test_steady_state_reads_average_at_most_one_per_operation() -> None:
    cost = await measure_cycle(*await queue_at_depth(100_000))
    assert cost.reads <= 5 * CYCLE
    assert cost.commits == 5 * CYCLE


async def test_a_batch_of_1000_pushes_is_one_transaction() -> None:
    engine, store, _ = await queue_at_depth(0)
    await engine.push([PushEntry(ITEM, i % 4) for i in range(1000)])
    assert store.reset().commits == 1


async def test_pop_never_rewrites_the_head_segment() -> None:
    engine, store, _ = await queue_at_depth(1000)
    await engine.pop(1)
    # The head segment only loses messages: its offset lives in the metadata record.
    assert store.reset().keys_written == ["meta"]


async def test_a_big_item_does_not_make_later_pushes_rewrite_it() -> None:
    engine, store, _ = await queue_at_depth(10)
    big = {"blob": "b" * (1024 * 1024 - 20)}
    await engine.push([PushEntry(big, 0)])
    assert store.reset().bytes_written > 1024 * 1024
    for _ in range(100):
        await engine.push([PushEntry(ITEM, 0)])
    written = store.reset().bytes_written
    # Each push rewrites at most one (small) segment plus the metadata record.
    assert written < 100 * (64 * 1024 + 1024)
    assert written < 2 * 1024 * 1024


async def steady_state_allocation_peak(depth: int) -> int:
    """Peak bytes allocated above the built queue during a steady-state cycle."""
    tracemalloc.start()
    try:
        engine, store, clock = await queue_at_depth(depth)
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        await measure_cycle(engine, store, clock)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


async def test_memory_stays_bounded_by_the_cache_whatever_the_depth() -> None:
    # Measured, not read off the cache's own bookkeeping: anything the engine kept in
    # proportion to the queue would show up here at depth 100,000.
    shallow = await steady_state_allocation_peak(100)
    deep = await steady_state_allocation_peak(100_000)
    assert deep <= shallow + 64 * 1024


async def test_emptied_segments_are_deleted() -> None:
    engine, store, _ = await queue_at_depth(0)
    for p in range(5):
        await engine.push([PushEntry(ITEM, p) for _ in range(250)])
    await engine.pop(1000)
    await engine.pop(1000)
    inner = store.inner
    assert isinstance(inner, MemoryStore)
    assert sorted(inner.data) == ["meta"]
