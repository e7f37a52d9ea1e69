"""The client against the real server app in-process: every call and every error it can meet."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from push_pop_client import (
    AsyncPushPopClient,
    AuthenticationError,
    BadRequestError,
    LockExpiredError,
    LockNotFoundError,
    NotFoundError,
    PushEntry,
    PushPopClient,
    QueueFullError,
    QueueLockedError,
    TooLargeError,
)

FIDELITY_ITEM = {
    "date": "2024-01-01",
    "duration": "5m",
    "big": 2**63 + 1,
    "float": 0.1,
    "unicode": "żółw 🐢",
    "nested": {"list": [1, {"deep": None}], "empty": {}},
}


async def test_a_pushed_item_pops_back_equal(client: AsyncPushPopClient) -> None:
    queue = client.queue("fidelity")
    message_id = await queue.push(FIDELITY_ITEM)
    [message] = await queue.pop()
    assert (message.id, message.item) == (message_id, FIDELITY_ITEM)
    assert message.lock_id is None and message.enqueued_at > 0


async def test_pop_drains_priority_0_first_then_fifo(client: AsyncPushPopClient) -> None:
    queue = client.queue("order")
    await queue.push({"n": 1}, priority=1)
    await queue.push({"n": 2}, priority=0)
    await queue.push_many([PushEntry({"n": 3}, priority=1), {"n": 4}])
    popped = await queue.pop(count=10)
    assert [m.item["n"] for m in popped] == [2, 4, 1, 3]
    assert [m.priority for m in popped] == [0, 0, 1, 1]


async def test_queue_ids_with_every_allowed_character_work(client: AsyncPushPopClient) -> None:
    queue = client.queue("Tenant-1:orders.v2_eu")
    await queue.push({"n": 1})
    assert (await queue.stats()).queue_id == "Tenant-1:orders.v2_eu"
    assert [m.item for m in await queue.pop()] == [{"n": 1}]


async def test_pop_of_an_empty_queue_is_an_empty_list(client: AsyncPushPopClient) -> None:
    assert await client.queue("empty").pop(count=5) == []


async def test_a_repeated_idempotency_key_returns_the_original_id(
    client: AsyncPushPopClient,
) -> None:
    queue = client.queue("dedup")
    first = await queue.push({"a": 1}, idempotency_key="k")
    again = await queue.push({"a": 1}, idempotency_key="k")
    result = await queue.push_many([PushEntry({"a": 1}, idempotency_key="k")])
    assert first == again == result.ids[0]
    assert (result.pushed, result.duplicates) == (0, 1)
    assert (await queue.stats()).ready == 1


async def test_push_many_of_2500_keeps_their_order(client: AsyncPushPopClient) -> None:
    queue = client.queue("bulk")
    result = await queue.push_many({"n": n} for n in range(2500))
    assert result.pushed == 2500 and len(set(result.ids)) == 2500
    popped = await queue.pop(count=1000)
    assert [m.item["n"] for m in popped] == list(range(1000))
    assert [m.id for m in popped] == list(result.ids[:1000])


async def test_lease_then_ack_removes_the_message(client: AsyncPushPopClient) -> None:
    queue = client.queue("lease-ack")
    await queue.push_many([{"n": 1}, {"n": 2}])
    leased = await queue.lease(count=2, ttl_seconds=30)
    assert all(m.lock_id and m.lock_expires_at and m.deliveries == 1 for m in leased)
    assert (await queue.stats()).in_flight == 2
    assert await queue.ack([m.lock_id for m in leased if m.lock_id]) == 2
    stats = await queue.stats()
    assert (stats.ready, stats.in_flight, stats.totals.acknowledged) == (0, 0, 2)


async def test_nack_returns_the_message_to_the_front(client: AsyncPushPopClient) -> None:
    queue = client.queue("nack")
    await queue.push_many([{"n": 1}, {"n": 2}])
    [first] = await queue.lease()
    assert first.lock_id is not None
    await queue.nack(first.lock_id)
    [again] = await queue.lease()
    assert again.item == {"n": 1} and again.deliveries == 2


async def test_nack_with_a_priority_moves_the_message(client: AsyncPushPopClient) -> None:
    queue = client.queue("nack-priority")
    await queue.push({"n": 1}, priority=0)
    [message] = await queue.lease()
    assert message.lock_id is not None
    await queue.nack(message.lock_id, priority=7)
    [peeked] = await queue.peek()
    assert peeked.priority == 7


async def test_extend_moves_the_expiry_forward(client: AsyncPushPopClient) -> None:
    queue = client.queue("extend")
    await queue.push({})
    [message] = await queue.lease(ttl_seconds=5)
    assert message.lock_id and message.lock_expires_at
    expires = await queue.extend(message.lock_id, 600)
    assert expires > message.lock_expires_at + 500


async def test_dead_letter_redrive_and_purge(client: AsyncPushPopClient) -> None:
    queue = client.queue("dead")
    await queue.push_many([{"n": 1}, {"n": 2}, {"n": 3}])
    for message in await queue.lease(count=3):
        assert message.lock_id is not None
        await queue.dead_letter(message.lock_id)
    dead = await queue.dead_letters()
    assert [m.item["n"] for m in dead] == [1, 2, 3]
    assert {m.dead_letter_reason for m in dead} == {"consumer"}
    assert await queue.redrive(count=1, priority=4) == 1
    assert [(m.item, m.priority) for m in await queue.peek(5)] == [({"n": 1}, 4)]
    assert await queue.purge_dead_letters() == 2
    assert await queue.dead_letters() == []


async def test_max_deliveries_sends_a_message_to_the_dead_letters(
    client: AsyncPushPopClient,
) -> None:
    queue = client.queue("max-deliveries")
    config = await queue.set_config(max_deliveries=1)
    assert config.max_deliveries == 1
    await queue.push({"poison": True})
    [message] = await queue.lease()
    assert message.lock_id is not None
    await queue.nack(message.lock_id)
    [dead] = await queue.dead_letters()
    assert dead.dead_letter_reason == "max_deliveries" and dead.dead_lettered_at


async def test_peek_leaves_messages_in_place(client: AsyncPushPopClient) -> None:
    queue = client.queue("peek")
    await queue.push({"p": 2}, priority=2)
    await queue.push({"p": 0}, priority=0)
    assert [m.item for m in await queue.peek(count=5)] == [{"p": 0}, {"p": 2}]
    assert [m.item for m in await queue.peek(count=5, priority=2)] == [{"p": 2}]
    assert (await queue.stats()).ready == 2


async def test_stats_count_per_priority_and_lifetime(client: AsyncPushPopClient) -> None:
    queue = client.queue("stats")
    await queue.push_many([PushEntry({}, priority=0), PushEntry({}, priority=3)] * 2)
    await queue.pop()
    stats = await queue.stats()
    assert stats.queue_id == "stats"
    assert {(level.priority, level.ready) for level in stats.priorities} == {(0, 1), (3, 2)}
    assert (stats.totals.pushed, stats.totals.popped) == (4, 1)
    assert all(level.oldest_age_seconds is not None for level in stats.priorities)


async def test_purge_of_one_priority_keeps_the_others(client: AsyncPushPopClient) -> None:
    queue = client.queue("purge-priority")
    await queue.push_many([PushEntry({}, priority=0), PushEntry({}, priority=1)] * 3)
    assert await queue.purge(priority=1) == 3
    assert [level.priority for level in (await queue.stats()).priorities] == [0]


async def test_purge_of_the_whole_queue_drops_every_ready_message(
    client: AsyncPushPopClient,
) -> None:
    queue = client.queue("purge-all")
    await queue.push_many([PushEntry({}, priority=0), PushEntry({}, priority=1)] * 3)
    assert await queue.purge() == 6
    assert (await queue.stats()).ready == 0


async def test_delete_drops_ready_leased_and_dead_messages(client: AsyncPushPopClient) -> None:
    queue = client.queue("delete")
    await queue.push_many([{}, {}, {}])
    [_, dead] = await queue.lease(count=2)
    assert dead.lock_id is not None
    await queue.dead_letter(dead.lock_id)
    assert await queue.delete() == 3
    stats = await queue.stats()
    assert (stats.ready, stats.in_flight, stats.dead_letters) == (0, 0, 0)


async def test_config_round_trips(client: AsyncPushPopClient) -> None:
    queue = client.queue("config")
    before = await queue.get_config()
    after = await queue.set_config(max_length=50, dedup_window_seconds=60)
    assert (after.max_length, after.dedup_window_seconds) == (50, 60)
    assert after.max_item_bytes == before.max_item_bytes
    assert await queue.get_config() == after
    lifted = await queue.set_config(max_length=None)
    assert lifted.max_length is None


async def test_long_poll_answers_as_soon_as_a_message_arrives(
    client: AsyncPushPopClient,
) -> None:
    queue = client.queue("long-poll")
    waiting = asyncio.create_task(queue.pop(wait_seconds=10))
    await asyncio.sleep(0.2)
    started = asyncio.get_running_loop().time()
    await queue.push({"late": True})
    [message] = await asyncio.wait_for(waiting, 5)
    assert message.item == {"late": True}
    assert asyncio.get_running_loop().time() - started < 3


async def test_long_poll_returns_empty_after_the_wait(client: AsyncPushPopClient) -> None:
    assert await client.queue("long-empty").lease(wait_seconds=1) == []


# Errors ---------------------------------------------------------------------------------------


async def test_a_bool_priority_is_a_bad_request_naming_the_field(
    client: AsyncPushPopClient,
) -> None:
    with pytest.raises(BadRequestError) as caught:
        await client.queue("bad").push({}, priority=True)
    assert caught.value.status_code in (400, 422) and caught.value.field
    assert "priority" in caught.value.field


async def test_an_out_of_range_count_is_a_bad_request(client: AsyncPushPopClient) -> None:
    with pytest.raises(BadRequestError):
        await client.queue("bad").pop(count=1001)


async def test_a_missing_token_is_an_authentication_error(secured_app: Any, api_token: str) -> None:
    transport = httpx.ASGITransport(app=secured_app)
    async with AsyncPushPopClient("http://t", transport=transport) as anonymous:
        with pytest.raises(AuthenticationError) as caught:
            await anonymous.queue("q").stats()
    assert (caught.value.status_code, caught.value.code) == (401, "UNAUTHORIZED")


async def test_the_right_token_is_let_in(secured_app: Any, api_token: str) -> None:
    transport = httpx.ASGITransport(app=secured_app)
    async with AsyncPushPopClient("http://t", token=api_token, transport=transport) as client:
        assert (await client.queue("q").stats()).ready == 0


async def test_an_unknown_lock_is_lock_not_found(client: AsyncPushPopClient) -> None:
    with pytest.raises(LockNotFoundError) as caught:
        await client.queue("locks").ack("no-such-lock")
    assert (caught.value.status_code, caught.value.code) == (404, "LOCK_NOT_FOUND")


async def test_a_wrong_base_path_is_not_found(server_app: Any) -> None:
    transport = httpx.ASGITransport(app=server_app)
    async with AsyncPushPopClient("http://t/not-here", transport=transport) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.queue("q").stats()
    assert caught.value.status_code == 404
    assert not isinstance(caught.value, LockNotFoundError)


async def test_acknowledging_an_expired_lease_is_lock_expired(
    client: AsyncPushPopClient,
) -> None:
    queue = client.queue("expiry")
    await queue.push({"n": 1})
    [message] = await queue.lease(ttl_seconds=1)
    assert message.lock_id is not None
    await asyncio.sleep(1.2)
    with pytest.raises(LockExpiredError) as caught:
        await queue.ack(message.lock_id)
    assert (caught.value.status_code, caught.value.code) == (410, "LOCK_EXPIRED")
    assert [m.item for m in await queue.peek()] == [{"n": 1}]


async def test_an_item_over_max_item_bytes_is_too_large(client: AsyncPushPopClient) -> None:
    queue = client.queue("small")
    await queue.set_config(max_item_bytes=100)
    with pytest.raises(TooLargeError) as caught:
        await queue.push({"blob": "x" * 200})
    assert caught.value.status_code == 413
    assert (await queue.stats()).ready == 0


async def test_an_exclusive_lease_locks_the_queue(client: AsyncPushPopClient) -> None:
    queue = client.queue("exclusive")
    await queue.push_many([{}, {}])
    [held] = await queue.lease(exclusive=True, ttl_seconds=30)
    with pytest.raises(QueueLockedError) as caught:
        await queue.pop()
    assert caught.value.status_code == 423 and caught.value.lock_expires_at
    assert held.lock_expires_at is not None
    assert abs(caught.value.lock_expires_at - held.lock_expires_at) < 1


async def test_a_full_queue_refuses_pushes(client: AsyncPushPopClient) -> None:
    queue = client.queue("full")
    await queue.set_config(max_length=1)
    await queue.push({})
    with pytest.raises(QueueFullError) as caught:
        await queue.push({})
    assert (caught.value.status_code, caught.value.code) == (429, "QUEUE_FULL")


def test_the_sync_client_speaks_to_the_running_server(running_server: Any) -> None:
    with PushPopClient(running_server.url) as client:
        queue = client.queue("sync")
        queue.push({"n": 1})
        [message] = queue.lease(ttl_seconds=10)
        assert message.lock_id is not None
        assert queue.ack(message.lock_id) == 1
        assert queue.stats().totals.acknowledged == 1
