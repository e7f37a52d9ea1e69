"""With a token, only the Dapr sidecar reaches the actor routes (SPEC §5)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from push_pop_actor import SidecarTokenGuard, register_actor, require_sidecar_token

TOKEN = "s3cret-token"


def _app(token: str | None) -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    register_actor(app, api_token=token)
    return app


@pytest.fixture
async def guarded() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/dapr/config"),
        ("PUT", "/actors/PushPopActor/q/method/Pop"),
        ("PUT", "/actors/PushPopActor/q/method/Dispatch"),
        ("DELETE", "/actors/PushPopActor/q"),
        ("PUT", "/actors/PushPopActor/q/method/remind/r"),
    ],
)
async def test_sidecar_routes_refuse_calls_without_the_token(
    guarded: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await guarded.request(method, path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


async def test_a_wrong_token_is_refused(guarded: httpx.AsyncClient) -> None:
    response = await guarded.get("/dapr/config", headers={"dapr-api-token": TOKEN + "x"})
    assert response.status_code == 401


async def test_a_repeated_token_header_is_refused(guarded: httpx.AsyncClient) -> None:
    headers = [("dapr-api-token", "other"), ("dapr-api-token", TOKEN)]
    response = await guarded.get("/dapr/config", headers=headers)
    assert response.status_code == 401


async def test_the_sidecar_token_is_accepted(guarded: httpx.AsyncClient) -> None:
    response = await guarded.get("/dapr/config", headers={"dapr-api-token": TOKEN})
    assert response.status_code == 200
    assert "PushPopActor" in response.json()["entities"]


async def test_other_routes_stay_open(guarded: httpx.AsyncClient) -> None:
    assert (await guarded.get("/health")).status_code == 200


async def test_without_a_token_nothing_is_guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_API_TOKEN", raising=False)
    transport = httpx.ASGITransport(app=_app(None))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        assert (await client.get("/dapr/config")).status_code == 200


def test_the_token_comes_from_app_api_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_API_TOKEN", TOKEN)
    assert require_sidecar_token(FastAPI()) is True
    monkeypatch.setenv("APP_API_TOKEN", "")
    assert require_sidecar_token(FastAPI()) is False


def test_an_empty_token_cannot_be_installed_directly() -> None:
    with pytest.raises(ValueError):
        SidecarTokenGuard(FastAPI(), token="")
