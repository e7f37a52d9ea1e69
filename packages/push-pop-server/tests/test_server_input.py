"""Bad input of every kind gets a clear 4xx naming the problem, never a 500; bodies are capped
before they are parsed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from .conftest import AppFactory, asgi_client

LIMIT = 4096


@pytest.fixture
def small_app(make_app: AppFactory) -> FastAPI:
    return make_app(max_body_bytes=LIMIT)


@pytest.fixture
async def small(small_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(small_app) as client:
        yield client


def _error(response: httpx.Response, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    if field is not None:
        assert error["field"] == field


async def _ready(client: httpx.AsyncClient, queue: str) -> int:
    response = await client.get(f"/queue/{queue}/stats")
    ready: int = response.json()["ready"]
    return ready


def _json_of_size(size: int) -> bytes:
    """A push body of exactly ``size`` bytes."""
    empty = b'{"item": {"pad": ""}}'
    return empty.replace(b'""', b'"' + b"x" * (size - len(empty)) + b'"')


async def test_body_at_the_limit_is_accepted(small: httpx.AsyncClient) -> None:
    body = _json_of_size(LIMIT)
    assert len(body) == LIMIT
    response = await small.post("/queue/q/push", content=body)
    assert response.status_code == 200, response.text


async def test_body_over_the_limit_is_refused_with_413(small: httpx.AsyncClient) -> None:
    response = await small.post("/queue/q/push", content=_json_of_size(LIMIT + 1))
    _error(response, 413, "TOO_LARGE", "body")
    assert response.json()["error"]["limit"] == LIMIT
    assert await _ready(small, "q") == 0


async def test_declared_content_length_over_the_limit_is_refused_unread(
    small_app: FastAPI,
) -> None:
    received: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        received.append({})
        return {"type": "http.request", "body": b"{}", "more_body": True}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/queue/q/push",
        "raw_path": b"/queue/q/push",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-length", b"999999999"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1234),
        "server": ("push-pop.test", 80),
    }
    await small_app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["field"] == "body"
    assert received == []  # not one byte of the body was read


async def test_streamed_body_is_cut_off_at_the_limit(small: httpx.AsyncClient) -> None:
    chunks_sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        yield b'{"item": {"pad": "'
        for _ in range(1000):
            chunks_sent += 1
            yield b"x" * 1024
        yield b'"}}'

    response = await small.post("/queue/q/push", content=chunks())
    _error(response, 413, "TOO_LARGE", "body")
    assert chunks_sent < 10  # reading stopped right after the limit was passed
    assert await _ready(small, "q") == 0


async def test_body_limit_applies_to_bodyless_routes_too(small: httpx.AsyncClient) -> None:
    response = await small.post("/queue/q/pop", content=b" " * (LIMIT + 1))
    _error(response, 413, "TOO_LARGE", "body")


async def test_a_thousand_and_one_items_are_refused(client: httpx.AsyncClient) -> None:
    items = [{"item": {"n": n}} for n in range(1001)]
    response = await client.post("/queue/q/push", json={"items": items})
    _error(response, 400, "INVALID_ARGUMENT", "items")
    assert await _ready(client, "q") == 0


async def test_one_bad_item_refuses_the_whole_batch(client: httpx.AsyncClient) -> None:
    items: list[dict[str, Any]] = [{"item": {"n": n}} for n in range(999)]
    items.append({"item": {"n": 999}, "priority": "high"})
    response = await client.post("/queue/q/push", json={"items": items})
    _error(response, 400, "INVALID_ARGUMENT", "items[999].priority")
    assert await _ready(client, "q") == 0


async def test_oversize_item_in_a_batch_refuses_the_batch(client: httpx.AsyncClient) -> None:
    await client.put("/queue/q/config", json={"max_item_bytes": 64})
    items = [{"item": {"n": 1}}, {"item": {"text": "x" * 100}}]
    response = await client.post("/queue/q/push", json={"items": items})
    _error(response, 413, "TOO_LARGE", "items[1].item")
    assert response.json()["error"]["limit"] == 64
    assert await _ready(client, "q") == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"item": {"a": 1, "a": 2}}', "twice"),
        (b'{"item": {"a": "\\ud800"}}', "surrogate"),
        (b'{"item": {"a": Infinity}}', "Infinity"),
        (b'{"item": {"a": -Infinity}}', "Infinity"),
        (b'\xef\xbb\xbf{"item": {}}', "JSON"),
        (b'{"item": {"a": "\xff"}}', "UTF-8"),
        (b'{"item": {}} trailing', "JSON"),
        (b"null", "object"),
        (b'"text"', "object"),
        (b"   ", "required"),
        (b'{"item": {"n": ' + b"9" * 5000 + b"}}", "JSON"),
        (b'{"item": {"deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}", "deeply"),
    ],
)
async def test_malformed_json_is_refused_naming_the_body(
    client: httpx.AsyncClient, body: bytes, message: str
) -> None:
    response = await client.post("/queue/q/push", content=body)
    _error(response, 400, "INVALID_ARGUMENT", "body")
    assert message in response.json()["error"]["message"]
    assert await _ready(client, "q") == 0


async def test_surrogate_pairs_are_unicode_and_round_trip(client: httpx.AsyncClient) -> None:
    response = await client.post("/queue/q/push", content=b'{"item": {"e": "\\ud83c\\udf89"}}')
    assert response.status_code == 200, response.text
    popped = (await client.post("/queue/q/pop")).json()["items"][0]["item"]
    assert popped == {"e": "🎉"}


async def test_body_is_json_whatever_the_content_type(client: httpx.AsyncClient) -> None:
    """curl -d without -H sends form encoding; the body is still read as JSON."""
    response = await client.post(
        "/queue/q/push",
        content=b'{"item": {"a": 1}}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text


async def test_empty_object_body_on_a_bodyless_route_is_fine(client: httpx.AsyncClient) -> None:
    await client.post("/queue/q/push", json={"item": {"a": 1}})
    response = await client.post("/queue/q/pop", json={})
    assert response.json()["items"][0]["item"] == {"a": 1}


@pytest.mark.parametrize(
    "query",
    [
        "count=1&count=2",
        "count=",
        "count=%201",
        "count=1e3",
        "count=true",
        "count=99999999999999999999999",
    ],
)
async def test_odd_count_parameters_are_refused(client: httpx.AsyncClient, query: str) -> None:
    response = await client.post(f"/queue/q/pop?{query}")
    _error(response, 400, "INVALID_ARGUMENT", "count")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/queue/q/stats?verbose=1"),
        ("GET", "/queue/q/config?x=1"),
        ("DELETE", "/queue/q?force=true"),
        ("POST", "/queue/q/push?priority=1"),
    ],
)
async def test_unknown_query_parameters_are_refused(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, json={"item": {}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize("value", ["true", "True", "1", "false", "0", "FALSE"])
async def test_boolean_parameters_take_true_false_1_0(
    client: httpx.AsyncClient, value: str
) -> None:
    response = await client.post(f"/queue/q/pop?require_ack={value}")
    assert response.status_code == 200, response.text


async def test_trailing_slash_is_not_found_not_redirected(client: httpx.AsyncClient) -> None:
    response = await client.post("/queue/q/push/", json={"item": {}})
    _error(response, 404, "NOT_FOUND")


async def test_unknown_routes_answer_the_error_body(client: httpx.AsyncClient) -> None:
    for method, path in [("GET", "/"), ("GET", "/queue"), ("POST", "/queue/q"), ("PUT", "/nope")]:
        response = await client.request(method, path)
        assert response.status_code in (404, 405), (method, path)
        assert response.json()["error"]["code"] in ("NOT_FOUND", "METHOD_NOT_ALLOWED")


async def test_method_not_allowed_names_the_allowed_methods(client: httpx.AsyncClient) -> None:
    response = await client.get("/queue/q/push")
    _error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"
