"""Behaviour of every engine operation, one fact per test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import push_pop_core
import pytest
from push_pop_core import (
    InvalidArgumentError,
    ItemTooLargeError,
    LockExpiredError,
    LockNotFoundError,
    MemoryStore,
    PushEntry,
    QueueEngine,
    QueueFullError,
    QueueLockedError,
    SqliteDatabase,
    StateStore,
    execute,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "sqlite"])
async def make_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[[], StateStore]]:
    if request.param == "memory":
        data: dict[str, bytes] = {}
        yield lambda: MemoryStore(data)
        return
    db = SqliteDatabase(tmp_path / "q.db")
    yield lambda: db.store("q")
    await db.close()


@pytest.fixture
def engine(make_store: Callable[[], StateStore], clock: Clock) -> QueueEngine:
    return QueueEngine(make_store(), queue_id="q", clock=clock)


def items(messages: list[Any]) -> list[Any]:
    return [m.item for m in messages]


async def push(engine: QueueEngine, *entries: tuple[dict[str, Any], int]) -> list[str]:
    return (await engine.push([PushEntry(item, p) for item, p in entries])).ids


# ---------------------------------------------------------------- public surface


def test_public_names_are_the_curated_surface() -> None:
    assert sorted(push_pop_core.__all__) == sorted(
        [
            "MAX_BATCH",
            "MAX_PRIORITY",
            "MAX_TTL_SECONDS",
            "OPERATIONS",
            "CountingStore",
            "InvalidArgumentError",
            "ItemTooLargeError",
            "LockExpiredError",
            "LockNotFoundError",
            "MemoryDatabase",
            "MemoryStore",
            "Message",
            "PriorityStats",
            "PushEntry",
            "PushPopError",
            "PushResult",
            "QueueConfig",
            "QueueEngine",
            "QueueFullError",
            "QueueHost",
            "QueueLockedError",
            "QueueStats",
            "SqliteDatabase",
            "SqliteStore",
            "StagedStore",
            "StateStore",
            "StoreUnavailableError",
            "Totals",
            "check_queue_id",
            "error_from_body",
            "execute",
        ]
    )


# ---------------------------------------------------------------- order and fidelity


async def test_pop_drains_priority_zero_before_one(engine: QueueEngine) -> None:
    await push(engine, ({"a": 1}, 1), ({"b": 2}, 0), ({"c": 3}, 2), ({"d": 4}, 0))
    assert items(await engine.pop(4)) == [{"b": 2}, {"d": 4}, {"a": 1}, {"c": 3}]


async def test_fifo_within_a_priority_across_many_segments(engine: QueueEngine) -> None:
    for start in range(0, 450, 150):
        await engine.push([PushEntry({"i": i}, 5) for i in range(start, start + 150)])
    got: list[int] = []
    while batch := await engine.pop(37):
        got.extend(m.item["i"] for m in batch)
    assert got == list(range(450))


async def test_pops_across_segment_edges_never_drop_the_rest_of_a_priority(
    engine: QueueEngine,
) -> None:
    # The original library kept a count beside its segments; when they disagreed, a pop
    # dropped the whole priority. Here counts and segments move together, at every edge.
    expected: list[int] = []
    got: list[int] = []
    n = 0
    for pushes, pops in [(99, 98), (3, 4), (100, 100), (250, 1), (1, 251), (7, 0), (0, 7)]:
        if pushes:
            await engine.push([PushEntry({"i": n + i}, 4) for i in range(pushes)])
            expected.extend(range(n, n + pushes))
            n += pushes
        while pops:
            batch = await engine.pop(min(pops, 1000))
            got.extend(m.item["i"] for m in batch)
            pops -= len(batch)
            if not batch:
                break
        assert (await engine.stats()).ready == len(expected) - len(got)
    assert got == expected


async def test_empty_queue_pops_an_empty_list(engine: QueueEngine) -> None:
    assert await engine.pop() == []


async def test_items_round_trip_exactly(make_store: Callable[[], StateStore]) -> None:
    item = {
        "date": "2024-01-01",
        "datetime": "2024-01-01T10:00:00Z",
        "duration": "5m",
        "iso_duration": "P1DT2H",
        "big": 2**64 + 1,
        "neg": -(2**63),
        "float": 0.1,
        "tiny": 5e-324,
        "unicode": "héllo ✓ 日本 \U0001f600",
        "nested": {"a": [1, {"b": [None, True, False, 1.5]}]},
        "empty": {},
    }
    writer = QueueEngine(make_store())
    await writer.push([PushEntry(item)])
    # A fresh engine reads it from the store, not from the writer's cache.
    (got,) = await QueueEngine(make_store()).pop()
    assert got.item == item
    assert type(got.item["big"]) is int


async def test_a_batch_keeps_its_order_within_a_priority(engine: QueueEngine) -> None:
    await engine.push([PushEntry({"i": i}, i % 2) for i in range(10)])
    assert [m.item["i"] for m in await engine.pop(10)] == [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]


async def test_state_survives_a_new_engine_on_the_same_store(
    make_store: Callable[[], StateStore], clock: Clock
) -> None:
    first = QueueEngine(make_store(), clock=clock)
    await first.push([PushEntry({"i": i}, i % 3) for i in range(250)])
    await first.pop(7)
    second = QueueEngine(make_store(), clock=clock)
    rest = await second.pop(1000)
    assert len(rest) == 243
    assert [m.priority for m in rest] == sorted(m.priority for m in rest)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("priority", [True, False, -1, 2**31, 1.0, "1", None])
async def test_bad_priority_is_refused_and_changes_nothing(
    engine: QueueEngine, priority: Any
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        await engine.push([PushEntry({"a": 1}), PushEntry({"b": 1}, priority)])
    assert info.value.field == "items[1].priority"
    assert (await engine.stats()).ready == 0


@pytest.mark.parametrize("item", [[1], "x", 1, None, {"nan": float("nan")}])
async def test_item_must_be_a_json_object(engine: QueueEngine, item: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        await engine.push([PushEntry(item)])


async def test_batch_of_1001_items_is_refused(engine: QueueEngine) -> None:
    with pytest.raises(InvalidArgumentError):
        await engine.push([PushEntry({"i": i}) for i in range(1001)])


async def test_oversize_item_is_refused_whole_batch(engine: QueueEngine) -> None:
    await engine.set_config(max_item_bytes=100)
    with pytest.raises(ItemTooLargeError) as info:
        await engine.push([PushEntry({"a": 1}), PushEntry({"x": "y" * 200})])
    assert info.value.field == "items[1].item"
    assert (await engine.stats()).ready == 0


@pytest.mark.parametrize("count", [0, 1001, True, 1.5, "2"])
async def test_bad_count_is_refused(engine: QueueEngine, count: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        await engine.pop(count)


@pytest.mark.parametrize("ttl", [0, 43_201, True, 2.5])
async def test_bad_ttl_is_refused(engine: QueueEngine, ttl: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        await engine.lease(1, ttl)


def test_queue_ids_follow_the_naming_rule() -> None:
    check = push_pop_core.check_queue_id
    for good in ["a", "A9", "orders.eu-1:high_prio", "x" * 200]:
        assert check(good) == good
    for bad in ["", "-a", ".a", "a b", "a/b", "x" * 201, "é", 5]:
        with pytest.raises(InvalidArgumentError):
            check(bad)


# ---------------------------------------------------------------- leases


async def test_lease_hides_messages_until_acknowledged(engine: QueueEngine) -> None:
    await push(engine, ({"a": 1}, 0), ({"b": 2}, 0))
    (lease,) = await engine.lease(1, 30)
    assert lease.lock_id and lease.deliveries == 1
    assert items(await engine.peek(5)) == [{"b": 2}]
    assert await engine.acknowledge([lease.lock_id]) == 1
    assert items(await engine.pop(5)) == [{"b": 2}]
    stats = await engine.stats()
    assert (stats.in_flight, stats.totals.acknowledged) == (0, 1)


async def test_expired_lease_returns_to_front(engine: QueueEngine, clock: Clock) -> None:
    await push(engine, ({"a": 1}, 0), ({"b": 2}, 0))
    await engine.lease(1, 10)
    await push(engine, ({"c": 3}, 0))
    clock.now += 11
    got = await engine.pop(3)
    assert items(got) == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert got[0].deliveries == 2
    assert (await engine.stats()).totals.expired == 1


async def test_returned_messages_keep_their_original_order(engine: QueueEngine) -> None:
    await push(engine, ({"a": 1}, 0), ({"b": 2}, 0), ({"c": 3}, 0))
    first = await engine.lease(1, 30)
    await engine.pop(1)  # b leaves for good
    third = await engine.lease(1, 30)
    assert first[0].lock_id and third[0].lock_id
    await engine.nack(third[0].lock_id)
    await engine.nack(first[0].lock_id)
    await push(engine, ({"d": 4}, 0))
    assert items(await engine.pop(5)) == [{"a": 1}, {"c": 3}, {"d": 4}]


async def test_acknowledge_after_expiry_fails_and_message_is_not_lost(
    engine: QueueEngine, clock: Clock
) -> None:
    await push(engine, ({"a": 1}, 0))
    (lease,) = await engine.lease(1, 5)
    assert lease.lock_id
    clock.now += 6
    with pytest.raises(LockExpiredError):
        await engine.acknowledge([lease.lock_id])
    assert items(await engine.pop()) == [{"a": 1}]


async def test_last_item_popped_with_ack_does_not_come_back_after_next_push(
    engine: QueueEngine,
) -> None:
    await push(engine, ({"a": 1}, 3))
    (lease,) = await engine.lease(1, 30)
    assert lease.lock_id
    await engine.acknowledge([lease.lock_id])
    await push(engine, ({"b": 2}, 3))
    assert items(await engine.pop(5)) == [{"b": 2}]


async def test_unknown_lock_is_not_found(engine: QueueEngine) -> None:
    with pytest.raises(LockNotFoundError):
        await engine.acknowledge(["nope"])


async def test_acknowledge_of_a_list_is_all_or_nothing(engine: QueueEngine) -> None:
    await push(engine, ({"a": 1}, 0))
    (lease,) = await engine.lease(1, 30)
    assert lease.lock_id
    with pytest.raises(LockNotFoundError):
        await engine.acknowledge([lease.lock_id, "nope"])
    assert (await engine.stats()).in_flight == 1
    assert await engine.acknowledge([lease.lock_id]) == 1


async def test_nack_with_priority_moves_to_front_of_that_priority(engine: QueueEngine) -> None:
    await push(engine, ({"a": 1}, 5), ({"b": 2}, 1))
    (lease,) = await engine.lease(1, 30)  # b, priority 1
    assert lease.lock_id
    await engine.nack(lease.lock_id, priority=9)
    got = await engine.pop(2)
    assert [(m.item, m.priority) for m in got] == [({"a": 1}, 5), ({"b": 2}, 9)]


async def test_extend_lock_keeps_the_lease_past_its_first_expiry(
    engine: QueueEngine, clock: Clock
) -> None:
    await push(engine, ({"a": 1}, 0))
    (lease,) = await engine.lease(1, 10)
    assert lease.lock_id
    clock.now += 8
    expires = await engine.extend_lock(lease.lock_id, 10)
    assert expires == clock.now + 10
    clock.now += 8
    assert await engine.pop() == []
    assert await engine.acknowledge([lease.lock_id]) == 1


async def test_competing_consumers_hold_independent_leases(engine: QueueEngine) -> None:
    await push(engine, ({"a": 1}, 0), ({"b": 2}, 0))
    one, two = await engine.lease(1, 30), await engine.lease(1, 30)
    assert items(one + two) == [{"a": 1}, {"b": 2}]
    assert (await engine.stats()).in_flight == 2


async def test_exclusive_lease_locks_the_queue(engine: QueueEngine, clock: Clock) -> None:
    await push(engine, ({"a": 1}, 0), ({"b": 2}, 0))
    (lease,) = await engine.lease(1, 30, exclusive=True)
    with pytest.raises(QueueLockedError) as info:
        await engine.pop()
    assert info.value.lock_expires_at == clock.now + 30
    with pytest.raises(QueueLockedError):
        await engine.lease(1, 30)
    assert lease.lock_id
    await engine.acknowledge([lease.lock_id])
    assert items(await engine.pop()) == [{"b": 2}]


async def test_exclusive_lease_needs_no_outstanding_lease(engine: QueueEngine) -> None:
    await push(engine, ({"a": 1}, 0), ({"b": 2}, 0))
    await engine.lease(1, 30)
    with pytest.raises(QueueLockedError):
        await engine.lease(1, 30, exclusive=True)


async def test_exclusive_lock_ends_when_its_lease_expires(
    engine: QueueEngine, clock: Clock
) -> None:
    await push(engine, ({"a": 1}, 0))
    await engine.lease(1, 5, exclusive=True)
    clock.now += 6
    assert items(await engine.pop()) == [{"a": 1}]


# ---------------------------------------------------------------- dead letters


async def test_message_over_max_deliveries_goes_to_dead_letters(
    engine: QueueEngine, clock: Clock
) -> None:
    await engine.set_config(max_deliveries=2)
    await push(engine, ({"a": 1}, 4))
    for _ in range(2):
        assert await engine.lease(1, 5)
        clock.now += 6
    assert await engine.pop() == []
    (dead,) = await engine.dead_letters()
    assert (dead.item, dead.priority, dead.deliveries) == ({"a": 1}, 4, 2)
    assert dead.dead_letter_reason == "max_deliveries"


async def test_dead_letter_then_redrive_to_another_priority(engine: QueueEngine) -> None:
    await push(engine, ({"a": 1}, 2))
    (lease,) = await engine.lease(1, 30)
    assert lease.lock_id
    await engine.dead_letter(lease.lock_id)
    assert [m.dead_letter_reason for m in await engine.dead_letters()] == ["consumer"]
    assert await engine.redrive(priority=0) == 1
    (again,) = await engine.pop()
    assert (again.id, again.priority, again.deliveries) == (lease.id, 0, 1)
    assert (await engine.stats()).dead_letters == 0


async def test_purge_dead_letters(engine: QueueEngine) -> None:
    await push(engine, ({"a": 1}, 0))
    (lease,) = await engine.lease(1, 30)
    assert lease.lock_id
    await engine.dead_letter(lease.lock_id)
    assert await engine.purge_dead_letters() == 1
    assert await engine.dead_letters() == []


# ---------------------------------------------------------------- idempotency


async def test_duplicate_idempotency_key_returns_the_original_id(engine: QueueEngine) -> None:
    first = await engine.push([PushEntry({"a": 1}, idempotency_key="k")])
    again = await engine.push([PushEntry({"a": 2}, idempotency_key="k")])
    assert again.ids == first.ids and again.duplicates == 1 and again.pushed == 0
    assert (await engine.stats()).ready == 1


async def test_idempotency_key_expires_after_the_window(engine: QueueEngine, clock: Clock) -> None:
    await engine.set_config(dedup_window_seconds=60)
    await engine.push([PushEntry({"a": 1}, idempotency_key="k")])
    clock.now += 61
    again = await engine.push([PushEntry({"a": 1}, idempotency_key="k")])
    assert again.pushed == 1


async def test_duplicate_keys_inside_one_batch_enqueue_once(engine: QueueEngine) -> None:
    result = await engine.push(
        [PushEntry({"a": 1}, idempotency_key="k"), PushEntry({"a": 1}, idempotency_key="k")]
    )
    assert result.ids[0] == result.ids[1] and result.pushed == 1


# ---------------------------------------------------------------- limits, purge, stats


async def test_max_length_refuses_the_whole_batch(engine: QueueEngine) -> None:
    await engine.set_config(max_length=3)
    await push(engine, ({"a": 1}, 0), ({"a": 2}, 0))
    with pytest.raises(QueueFullError):
        await push(engine, ({"a": 3}, 0), ({"a": 4}, 0))
    assert (await engine.stats()).ready == 2


async def test_purge_one_priority_keeps_the_others(engine: QueueEngine) -> None:
    await push(engine, ({"a": 1}, 0), ({"b": 2}, 1), ({"c": 3}, 1))
    assert await engine.purge(1) == 2
    assert items(await engine.pop(5)) == [{"a": 1}]


async def test_purge_all_drops_leases_and_dead_letters(engine: QueueEngine) -> None:
    await push(engine, ({"a": 1}, 0), ({"b": 2}, 0), ({"c": 3}, 0))
    leases = await engine.lease(2, 30)
    assert leases[0].lock_id and leases[1].lock_id
    await engine.dead_letter(leases[0].lock_id)
    assert await engine.purge() == 3
    stats = await engine.stats()
    assert (stats.ready, stats.in_flight, stats.dead_letters) == (0, 0, 0)
    with pytest.raises(LockNotFoundError):
        await engine.acknowledge([leases[1].lock_id])


async def test_delete_removes_every_key(make_store: Callable[[], StateStore]) -> None:
    store = make_store()
    engine = QueueEngine(store)
    await engine.set_config(max_length=10)
    await engine.push([PushEntry({"i": i}, i % 3, f"k{i}") for i in range(9)])
    await engine.lease(2, 30)
    assert await engine.delete() == 9
    if isinstance(store, MemoryStore):
        assert store.data == {}
    assert (await engine.get_config()).max_length is None


async def test_stats_report_counts_ages_and_totals(engine: QueueEngine, clock: Clock) -> None:
    await push(engine, ({"a": 1}, 0))
    clock.now += 10
    await push(engine, ({"b": 2}, 0), ({"c": 3}, 7))
    await engine.pop()
    stats = await engine.stats()
    assert stats.ready == 2
    assert [(p.priority, p.ready, p.oldest_age_seconds) for p in stats.priorities] == [
        (0, 1, 0.0),
        (7, 1, 0.0),
    ]
    assert (stats.totals.pushed, stats.totals.popped) == (3, 1)


async def test_peek_of_one_priority(engine: QueueEngine) -> None:
    await push(engine, ({"a": 1}, 0), ({"b": 2}, 1))
    assert items(await engine.peek(5, priority=1)) == [{"b": 2}]
    assert (await engine.stats()).ready == 2


async def test_unknown_config_setting_is_refused(engine: QueueEngine) -> None:
    with pytest.raises(InvalidArgumentError):
        await engine.set_config(max_lenght=3)


# ---------------------------------------------------------------- failure atomicity


class FailingStore(MemoryStore):
    fail_next_commit = False

    async def _apply(self, changes: Any) -> None:
        if self.fail_next_commit:
            self.fail_next_commit = False
            raise OSError("disk on fire")
        await super()._apply(changes)


async def test_a_failed_commit_changes_nothing_and_is_not_swallowed() -> None:
    store = FailingStore()
    engine = QueueEngine(store)
    await engine.push([PushEntry({"a": 1})])
    store.fail_next_commit = True
    with pytest.raises(OSError):
        await engine.pop()
    # The failed pop's staged changes never reach a later commit.
    await engine.push([PushEntry({"b": 2})])
    assert items(await engine.pop(5)) == [{"a": 1}, {"b": 2}]


async def test_operations_on_one_queue_run_one_at_a_time(engine: QueueEngine) -> None:
    await engine.push([PushEntry({"i": i}) for i in range(200)])
    batches = await asyncio.gather(*(engine.pop(7) for _ in range(40)))
    got = [m.item["i"] for batch in batches for m in batch]
    assert sorted(got) == list(range(200)) and len(got) == 200


# ---------------------------------------------------------------- wire operations


async def test_execute_speaks_the_wire_shapes(engine: QueueEngine) -> None:
    pushed = await execute(engine, "push", {"item": {"task": "hello"}, "priority": 0})
    assert pushed == {"success": True, "items_pushed": 1, "duplicates": 0, "ids": ["1"]}
    leased = await execute(engine, "lease", {"count": 1, "ttl_seconds": 30})
    (message,) = leased["items"]
    assert message["item"] == {"task": "hello"} and "lock_id" in message
    acked = await execute(engine, "acknowledge", {"lock_id": message["lock_id"]})
    assert acked == {"success": True, "items_acknowledged": 1}


async def test_execute_refuses_unknown_fields(engine: QueueEngine) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        await execute(engine, "push", {"item": {}, "priorty": 1})
    assert info.value.field == "priorty"


async def test_error_bodies_round_trip() -> None:
    err = QueueLockedError(12.5)
    again = push_pop_core.error_from_body(err.to_body())
    assert isinstance(again, QueueLockedError) and again.lock_expires_at == 12.5
    assert again.status == 423


async def test_on_commit_reports_counter_growth_including_expiries(clock: Clock) -> None:
    seen: list[tuple[str, push_pop_core.Totals]] = []
    engine = QueueEngine(
        MemoryStore(), queue_id="q", clock=clock, on_commit=lambda q, t: seen.append((q, t))
    )
    await engine.push([PushEntry({"a": 1}), PushEntry({"b": 2})])
    await engine.lease(1, 5)
    clock.now += 6
    await engine.pop(2)
    assert [t for _, t in seen] == [
        push_pop_core.Totals(pushed=2),
        push_pop_core.Totals(popped=1),
        push_pop_core.Totals(popped=2, expired=1),
    ]
    assert {q for q, _ in seen} == {"q"}


@pytest.mark.parametrize("field", ["item", "idempotency_key"])
async def test_lone_surrogates_are_refused_as_bad_input(engine: QueueEngine, field: str) -> None:
    payload: dict[str, Any] = {"item": {"a": 1}}
    if field == "item":
        payload["item"] = {"a": "\ud800"}
    else:
        payload["idempotency_key"] = "k\ud800"
    with pytest.raises(InvalidArgumentError):
        await execute(engine, "push", payload)


async def test_closing_a_database_that_never_opened_touches_nothing(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "never" / "q.db")
    await db.close()
    assert not (tmp_path / "never").exists()


async def test_a_database_in_the_first_layout_is_migrated(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE push_pop_state (queue_id TEXT NOT NULL, key TEXT NOT NULL, "
        "value BLOB NOT NULL, PRIMARY KEY (queue_id, key)) WITHOUT ROWID"
    )
    memory = MemoryStore()
    await QueueEngine(memory).push([PushEntry({"kept": True}, 2)])
    old.executemany("INSERT INTO push_pop_state VALUES ('q', ?, ?)", list(memory.data.items()))
    old.commit()
    old.close()
    db = SqliteDatabase(path)
    (message,) = await QueueEngine(db.store("q")).pop()
    assert message.item == {"kept": True} and message.priority == 2
    await db.close()


async def test_queue_host_keeps_one_engine_per_queue_and_drops_only_idle_ones() -> None:
    db = push_pop_core.MemoryDatabase()
    host = push_pop_core.QueueHost(db.store, max_engines=2)
    first = host.engine("a")
    assert host.engine("a") is first
    first.busy += 1  # as during an operation
    host.engine("b")
    host.engine("c")
    assert host.engine("a") is first  # busy: never dropped, so never duplicated
    first.busy -= 1
    host.engine("d")
    host.engine("e")
    assert len(host) == 2
    with pytest.raises(InvalidArgumentError):
        host.engine("bad id")
