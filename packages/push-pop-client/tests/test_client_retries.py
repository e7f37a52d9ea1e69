"""Retries: transport failures and 503 are retried with backoff, never in a way that duplicates."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from push_pop_client import (
    AsyncPushPopClient,
    PushPopClient,
    PushPopConnectionError,
    PushPopTimeoutError,
    QueueFullError,
    UnavailableError,
)
from push_pop_client._exchange import RetryPolicy

PUSHED = {"success": True, "items_pushed": 1, "duplicates": 0, "ids": ["1"]}
EMPTY: dict[str, list[object]] = {"items": []}


class Flaky:
    """Fails the first ``failures`` requests with ``fail(request)``, then answers ``body``."""

    def __init__(
        self, failures: int, fail: Callable[[httpx.Request], httpx.Response], body: object
    ) -> None:
        self.failures = failures
        self.fail = fail
        self.body = body
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.requests) <= self.failures:
            return self.fail(request)
        return httpx.Response(200, json=self.body)


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def time_out_reading(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def drop_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("server disconnected", request=request)


def unavailable(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"error": {"code": "UNAVAILABLE", "message": "sidecar down"}})


def full(request: httpx.Request) -> httpx.Response:
    return httpx.Response(429, json={"error": {"code": "QUEUE_FULL", "message": "full"}})


def sync_client(flaky: Flaky, max_retries: int = 3) -> PushPopClient:
    client = PushPopClient(
        "http://t", transport=httpx.MockTransport(flaky), max_retries=max_retries
    )
    client._policy = RetryPolicy(max_retries=max_retries, base_delay=0.001, max_delay=0.01)
    return client


async def test_a_push_retried_after_a_connect_error_reuses_its_idempotency_key() -> None:
    flaky = Flaky(2, refuse, PUSHED)
    client = AsyncPushPopClient("http://t", transport=httpx.MockTransport(flaky))
    client._policy = RetryPolicy(base_delay=0.001, max_delay=0.01)
    async with client:
        assert await client.queue("q").push({"x": 1}) == "1"
    keys = {json.loads(request.content)["idempotency_key"] for request in flaky.requests}
    assert len(flaky.requests) == 3 and len(keys) == 1


def test_a_push_retried_after_a_read_timeout_reuses_its_idempotency_key() -> None:
    flaky = Flaky(1, time_out_reading, {**PUSHED, "ids": ["1", "2"], "items_pushed": 2})
    with sync_client(flaky) as client:
        client.queue("q").push_many([{"a": 1}, {"b": 2}])
    first, second = (json.loads(request.content) for request in flaky.requests)
    assert first == second


def test_503_is_retried_until_it_succeeds() -> None:
    flaky = Flaky(3, unavailable, EMPTY)
    with sync_client(flaky) as client:
        assert client.queue("q").pop() == []
    assert len(flaky.requests) == 4


def test_503_past_max_retries_raises_unavailable() -> None:
    flaky = Flaky(10, unavailable, EMPTY)
    with sync_client(flaky, max_retries=2) as client, pytest.raises(UnavailableError):
        client.queue("q").pop()
    assert len(flaky.requests) == 3


def test_max_retries_zero_sends_once() -> None:
    flaky = Flaky(10, refuse, EMPTY)
    with sync_client(flaky, max_retries=0) as client, pytest.raises(PushPopConnectionError):
        client.queue("q").stats()
    assert len(flaky.requests) == 1


def test_a_full_queue_is_not_retried() -> None:
    flaky = Flaky(1, full, PUSHED)
    with sync_client(flaky) as client, pytest.raises(QueueFullError):
        client.queue("q").push({})
    assert len(flaky.requests) == 1


def test_a_pop_is_retried_after_a_connect_error() -> None:
    flaky = Flaky(1, refuse, EMPTY)
    with sync_client(flaky) as client:
        client.queue("q").pop()
    assert len(flaky.requests) == 2


@pytest.mark.parametrize("fail", [time_out_reading, drop_connection])
def test_a_pop_is_not_retried_once_it_may_have_reached_the_server(
    fail: Callable[[httpx.Request], httpx.Response],
) -> None:
    flaky = Flaky(1, fail, EMPTY)
    with sync_client(flaky) as client, pytest.raises(PushPopConnectionError):
        client.queue("q").pop()
    assert len(flaky.requests) == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda q: q.lease(),
        lambda q: q.ack("L"),
        lambda q: q.nack("L"),
        lambda q: q.dead_letter("L"),
        lambda q: q.redrive(count=1),
    ],
)
def test_non_replayable_calls_are_not_retried_after_a_read_timeout(call: object) -> None:
    flaky = Flaky(1, time_out_reading, EMPTY)
    with sync_client(flaky) as client, pytest.raises(PushPopTimeoutError):
        call(client.queue("q"))  # type: ignore[operator]
    assert len(flaky.requests) == 1


def test_reads_are_retried_after_a_read_timeout() -> None:
    flaky = Flaky(1, time_out_reading, EMPTY)
    with sync_client(flaky) as client:
        assert client.queue("q").peek() == []
    assert len(flaky.requests) == 2


def test_a_timeout_is_a_timeout_error_and_a_connection_error() -> None:
    flaky = Flaky(5, time_out_reading, EMPTY)
    with sync_client(flaky, max_retries=1) as client, pytest.raises(PushPopTimeoutError) as e:
        client.queue("q").stats()
    assert isinstance(e.value, PushPopConnectionError) and e.value.status_code is None


def test_backoff_grows_and_stays_within_bounds() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=4.0)
    for attempt, ceiling in enumerate([1.0, 2.0, 4.0, 4.0, 4.0]):
        delays = [policy.delay(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)


def test_retry_after_is_honoured_within_the_maximum() -> None:
    policy = RetryPolicy(max_delay=4.0)
    assert policy.delay(0, retry_after=2.5) == 2.5
    assert policy.delay(0, retry_after=60) == 4.0


def test_a_retry_after_header_sets_the_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("push_pop_client._client.time.sleep", slept.append)

    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"retry-after": "0.05"}, json={})

    with sync_client(Flaky(1, busy, EMPTY)) as client:
        client._policy = RetryPolicy(max_delay=1.0)
        client.queue("q").pop()
    assert slept == [0.05]
