"""The consumer helper against the real server app: ack, nack, lease extension, stopping."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
from push_pop_client import (
    AsyncPushPopClient,
    AsyncQueue,
    AuthenticationError,
    Message,
    PushPopClient,
)


async def consume_until(
    queue: AsyncQueue, count: int, handler: Any, within: float = 10, **options: Any
) -> list[Message]:
    """Run ``queue.consume`` until ``handler`` has completed ``count`` times."""
    seen: list[Message] = []
    stop = asyncio.Event()

    async def counting(message: Message) -> None:
        await handler(message)
        seen.append(message)
        if len(seen) >= count:
            stop.set()

    options = {"wait_seconds": 1, **options}
    await asyncio.wait_for(queue.consume(counting, stop=stop, **options), within)
    return seen


async def nothing(message: Message) -> None:
    return None


async def test_handled_messages_are_acknowledged(client: AsyncPushPopClient) -> None:
    queue = client.queue("consume-ack")
    await queue.push_many({"n": n} for n in range(5))
    seen = await consume_until(queue, 5, nothing, batch=2)
    assert [m.item["n"] for m in seen] == [0, 1, 2, 3, 4]
    stats = await queue.stats()
    assert (stats.ready, stats.in_flight, stats.totals.acknowledged) == (0, 0, 5)


async def test_a_failing_handler_is_nacked_and_redelivered_at_once(
    client: AsyncPushPopClient,
) -> None:
    queue = client.queue("consume-nack")
    await queue.push({"flaky": True})
    attempts: list[int] = []

    async def fail_first(message: Message) -> None:
        attempts.append(message.deliveries)
        if message.deliveries == 1:
            raise RuntimeError("first delivery fails")

    started = time.monotonic()
    [done] = await consume_until(queue, 1, fail_first, ttl_seconds=30)
    assert attempts == [1, 2] and done.deliveries == 2
    assert time.monotonic() - started < 10  # nacked, not left to expire after 30 s
    stats = await queue.stats()
    assert (stats.ready, stats.in_flight, stats.totals.acknowledged) == (0, 0, 1)


async def test_a_failing_handler_ends_in_the_dead_letters_after_max_deliveries(
    client: AsyncPushPopClient,
) -> None:
    queue = client.queue("consume-poison")
    await queue.set_config(max_deliveries=2)
    await queue.push({"poison": True})
    calls: list[int] = []
    dead_lettered = asyncio.Event()

    async def always_fail(message: Message) -> None:
        calls.append(message.deliveries)
        if message.deliveries == 2:
            dead_lettered.set()  # this nack is the one that buries it
        raise ValueError("poison")

    task = asyncio.create_task(queue.consume(always_fail, wait_seconds=1))
    await asyncio.wait_for(dead_lettered.wait(), 5)
    await asyncio.sleep(0.5)  # time for the nack, and for a wrongful third delivery
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls == [1, 2]  # SPEC §2: back with deliveries >= max_deliveries: dead-lettered
    [dead] = await queue.dead_letters()
    assert dead.dead_letter_reason == "max_deliveries"


async def test_a_slow_handler_keeps_its_lease_and_is_not_redelivered(
    client: AsyncPushPopClient,
) -> None:
    queue = client.queue("consume-slow")
    await queue.push({"slow": True})
    deliveries: list[int] = []

    async def slow(message: Message) -> None:
        deliveries.append(message.deliveries)
        await asyncio.sleep(3.5)  # well past the 2 s lease
        assert await queue.lease(wait_seconds=0) == []  # still held, nobody else gets it

    await consume_until(queue, 1, slow, ttl_seconds=2, within=15)
    assert deliveries == [1]
    stats = await queue.stats()
    assert (stats.totals.acknowledged, stats.totals.expired) == (1, 0)


async def test_concurrency_bounds_the_handlers_running_at_once(
    client: AsyncPushPopClient,
) -> None:
    queue = client.queue("consume-concurrency")
    await queue.push_many({"n": n} for n in range(12))
    running = 0
    most = 0

    async def busy(message: Message) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1

    await consume_until(queue, 12, busy, concurrency=3, batch=5)
    assert most == 3
    assert (await queue.stats()).totals.acknowledged == 12


async def test_cancelling_the_consumer_returns_every_unfinished_message_at_once(
    client: AsyncPushPopClient,
) -> None:
    queue = client.queue("consume-cancel")
    await queue.push_many({"n": n} for n in range(10))
    started = asyncio.Event()
    begun: list[Message] = []

    async def hang(message: Message) -> None:
        begun.append(message)
        if len(begun) == 2:
            started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(queue.consume(hang, batch=10, concurrency=2, ttl_seconds=300))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stats = await queue.stats()  # no lease left to expire: all ten are ready again
    assert (stats.ready, stats.in_flight) == (10, 0)
    assert [m.item["n"] for m in await queue.peek(10)] == list(range(10))


async def test_stop_nacks_unstarted_messages_and_lets_running_ones_finish(
    client: AsyncPushPopClient,
) -> None:
    queue = client.queue("consume-stop")
    await queue.push_many({"n": n} for n in range(5))
    stop = asyncio.Event()
    finished: list[int] = []

    async def first_then_stop(message: Message) -> None:
        stop.set()
        await asyncio.sleep(0.2)  # still finishes after stop
        finished.append(message.item["n"])

    await asyncio.wait_for(
        queue.consume(first_then_stop, batch=5, stop=stop, wait_seconds=1, ttl_seconds=300), 10
    )
    assert finished == [0]
    stats = await queue.stats()
    assert (stats.ready, stats.in_flight, stats.totals.acknowledged) == (4, 0, 1)


async def test_a_stop_set_before_starting_returns_at_once(client: AsyncPushPopClient) -> None:
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(client.queue("consume-noop").consume(nothing, stop=stop), 2)


async def test_an_idle_consumer_long_polls_and_picks_up_new_messages(
    client: AsyncPushPopClient,
) -> None:
    queue = client.queue("consume-idle")
    consumer = asyncio.create_task(consume_until(queue, 1, nothing, wait_seconds=5))
    await asyncio.sleep(0.5)
    await queue.push({"late": True})
    [message] = await asyncio.wait_for(consumer, 5)
    assert message.item == {"late": True}


async def test_a_wrong_token_stops_the_consumer_with_the_error(
    secured_app: Any,
) -> None:
    transport = httpx.ASGITransport(app=secured_app)
    async with AsyncPushPopClient("http://t", token="wrong", transport=transport) as client:
        with pytest.raises(AuthenticationError):
            await asyncio.wait_for(client.queue("q").consume(nothing), 5)


def test_the_blocking_consumer_acks_and_nacks(running_server: Any) -> None:
    with PushPopClient(running_server.url) as client:
        queue = client.queue("consume-blocking")
        queue.push_many({"n": n} for n in range(3))
        stop = threading.Event()
        handled: list[tuple[int, int]] = []

        def handler(message: Message) -> None:
            handled.append((message.item["n"], message.deliveries))
            if message.item["n"] == 1 and message.deliveries == 1:
                raise RuntimeError("retry me")
            if len(handled) == 4:
                stop.set()

        queue.consume(handler, wait_seconds=1, batch=2, stop=stop)
        assert sorted(handled) == [(0, 1), (1, 1), (1, 2), (2, 1)]
        stats = queue.stats()
        assert (stats.ready, stats.in_flight, stats.totals.acknowledged) == (0, 0, 3)


def test_the_blocking_consumer_extends_a_slow_handlers_lease(running_server: Any) -> None:
    with PushPopClient(running_server.url) as client:
        queue = client.queue("consume-blocking-slow")
        queue.push({"slow": True})
        stop = threading.Event()

        def slow(message: Message) -> None:
            time.sleep(3.5)
            stop.set()

        queue.consume(slow, ttl_seconds=2, wait_seconds=1, stop=stop)
        stats = queue.stats()
        assert (stats.totals.acknowledged, stats.totals.expired, stats.ready) == (1, 0, 0)
