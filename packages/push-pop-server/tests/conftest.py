"""Fixtures: the real server app over its embedded store, driven in-process through ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from push_pop_server import Settings, create_app

TOKEN = "s3cret-token"
BASE_URL = "http://push-pop.test"

AppFactory = Callable[..., FastAPI]


@pytest.fixture
async def make_app(tmp_path: Path) -> AsyncIterator[AppFactory]:
    """Build apps over a fresh data directory; their stores are closed afterwards."""
    apps: list[FastAPI] = []

    def make(**settings: Any) -> FastAPI:
        settings.setdefault("data_dir", tmp_path / f"data-{len(apps)}")
        app = create_app(Settings(**settings))
        apps.append(app)
        return app

    yield make
    for app in apps:
        await app.state.push_pop.aclose()


@pytest.fixture
def app(make_app: AppFactory) -> FastAPI:
    return make_app()


def asgi_client(app: FastAPI, **transport_options: Any) -> httpx.AsyncClient:
    """An in-process client of ``app``, without its lifespan (the store opens on first use)."""
    transport = httpx.ASGITransport(app=app, **transport_options)
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as client:
        yield client
