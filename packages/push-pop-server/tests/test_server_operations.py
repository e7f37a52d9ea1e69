"""Health, readiness, metrics, request ids, JSON logs, OpenAPI, lifespan and unexpected errors."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from push_pop_server._logging import JsonFormatter

from .conftest import AppFactory, asgi_client


async def test_health_is_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.json() == {"status": "ok"}


async def test_ready_when_the_store_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_an_unusable_store_is_503_not_500(make_app: AppFactory, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    app = make_app(data_dir=blocker / "data")
    async with asgi_client(app) as client:
        ready = await client.get("/ready")
        push = await client.post("/queue/q/push", json={"item": {}})
    for response in (ready, push):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "UNAVAILABLE"
        assert response.headers["retry-after"] == "1"


async def test_metrics_count_requests_operations_and_messages(client: httpx.AsyncClient) -> None:
    await client.post("/queue/q/push", json={"items": [{"item": {}}, {"item": {}}, {"item": {}}]})
    leased = (await client.post("/queue/q/pop?require_ack=true&count=2")).json()["items"]
    await client.post("/queue/q/acknowledge", json={"lock_ids": [m["lock_id"] for m in leased]})
    await client.post("/queue/q/pop")
    await client.post("/queue/q/acknowledge", json={"lock_id": "gone"})
    response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    push = 'method="POST",route="/queue/{queue_id}/push",status="200"'
    assert f"push_pop_http_requests_total{{{push}}} 1.0" in text
    assert 'route="/queue/{queue_id}/acknowledge",status="404"} 1.0' in text
    assert 'push_pop_messages_total{event="pushed"} 3.0' in text
    assert 'push_pop_messages_total{event="popped"} 3.0' in text
    assert 'push_pop_messages_total{event="acknowledged"} 2.0' in text
    assert (
        'push_pop_operation_duration_seconds_count{backend="embedded",operation="acknowledge",'
        'outcome="LOCK_NOT_FOUND"} 1.0'
    ) in text
    assert "process_cpu_seconds_total" in text or "python_info" in text


async def test_metrics_count_expired_and_dead_lettered_messages(
    client: httpx.AsyncClient,
) -> None:
    await client.put("/queue/q/config", json={"max_deliveries": 1})
    await client.post("/queue/q/push", json={"items": [{"item": {}}, {"item": {}}]})
    await client.post("/queue/q/pop?require_ack=true&count=2&ttl_seconds=1")
    await asyncio.sleep(1.1)
    # The next operation returns the expired leases: past max_deliveries, to the dead letters.
    stats = (await client.get("/queue/q/stats")).json()
    assert stats["dead_letters"] == 2
    text = (await client.get("/metrics")).text
    assert 'push_pop_messages_total{event="expired"} 2.0' in text
    assert 'push_pop_messages_total{event="dead_lettered"} 2.0' in text


async def test_unmatched_paths_share_one_metrics_label(client: httpx.AsyncClient) -> None:
    for n in range(3):
        await client.get(f"/random/{n}")
    text = (await client.get("/metrics")).text
    assert 'route="unmatched",status="404"} 3.0' in text


async def test_request_id_is_echoed_or_made_up(client: httpx.AsyncClient) -> None:
    given = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await client.get("/health")
    assert len(made.headers["x-request-id"]) == 32
    odd = await client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert odd.headers["x-request-id"] != "bad id\twith spaces"


async def test_each_request_is_logged_with_its_ids(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="push_pop_server")
    await client.post("/queue/orders/push", json={"item": {}}, headers={"X-Request-ID": "r-1"})
    (record,) = [r for r in caplog.records if getattr(r, "route", None)]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "r-1"
    assert line["queue_id"] == "orders"
    assert line["operation"] == "push"
    assert line["status"] == 200
    assert line["route"] == "/queue/{queue_id}/push"
    assert line["level"] == "info"
    assert isinstance(line["duration_ms"], float)


async def test_a_bug_answers_500_with_the_error_body_and_no_traceback(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(queue_id: str, op: str, payload: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("simulated bug")

    app.state.push_pop.backend.call = broken
    async with asgi_client(app, raise_app_exceptions=False) as client:
        response = await client.post("/queue/q/push", json={"item": {}})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "INTERNAL"
    assert "Traceback" not in response.text and "simulated" not in response.text
    assert any(r.exc_info for r in caplog.records if r.name == "push_pop_server")


async def test_openapi_describes_every_route(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    operations = {
        (method.upper(), path) for path, item in schema["paths"].items() for method in item
    }
    assert operations == {
        ("POST", "/queue/{queue_id}/push"),
        ("POST", "/queue/{queue_id}/pop"),
        ("POST", "/queue/{queue_id}/acknowledge"),
        ("POST", "/queue/{queue_id}/nack"),
        ("POST", "/queue/{queue_id}/extend-lock"),
        ("POST", "/queue/{queue_id}/deadletter"),
        ("GET", "/queue/{queue_id}/peek"),
        ("GET", "/queue/{queue_id}/stats"),
        ("GET", "/queue/{queue_id}/dead-letters"),
        ("POST", "/queue/{queue_id}/dead-letters/redrive"),
        ("DELETE", "/queue/{queue_id}/dead-letters"),
        ("DELETE", "/queue/{queue_id}"),
        ("POST", "/queue/{queue_id}/purge"),
        ("GET", "/queue/{queue_id}/config"),
        ("PUT", "/queue/{queue_id}/config"),
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/metrics"),
    }
    push = schema["paths"]["/queue/{queue_id}/push"]["post"]
    body = push["requestBody"]["content"]["application/json"]["schema"]
    assert len(body["oneOf"]) == 2
    assert set(push["responses"]) >= {"200", "400", "401", "413", "429", "503"}
    pop = schema["paths"]["/queue/{queue_id}/pop"]["post"]
    assert {p["name"] for p in pop["parameters"]} == {
        "queue_id",
        "count",
        "require_ack",
        "ttl_seconds",
        "exclusive",
        "wait_seconds",
    }


async def test_docs_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


async def test_lifespan_opens_and_closes_the_store(app: FastAPI, tmp_path: Path) -> None:
    """Startup creates the SQLite file; shutdown closes it; a later request opens it again."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    replies: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        replies.append(message)

    await queue.put({"type": "lifespan.startup"})
    await queue.put({"type": "lifespan.shutdown"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    await app(scope, queue.get, send)
    assert [r["type"] for r in replies] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    database = app.state.push_pop.backend.path
    assert database.exists()
    async with asgi_client(app) as client:
        response = await client.post("/queue/q/push", json={"item": {}})
    assert response.status_code == 200


async def test_data_survives_a_new_app_on_the_same_directory(
    make_app: AppFactory, tmp_path: Path
) -> None:
    for round_ in range(2):
        app = make_app(data_dir=tmp_path / "shared")
        async with asgi_client(app) as client:
            if round_ == 0:
                await client.post("/queue/q/push", json={"item": {"kept": 1}})
            else:
                popped = (await client.post("/queue/q/pop")).json()["items"]
                assert popped[0]["item"] == {"kept": 1}
        await app.state.push_pop.aclose()
