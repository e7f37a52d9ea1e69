"""The REST server in Dapr mode on a real local stack: the whole contract, across two instances.

One stack for the module: placement and two instances of ``python -m push_pop_server`` (Dapr
backend, chosen because ``DAPR_HTTP_PORT`` is set), each with its daprd, sharing the SQLite
actor state store. Every contract check pushes through instance 0 and consumes through
instance 1, so each queue's actor is reached through both sidecars. The REST routes need the
bearer token, daprd and the app authenticate each other (``APP_API_TOKEN``/``DAPR_API_TOKEN``),
and the actor routes refuse anyone but the sidecar.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from push_pop_actor.devstack import DevStack
from push_pop_server.contract import CHECKS, Target

StackFactory = Callable[..., DevStack]

REST_TOKEN = "rest-token-for-tests"
APP_TOKEN = "sidecar-to-app-token"
DAPR_TOKEN = "app-to-sidecar-token"
AUTH = {"Authorization": f"Bearer {REST_TOKEN}"}


@pytest.fixture(scope="module")
def stack(devstack_factory: StackFactory) -> DevStack:
    return devstack_factory(
        [sys.executable, "-m", "push_pop_server"],
        store="sqlite",
        instances=2,
        actor_types=["PushPopActor"],
        app_api_token=APP_TOKEN,
        dapr_api_token=DAPR_TOKEN,
        app_env={"PUSH_POP_API_TOKEN": REST_TOKEN, "PUSH_POP_LONG_POLL_INTERVAL": "0.5"},
    )


@pytest.fixture
async def clients(stack: DevStack) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    first, second = (
        httpx.AsyncClient(base_url=i.app_url, headers=AUTH, timeout=30, trust_env=False)
        for i in stack.instances
    )
    async with first, second:
        yield first, second


@pytest.mark.parametrize("name", sorted(CHECKS))
async def test_contract_across_two_instances(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], name: str
) -> None:
    producer, consumer = clients
    await CHECKS[name](Target(producer, consumer=consumer, prefix="dapr"))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/actors/PushPopActor/q-direct/method/Dispatch"),
        ("PUT", "/actors/PushPopActor/q-direct/method/Pop"),
        ("DELETE", "/actors/PushPopActor/q-direct"),
        ("GET", "/dapr/config"),
    ],
)
@pytest.mark.parametrize("token", [None, "wrong-token", REST_TOKEN])
async def test_actor_routes_refuse_callers_other_than_the_sidecar(
    stack: DevStack, method: str, path: str, token: str | None
) -> None:
    headers = {} if token is None else {"dapr-api-token": token}
    async with httpx.AsyncClient(base_url=stack.instances[0].app_url, trust_env=False) as client:
        response = await client.request(
            method, path, headers=headers, json={"op": "pop", "payload": {}}
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


async def test_a_direct_actor_call_changed_nothing(
    stack: DevStack, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    producer, consumer = clients
    await producer.post("/queue/q-direct-2/push", json={"item": {"n": 1}})
    async with httpx.AsyncClient(base_url=stack.instances[1].app_url, trust_env=False) as raw:
        await raw.put(
            "/actors/PushPopActor/q-direct-2/method/Dispatch", json={"op": "pop", "payload": {}}
        )
    stats = (await consumer.get("/queue/q-direct-2/stats")).json()
    assert stats["ready"] == 1


async def test_queue_routes_need_the_bearer_token(stack: DevStack) -> None:
    async with httpx.AsyncClient(base_url=stack.instances[0].app_url, trust_env=False) as client:
        refused = await client.post("/queue/q/push", json={"item": {}})
        health = await client.get("/health")
    assert refused.status_code == 401
    assert health.json() == {"status": "ok"}


async def test_both_instances_are_ready(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    for client in clients:
        response = await client.get("/ready")
        assert response.status_code == 200, response.text


async def test_metrics_name_the_dapr_backend(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    producer, _ = clients
    await producer.post("/queue/q-metrics/push", json={"item": {}})
    text = (await producer.get("/metrics")).text
    assert 'backend="dapr",operation="push",outcome="OK"' in text


async def test_the_public_schema_hides_the_sidecar_routes(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    producer, _ = clients
    paths = (await producer.get("/openapi.json")).json()["paths"]
    assert "/queue/{queue_id}/push" in paths
    assert not [p for p in paths if p.startswith(("/actors", "/dapr"))]


async def test_a_missing_sidecar_is_503_and_recovers(
    stack: DevStack, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    """Runs last: it stops instance 1's daprd, then starts it again."""
    producer, consumer = clients
    await producer.post("/queue/q-outage/push", json={"item": {"kept": True}})
    stack.stop_instance(1, app=False, sidecar=True)
    try:
        pop = await consumer.post("/queue/q-outage/pop")
        ready = await consumer.get("/ready")
        for response in (pop, ready):
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "UNAVAILABLE"
        assert pop.headers["retry-after"] == "1"
    finally:
        stack.start_instance(1, app=False, sidecar=True)
    popped = (await consumer.post("/queue/q-outage/pop")).json()["items"]
    assert [m["item"] for m in popped] == [{"kept": True}]


async def test_the_client_sdk_round_trips_through_both_instances(stack: DevStack) -> None:
    from push_pop_client import AsyncPushPopClient, PushEntry

    first, second = stack.instances
    item = {"date": "2024-01-01", "duration": "5m", "big": 2**64, "text": "héllo"}
    async with (
        AsyncPushPopClient(first.app_url, token=REST_TOKEN) as producer,
        AsyncPushPopClient(second.app_url, token=REST_TOKEN) as consumer,
    ):
        pushed = producer.queue("sdk-dapr")
        popped = consumer.queue("sdk-dapr")
        await pushed.push(item, priority=1)
        await pushed.push_many([PushEntry({"n": 0}, priority=0), PushEntry({"n": 1}, priority=0)])
        (lease,) = await popped.lease(ttl_seconds=30)
        assert lease.item == {"n": 0} and lease.lock_id is not None
        assert await popped.ack(lease.lock_id) == 1
        rest = await popped.pop(count=5)
        assert [m.item for m in rest] == [{"n": 1}, item]
        stats = await pushed.stats()
        assert (stats.ready, stats.in_flight, stats.totals.acknowledged) == (0, 0, 1)
