"""wait_seconds holds a pop open until a message arrives, without ever losing one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from .conftest import AppFactory, asgi_client


@pytest.fixture
def slow_poll_app(make_app: AppFactory) -> FastAPI:
    """Re-checks only every 30 s: an early answer can only come from a wake-up."""
    return make_app(long_poll_interval=30)


@pytest.fixture
async def slow(slow_poll_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(slow_poll_app) as client:
        yield client


async def _after(delay: float, request: Any) -> httpx.Response:
    await asyncio.sleep(delay)
    response: httpx.Response = await request
    return response


async def test_waiting_pop_answers_as_soon_as_a_message_is_pushed(
    slow: httpx.AsyncClient,
) -> None:
    push = asyncio.create_task(_after(0.2, slow.post("/queue/q/push", json={"item": {"a": 1}})))
    started = time.monotonic()
    response = await slow.post("/queue/q/pop", params={"wait_seconds": 5})
    elapsed = time.monotonic() - started
    assert (await push).status_code == 200
    assert [m["item"] for m in response.json()["items"]] == [{"a": 1}]
    assert elapsed < 2.5, f"answered {elapsed:.2f}s into a 5 s wait"


async def test_waiting_lease_answers_with_its_lock(slow: httpx.AsyncClient) -> None:
    push = asyncio.create_task(_after(0.2, slow.post("/queue/q/push", json={"item": {"a": 1}})))
    response = await slow.post(
        "/queue/q/pop", params={"wait_seconds": 5, "require_ack": "true", "ttl_seconds": 60}
    )
    await push
    (message,) = response.json()["items"]
    assert message["lock_id"] and message["lock_expires_at"] > time.time() + 50


async def test_a_nack_wakes_a_waiting_pop(slow: httpx.AsyncClient) -> None:
    await slow.post("/queue/q/push", json={"item": {"a": 1}})
    (lease,) = (await slow.post("/queue/q/pop?require_ack=true")).json()["items"]
    nack = asyncio.create_task(
        _after(0.2, slow.post("/queue/q/nack", json={"lock_id": lease["lock_id"]}))
    )
    started = time.monotonic()
    response = await slow.post("/queue/q/pop", params={"wait_seconds": 5})
    await nack
    assert response.json()["items"][0]["deliveries"] == 2
    assert time.monotonic() - started < 2.5


async def test_a_redrive_wakes_a_waiting_pop(slow: httpx.AsyncClient) -> None:
    await slow.post("/queue/q/push", json={"item": {"a": 1}})
    (lease,) = (await slow.post("/queue/q/pop?require_ack=true")).json()["items"]
    await slow.post("/queue/q/deadletter", json={"lock_id": lease["lock_id"]})
    redrive = asyncio.create_task(_after(0.2, slow.post("/queue/q/dead-letters/redrive")))
    started = time.monotonic()
    response = await slow.post("/queue/q/pop", params={"wait_seconds": 5})
    await redrive
    assert response.json()["items"][0]["item"] == {"a": 1}
    assert time.monotonic() - started < 2.5


async def test_a_push_to_another_queue_does_not_answer(slow: httpx.AsyncClient) -> None:
    push = asyncio.create_task(_after(0.1, slow.post("/queue/other/push", json={"item": {}})))
    response = await slow.post("/queue/q/pop", params={"wait_seconds": 1})
    await push
    assert response.json() == {"items": []}


async def test_each_waiter_gets_its_own_messages(slow: httpx.AsyncClient) -> None:
    waiters = [
        asyncio.create_task(slow.post("/queue/q/pop", params={"wait_seconds": 5})) for _ in range(3)
    ]
    await asyncio.sleep(0.2)
    items = [{"item": {"n": n}} for n in range(3)]
    await slow.post("/queue/q/push", json={"items": items})
    answers = [(await w).json()["items"] for w in waiters]
    assert sorted(m["item"]["n"] for answer in answers for m in answer) == [0, 1, 2]


async def test_an_empty_wait_answers_an_empty_list_at_the_deadline(
    client: httpx.AsyncClient,
) -> None:
    started = time.monotonic()
    response = await client.post("/queue/q/pop", params={"wait_seconds": 1})
    assert response.status_code == 200
    assert response.json() == {"items": []}
    assert 0.95 <= time.monotonic() - started < 3


async def test_pushes_elsewhere_are_found_by_the_periodic_recheck(
    make_app: AppFactory,
) -> None:
    """A push the waiting instance never sees (here: straight into the backend) is still found."""
    app = make_app(long_poll_interval=0.2)
    async with asgi_client(app) as client:

        async def push_behind_its_back() -> None:
            await asyncio.sleep(0.3)
            await app.state.push_pop.backend.call("q", "push", {"item": {"a": 1}})

        task = asyncio.create_task(push_behind_its_back())
        started = time.monotonic()
        response = await client.post("/queue/q/pop", params={"wait_seconds": 10})
        await task
    assert response.json()["items"][0]["item"] == {"a": 1}
    assert time.monotonic() - started < 3


async def test_shutdown_answers_waiting_pops_at_once(
    slow_poll_app: FastAPI, slow: httpx.AsyncClient
) -> None:
    waiting = asyncio.create_task(slow.post("/queue/q/pop", params={"wait_seconds": 30}))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    slow_poll_app.state.push_pop.arrivals.drain()
    response = await waiting
    assert response.json() == {"items": []}
    assert time.monotonic() - started < 2


async def test_a_client_that_hangs_up_loses_no_message(slow_poll_app: FastAPI) -> None:
    """The pop happens only when answering: a disconnected waiter takes nothing."""
    disconnect = asyncio.Event()
    sent: list[MutableMapping[str, Any]] = []
    body_sent = False

    async def receive() -> dict[str, Any]:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/queue/q/pop",
        "raw_path": b"/queue/q/pop",
        "query_string": b"wait_seconds=20",
        "root_path": "",
        "headers": [],
        "client": ("127.0.0.1", 1234),
        "server": ("push-pop.test", 80),
    }
    poll = asyncio.create_task(slow_poll_app(scope, receive, send))
    await asyncio.sleep(0.2)
    disconnect.set()
    await asyncio.wait_for(poll, timeout=5)
    async with asgi_client(slow_poll_app) as client:
        await client.post("/queue/q/push", json={"item": {"kept": True}})
        await asyncio.sleep(0.1)
        stats = (await client.get("/queue/q/stats")).json()
    assert stats["ready"] == 1
    assert stats["totals"]["popped"] == 0


async def test_bad_parameters_answer_at_once_instead_of_waiting(
    client: httpx.AsyncClient,
) -> None:
    started = time.monotonic()
    response = await client.post("/queue/q/pop", params={"wait_seconds": 5, "count": 0})
    assert response.status_code == 400
    assert time.monotonic() - started < 1


async def test_a_locked_queue_answers_423_at_once(client: httpx.AsyncClient) -> None:
    await client.post("/queue/q/push", json={"items": [{"item": {}}, {"item": {}}]})
    await client.post("/queue/q/pop", params={"require_ack": "true", "exclusive": "true"})
    started = time.monotonic()
    response = await client.post("/queue/q/pop", params={"wait_seconds": 5})
    assert response.status_code == 423
    assert time.monotonic() - started < 1


async def test_waiting_pops_are_gauged(app: FastAPI, client: httpx.AsyncClient) -> None:
    waiting = asyncio.create_task(client.post("/queue/q/pop", params={"wait_seconds": 5}))
    await asyncio.sleep(0.2)
    during = (await client.get("/metrics")).text
    await client.post("/queue/q/push", json={"item": {}})
    await waiting
    after = (await client.get("/metrics")).text
    assert "push_pop_long_polls_waiting 1.0" in during
    assert "push_pop_long_polls_waiting 0.0" in after
