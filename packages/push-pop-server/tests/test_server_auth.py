"""With PUSH_POP_API_TOKEN, every /queue route needs the bearer token; /health stays open."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from .conftest import TOKEN, AppFactory, asgi_client

QUEUE_ROUTES = [
    ("POST", "/queue/q/push"),
    ("POST", "/queue/q/pop"),
    ("POST", "/queue/q/acknowledge"),
    ("POST", "/queue/q/nack"),
    ("POST", "/queue/q/extend-lock"),
    ("POST", "/queue/q/deadletter"),
    ("GET", "/queue/q/peek"),
    ("GET", "/queue/q/stats"),
    ("GET", "/queue/q/dead-letters"),
    ("POST", "/queue/q/dead-letters/redrive"),
    ("DELETE", "/queue/q/dead-letters"),
    ("DELETE", "/queue/q"),
    ("POST", "/queue/q/purge"),
    ("GET", "/queue/q/config"),
    ("PUT", "/queue/q/config"),
    ("GET", "/queue/q/no-such-route"),
    ("POST", "/queue/-bad-id-/push"),
]
WRONG = [
    None,
    f"Bearer {TOKEN}x",
    f"Bearer {TOKEN[:-1]}",
    "Bearer ",
    f"Basic {TOKEN}",
    TOKEN,
    f"Token {TOKEN}",
]


@pytest.fixture
def secured_app(make_app: AppFactory) -> FastAPI:
    return make_app(api_token=TOKEN)


@pytest.fixture
async def anonymous(secured_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(secured_app) as client:
        yield client


@pytest.mark.parametrize(("method", "path"), QUEUE_ROUTES)
@pytest.mark.parametrize("authorization", WRONG)
async def test_queue_routes_refuse_a_missing_or_wrong_token(
    anonymous: httpx.AsyncClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await anonymous.request(method, path, headers=headers, json={"item": {}})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_refused_requests_change_nothing(anonymous: httpx.AsyncClient) -> None:
    await anonymous.post("/queue/q/push", json={"item": {"a": 1}})
    headers = {"Authorization": f"Bearer {TOKEN}"}
    stats = (await anonymous.get("/queue/q/stats", headers=headers)).json()
    assert stats["totals"]["pushed"] == 0


async def test_the_right_token_opens_every_route(anonymous: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for method, path in QUEUE_ROUTES:
        response = await anonymous.request(method, path, headers=headers, json={"item": {}})
        assert response.status_code != 401, (method, path, response.text)


async def test_the_scheme_is_case_insensitive(anonymous: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"bearer {TOKEN}"}
    response = await anonymous.post("/queue/q/push", headers=headers, json={"item": {"a": 1}})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/health", "/metrics", "/ready", "/openapi.json", "/docs"])
async def test_operational_routes_stay_open(anonymous: httpx.AsyncClient, path: str) -> None:
    response = await anonymous.get(path)
    assert response.status_code == 200


async def test_without_a_token_queue_routes_are_open(client: httpx.AsyncClient) -> None:
    response = await client.post("/queue/q/push", json={"item": {"a": 1}})
    assert response.status_code == 200


async def test_refusals_are_counted_by_route_template(anonymous: httpx.AsyncClient) -> None:
    await anonymous.get("/queue/q/stats")
    metrics = (await anonymous.get("/metrics")).text
    assert 'route="/queue/{queue_id}/stats",status="401"' in metrics
