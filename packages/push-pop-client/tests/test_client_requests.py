"""Each call sends the request WIRE.md describes and reads its answer into typed values."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from push_pop_client import (
    AsyncPushPopClient,
    BadRequestError,
    Message,
    PriorityStats,
    PushEntry,
    PushPopClient,
    PushPopError,
    PushResult,
    QueueConfig,
    QueueTotals,
)

MESSAGE = {"id": "7", "item": {"a": 1}, "priority": 2, "deliveries": 1, "enqueued_at": 100.5}
LEASED = {**MESSAGE, "lock_id": "L1", "lock_expires_at": 130.5}
CONFIG = {
    "max_deliveries": None,
    "dedup_window_seconds": 300,
    "max_length": 10,
    "max_item_bytes": 1048576,
}


class Recorder:
    """A fake server: records requests and answers each with ``answer(request)``."""

    def __init__(self, answer: Callable[[httpx.Request], Any] | Any = None) -> None:
        self.requests: list[httpx.Request] = []
        self._answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = self._answer(request) if callable(self._answer) else self._answer
        return httpx.Response(200, json=body if body is not None else {"success": True})

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def make_client(recorder: Recorder) -> AsyncPushPopClient:
    return AsyncPushPopClient("http://test", transport=httpx.MockTransport(recorder))


def push_answer(request: httpx.Request) -> dict[str, Any]:
    body = json.loads(request.content)
    count = len(body["items"]) if "items" in body else 1
    return {"success": True, "items_pushed": count, "duplicates": 0, "ids": list(range(count))}


async def test_push_sends_item_priority_and_a_generated_key() -> None:
    recorder = Recorder({"success": True, "items_pushed": 1, "duplicates": 0, "ids": ["41"]})
    async with make_client(recorder) as client:
        message_id = await client.queue("orders").push({"sku": "A"}, priority=3)
    assert message_id == "41"
    assert (recorder.last.method, recorder.last.url.path) == ("POST", "/queue/orders/push")
    body = recorder.body()
    assert body["item"] == {"sku": "A"} and body["priority"] == 3
    assert len(body["idempotency_key"]) == 32


async def test_push_keeps_the_callers_idempotency_key() -> None:
    recorder = Recorder({"success": True, "items_pushed": 0, "duplicates": 1, "ids": ["1"]})
    async with make_client(recorder) as client:
        await client.queue("q").push({}, idempotency_key="order-17")
    assert recorder.body()["idempotency_key"] == "order-17"


async def test_push_many_sends_entries_in_order_each_with_its_own_key() -> None:
    recorder = Recorder(push_answer)
    entries: list[dict[str, Any] | PushEntry] = [{"n": 0}, PushEntry({"n": 1}, 5, "k1")]
    async with make_client(recorder) as client:
        result = await client.queue("q").push_many(entries)
    items = recorder.body()["items"]
    assert [entry["item"] for entry in items] == [{"n": 0}, {"n": 1}]
    assert [entry["priority"] for entry in items] == [0, 5]
    assert items[1]["idempotency_key"] == "k1"
    assert items[0]["idempotency_key"] not in ("", None, "k1")
    assert result == PushResult(ids=("0", "1"), pushed=2, duplicates=0)


async def test_push_many_splits_more_than_1000_entries_into_requests_of_1000() -> None:
    recorder = Recorder(push_answer)
    async with make_client(recorder) as client:
        result = await client.queue("q").push_many({"n": n} for n in range(2500))
    sizes = [len(recorder.body(i)["items"]) for i in range(len(recorder.requests))]
    assert sizes == [1000, 1000, 500]
    assert result.pushed == 2500 and len(result.ids) == 2500


async def test_push_many_of_nothing_sends_nothing() -> None:
    recorder = Recorder(push_answer)
    async with make_client(recorder) as client:
        result = await client.queue("q").push_many([])
    assert recorder.requests == [] and result == PushResult(ids=(), pushed=0, duplicates=0)


async def test_push_many_keys_are_unique_across_requests() -> None:
    recorder = Recorder(push_answer)
    async with make_client(recorder) as client:
        await client.queue("q").push_many({"n": n} for n in range(1500))
    keys = [e["idempotency_key"] for i in range(2) for e in recorder.body(i)["items"]]
    assert len(set(keys)) == 1500


async def test_pop_sends_count_and_wait_and_parses_messages() -> None:
    recorder = Recorder({"items": [MESSAGE]})
    async with make_client(recorder) as client:
        messages = await client.queue("q").pop(count=5, wait_seconds=2)
    assert recorder.last.url.path == "/queue/q/pop"
    assert dict(recorder.last.url.params) == {"count": "5", "wait_seconds": "2"}
    assert messages == [Message(id="7", item={"a": 1}, priority=2, deliveries=1, enqueued_at=100.5)]


async def test_lease_asks_for_ack_and_returns_lock_fields() -> None:
    recorder = Recorder({"items": [LEASED]})
    async with make_client(recorder) as client:
        [message] = await client.queue("q").lease(count=3, ttl_seconds=60, exclusive=True)
    assert dict(recorder.last.url.params) == {
        "count": "3",
        "require_ack": "true",
        "ttl_seconds": "60",
        "exclusive": "true",
        "wait_seconds": "0",
    }
    assert (message.lock_id, message.lock_expires_at) == ("L1", 130.5)


async def test_long_poll_read_timeout_grows_by_wait_seconds() -> None:
    recorder = Recorder({"items": []})
    client = AsyncPushPopClient("http://t", timeout=5, transport=httpx.MockTransport(recorder))
    async with client:
        await client.queue("q").pop(wait_seconds=20)
    timeout = recorder.last.extensions["timeout"]
    assert timeout["read"] == 25 and timeout["connect"] == 5


async def test_plain_calls_keep_the_configured_timeout() -> None:
    recorder = Recorder({"items": []})
    client = AsyncPushPopClient("http://t", timeout=5, transport=httpx.MockTransport(recorder))
    async with client:
        await client.queue("q").peek()
    assert recorder.last.extensions["timeout"]["read"] == 5


@pytest.mark.parametrize(
    ("lock_ids", "body"),
    [("L1", {"lock_id": "L1"}), (["L1", "L2"], {"lock_ids": ["L1", "L2"]})],
)
async def test_ack_sends_one_lock_id_or_a_list(lock_ids: Any, body: Any) -> None:
    recorder = Recorder({"success": True, "items_acknowledged": 2})
    async with make_client(recorder) as client:
        assert await client.queue("q").ack(lock_ids) == 2
    assert recorder.last.url.path == "/queue/q/acknowledge" and recorder.body() == body


async def test_ack_of_an_empty_list_sends_nothing() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        assert await client.queue("q").ack([]) == 0
    assert recorder.requests == []


async def test_nack_sends_the_new_priority_only_when_given() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.queue("q").nack("L1")
        await client.queue("q").nack("L2", priority=0)
    assert recorder.body(0) == {"lock_id": "L1"}
    assert recorder.body(1) == {"lock_id": "L2", "priority": 0}
    assert recorder.last.url.path == "/queue/q/nack"


async def test_extend_returns_the_new_expiry() -> None:
    recorder = Recorder({"success": True, "lock_id": "L1", "lock_expires_at": 200.25})
    async with make_client(recorder) as client:
        assert await client.queue("q").extend("L1", 90) == 200.25
    assert recorder.last.url.path == "/queue/q/extend-lock"
    assert recorder.body() == {"lock_id": "L1", "ttl_seconds": 90}


async def test_dead_letter_sends_the_lock_id() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.queue("q").dead_letter("L1")
    assert recorder.last.url.path == "/queue/q/deadletter" and recorder.body() == {"lock_id": "L1"}


async def test_peek_is_a_get_with_count_and_optional_priority() -> None:
    recorder = Recorder({"items": [MESSAGE]})
    async with make_client(recorder) as client:
        await client.queue("q").peek(count=4, priority=0)
    assert recorder.last.method == "GET" and recorder.last.url.path == "/queue/q/peek"
    assert dict(recorder.last.url.params) == {"count": "4", "priority": "0"}


async def test_stats_are_parsed_with_nested_priorities_and_totals() -> None:
    answer = {
        "queue_id": "q",
        "ready": 3,
        "in_flight": 1,
        "dead_letters": 2,
        "priorities": [{"priority": 0, "ready": 3, "oldest_age_seconds": 1.5}],
        "totals": {"pushed": 6, "popped": 1, "acknowledged": 0, "expired": 0, "dead_lettered": 2},
        "exclusive_lock_expires_at": None,
    }
    async with make_client(Recorder(answer)) as client:
        stats = await client.queue("q").stats()
    assert stats.priorities == (PriorityStats(priority=0, ready=3, oldest_age_seconds=1.5),)
    assert stats.totals == QueueTotals(6, 1, 0, 0, 2)
    assert (stats.ready, stats.in_flight, stats.dead_letters) == (3, 1, 2)
    assert stats.exclusive_lock_expires_at is None


async def test_dead_letters_carry_their_reason() -> None:
    dead = {**MESSAGE, "dead_letter_reason": "max_deliveries", "dead_lettered_at": 150.0}
    recorder = Recorder({"items": [dead]})
    async with make_client(recorder) as client:
        [message] = await client.queue("q").dead_letters(count=7)
    assert recorder.last.url.path == "/queue/q/dead-letters"
    assert dict(recorder.last.url.params) == {"count": "7"}
    assert (message.dead_letter_reason, message.dead_lettered_at) == ("max_deliveries", 150.0)


async def test_redrive_sends_only_the_given_fields() -> None:
    recorder = Recorder({"success": True, "items_redriven": 4})
    async with make_client(recorder) as client:
        assert await client.queue("q").redrive() == 4
        await client.queue("q").redrive(count=2, priority=0)
    assert recorder.body(0) == {}
    assert recorder.body(1) == {"count": 2, "priority": 0}
    assert recorder.last.url.path == "/queue/q/dead-letters/redrive"


@pytest.mark.parametrize(
    ("call", "method", "path", "params"),
    [
        (lambda q: q.purge(), "POST", "/queue/q/purge", {}),
        (lambda q: q.purge(priority=3), "POST", "/queue/q/purge", {"priority": "3"}),
        (lambda q: q.purge_dead_letters(), "DELETE", "/queue/q/dead-letters", {}),
        (lambda q: q.delete(), "DELETE", "/queue/q", {}),
    ],
)
async def test_purges_return_how_many_were_dropped(
    call: Any, method: str, path: str, params: dict[str, str]
) -> None:
    recorder = Recorder({"success": True, "items_purged": 9})
    async with make_client(recorder) as client:
        assert await call(client.queue("q")) == 9
    assert (recorder.last.method, recorder.last.url.path) == (method, path)
    assert dict(recorder.last.url.params) == params


async def test_get_config_parses_every_setting() -> None:
    async with make_client(Recorder(CONFIG)) as client:
        config = await client.queue("q").get_config()
    assert config == QueueConfig(None, 300, 10, 1048576)


async def test_set_config_sends_only_the_changes() -> None:
    recorder = Recorder(CONFIG)
    async with make_client(recorder) as client:
        await client.queue("q").set_config(max_deliveries=None, max_length=10)
    assert recorder.last.method == "PUT" and recorder.last.url.path == "/queue/q/config"
    assert recorder.body() == {"max_deliveries": None, "max_length": 10}


async def test_token_is_sent_as_a_bearer_header() -> None:
    recorder = Recorder({"items": []})
    transport = httpx.MockTransport(recorder)
    async with AsyncPushPopClient("http://t", token="s3cret", transport=transport) as client:
        await client.queue("q").peek()
    assert recorder.last.headers["authorization"] == "Bearer s3cret"


async def test_no_authorization_header_without_a_token() -> None:
    recorder = Recorder({"items": []})
    async with make_client(recorder) as client:
        await client.queue("q").peek()
    assert "authorization" not in recorder.last.headers


async def test_base_url_path_prefix_is_kept() -> None:
    recorder = Recorder({"items": []})
    transport = httpx.MockTransport(recorder)
    async with AsyncPushPopClient("http://t/pushpop/", transport=transport) as client:
        await client.queue("q").peek()
    assert recorder.last.url.path == "/pushpop/queue/q/peek"


async def test_an_answer_of_the_wrong_shape_is_a_push_pop_error() -> None:
    async with make_client(Recorder({"unexpected": True})) as client:
        with pytest.raises(PushPopError, match="unexpected answer"):
            await client.queue("q").stats()


@pytest.mark.parametrize(
    "queue_id",
    ["", "-leading-dash", ".dot", "has space", "slash/inside", "x" * 201, "ünï", "q?x=1"],
)
def test_invalid_queue_ids_are_rejected_without_a_request(queue_id: str) -> None:
    recorder = Recorder()
    with (
        PushPopClient("http://t", transport=httpx.MockTransport(recorder)) as client,
        pytest.raises(BadRequestError) as caught,
    ):
        client.queue(queue_id)
    assert caught.value.field == "queue_id" and caught.value.status_code is None
    assert recorder.requests == []


@pytest.mark.parametrize("queue_id", ["q", "0", "a.b_c:d-e", "X" * 200])
def test_valid_queue_ids_are_accepted(queue_id: str) -> None:
    with PushPopClient("http://t", transport=httpx.MockTransport(Recorder())) as client:
        assert client.queue(queue_id).id == queue_id


def test_the_sync_client_sends_the_same_requests() -> None:
    recorder = Recorder({"items": [LEASED]})
    with PushPopClient("http://t", transport=httpx.MockTransport(recorder)) as client:
        [message] = client.queue("q").lease(count=2, ttl_seconds=10, wait_seconds=1)
    assert recorder.last.url.path == "/queue/q/pop"
    assert recorder.last.url.params["require_ack"] == "true"
    assert recorder.last.extensions["timeout"]["read"] == 11
    assert message.lock_id == "L1"
