"""The actor inside the Dapr SDK's own runtime, over a stand-in for the sidecar's state API.

Everything above the HTTP calls to daprd is real: ``ActorRuntime``/``ActorManager`` dispatch, the
SDK's FastAPI routes, activation, the state adapter and the engine. Only the actor client (the
sidecar) is replaced, by one that behaves like daprd with a Go state store: it decodes each
transaction's values as generic JSON (numbers become float64), re-encodes them with sorted keys
and Go's HTML escaping, applies the transaction all-or-nothing, and takes keys verbatim from the
URL (so they must need no escaping).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest
from dapr.actor import ActorId, ActorRuntime
from dapr.actor.runtime._type_information import ActorTypeInformation
from dapr.actor.runtime.context import ActorRuntimeContext
from dapr.actor.runtime.manager import ActorManager
from dapr.clients.base import DaprActorClientBase
from dapr.clients.exceptions import DaprHttpError, DaprInternalError
from fastapi import FastAPI
from push_pop_actor import (
    ActorStateStore,
    PlainJSONSerializer,
    PushPopActor,
    PushPopActorError,
    queue_error,
    register_actor,
)
from push_pop_actor._state import state_key
from push_pop_core import (
    InvalidArgumentError,
    LockExpiredError,
    LockNotFoundError,
    QueueLockedError,
    StoreUnavailableError,
)

SERIALIZER = PlainJSONSerializer()
_URL_SAFE = re.compile(r"[A-Za-z0-9._~-]+")


def _go_marshal(value: Any) -> bytes:
    """What Go's encoding/json writes for a value it decoded into ``any``."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


class FakeSidecar(DaprActorClientBase):
    """daprd's actor state API over an in-memory Go-like store."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str, str], bytes] = {}
        self.transactions: list[list[dict[str, Any]]] = []
        self.reads = 0
        self.fail_saves = False
        self.fail_reads = False
        self.gate: asyncio.Event | None = None  # when set, saves wait for it

    async def get_state(self, actor_type: str, actor_id: str, name: str) -> bytes:
        assert _URL_SAFE.fullmatch(name), f"key {name!r} would need URL escaping"
        if self.fail_reads:
            raise DaprInternalError("state store is down", "ERR_ACTOR_STATE_GET")
        self.reads += 1
        return self.data.get((actor_type, actor_id, name), b"")

    async def save_state_transactionally(self, actor_type: str, actor_id: str, data: bytes) -> None:
        if self.fail_saves:
            raise DaprInternalError("state store is down", "ERR_ACTOR_STATE_TRANSACTION_SAVE")
        if self.gate is not None:
            await self.gate.wait()
        ops = json.loads(data, parse_int=float)  # Go decodes JSON numbers as float64
        self.transactions.append(ops)
        staged = dict(self.data)
        for op in ops:
            key = op["request"]["key"]
            assert _URL_SAFE.fullmatch(key), f"key {key!r} would need URL escaping"
            if op["operation"] == "upsert":
                staged[(actor_type, actor_id, key)] = _go_marshal(op["request"]["value"])
            else:
                assert op["operation"] == "delete"
                staged.pop((actor_type, actor_id, key), None)
        self.data = staged

    def keys(self, actor_id: str) -> set[str]:
        return {key for (_, aid, key) in self.data if aid == actor_id}

    async def invoke_method(
        self, actor_type: str, actor_id: str, method: str, data: bytes | None = None
    ) -> bytes:
        raise NotImplementedError

    async def register_reminder(
        self, actor_type: str, actor_id: str, name: str, data: bytes
    ) -> None:
        raise NotImplementedError

    async def unregister_reminder(self, actor_type: str, actor_id: str, name: str) -> None:
        raise NotImplementedError

    async def register_timer(self, actor_type: str, actor_id: str, name: str, data: bytes) -> None:
        raise NotImplementedError

    async def unregister_timer(self, actor_type: str, actor_id: str, name: str) -> None:
        raise NotImplementedError


class Runtime:
    """The SDK's actor manager for ``PushPopActor`` over a :class:`FakeSidecar`."""

    def __init__(self, sidecar: FakeSidecar | None = None) -> None:
        self.sidecar = sidecar or FakeSidecar()
        ctx = ActorRuntimeContext(
            ActorTypeInformation.create(PushPopActor), SERIALIZER, SERIALIZER, self.sidecar
        )
        self.manager = ActorManager(ctx)

    async def call(self, queue: str, method: str, payload: Any = None) -> Any:
        body = b"" if payload is None else SERIALIZER.serialize(payload)
        return SERIALIZER.deserialize(await self.manager.dispatch(ActorId(queue), method, body))

    async def deactivate(self, queue: str) -> None:
        await self.manager.deactivate_actor(ActorId(queue))


FIDELITY_ITEM: dict[str, Any] = {
    "date": "2024-01-01",
    "when": "2024-01-01T10:00:00.123456+02:00",
    "duration": "5m",
    "big": 2**53 + 1,
    "bigger": 123456789012345678901234567890,
    "negative": -(2**63),
    "float": 0.1,
    "exp": 1e-7,
    "whole_float": 2.0,
    "unicode": 'żółć 🧪 \u2028 <b>&amp;</b> \\ "',
    "control": "\u0000\u001f",
    "z_last": {"b": 1, "a": [3, 2, 1]},
    "a_first": None,
}


# ---------------------------------------------------------------- the state adapter


def test_state_keys_need_no_url_escaping() -> None:
    for key in ["meta", "s/0/12", "k/abc-DEF_1", "k/../x?y#z%20", "t/1.5/0", "k/żółw"]:
        assert _URL_SAFE.fullmatch(state_key(key)), key


def test_state_keys_are_one_to_one() -> None:
    keys = ["s/1", "s.1", "s~2F1", "s~1", "k/a b", "k/a+b", "k/a%20b", "k/ą", "k/~C4~85"]
    assert len({state_key(key) for key in keys}) == len(keys)


def test_plain_keys_are_kept_as_they_are() -> None:
    assert state_key("meta") == "meta"
    assert state_key("s/3/17") == "s.3.17"


async def test_values_come_back_byte_exact_through_a_go_store() -> None:
    sidecar = FakeSidecar()
    store = ActorStateStore(sidecar, "PushPopActor", "q")
    value = json.dumps(FIDELITY_ITEM, ensure_ascii=False, separators=(",", ":")).encode()
    store.stage_set("s/0/0", value)
    await store.commit()
    assert await store.read("s/0/0") == value


async def test_a_commit_is_one_transaction() -> None:
    sidecar = FakeSidecar()
    store = ActorStateStore(sidecar, "PushPopActor", "q")
    store.stage_set("a", b"1")
    store.stage_set("b", b"2")
    store.stage_delete("c")
    await store.commit()
    assert len(sidecar.transactions) == 1
    assert [op["operation"] for op in sidecar.transactions[0]] == ["upsert", "upsert", "delete"]


async def test_discard_drops_every_staged_change() -> None:
    sidecar = FakeSidecar()
    store = ActorStateStore(sidecar, "PushPopActor", "q")
    store.stage_set("a", b"1")
    store.stage_delete("b")
    store.discard()
    store.stage_set("c", b"3")
    await store.commit()
    assert [op["request"]["key"] for op in sidecar.transactions[0]] == ["c"]


async def test_a_missing_key_reads_as_none() -> None:
    assert await ActorStateStore(FakeSidecar(), "PushPopActor", "q").read("nothing") is None


async def test_a_foreign_value_is_refused() -> None:
    sidecar = FakeSidecar()
    sidecar.data[("PushPopActor", "q", "meta")] = b'{"written": "by someone else"}'
    with pytest.raises(StoreUnavailableError):
        await ActorStateStore(sidecar, "PushPopActor", "q").read("meta")


async def test_an_unreachable_sidecar_is_store_unavailable() -> None:
    sidecar = FakeSidecar()
    store = ActorStateStore(sidecar, "PushPopActor", "q")
    sidecar.fail_reads = True
    with pytest.raises(StoreUnavailableError):
        await store.read("meta")
    sidecar.fail_saves = True
    store.stage_set("a", b"1")
    with pytest.raises(StoreUnavailableError):
        await store.commit()


# ---------------------------------------------------------------- the actor's methods


async def test_original_push_and_pop_calls_work() -> None:
    rt = Runtime()
    pushed = await rt.call("my-queue", "Push", {"item": {"task": "urgent"}, "priority": 0})
    assert pushed["success"] is True
    assert pushed["items_pushed"] == 1
    popped = await rt.call("my-queue", "Pop")
    assert [m["item"] for m in popped] == [{"task": "urgent"}]
    assert popped[0]["id"] == pushed["ids"][0]
    assert await rt.call("my-queue", "Pop") == []


async def test_pop_drains_priorities_in_order_and_each_fifo() -> None:
    rt = Runtime()
    for i, priority in enumerate([5, 0, 5, 1, 0]):
        await rt.call("q", "Push", {"item": {"n": i}, "priority": priority})
    popped = await rt.call("q", "Pop", {"count": 10})
    assert [m["item"]["n"] for m in popped] == [1, 4, 3, 0, 2]


async def test_items_round_trip_exactly() -> None:
    rt = Runtime()
    await rt.call("q", "Push", {"item": FIDELITY_ITEM})
    await rt.deactivate("q")  # the next call reads everything back from the store
    (message,) = await rt.call("q", "Pop")
    assert message["item"] == FIDELITY_ITEM
    assert list(message["item"]) == list(FIDELITY_ITEM)
    assert type(message["item"]["whole_float"]) is float


async def test_pop_with_ack_then_acknowledge() -> None:
    rt = Runtime()
    await rt.call("q", "Push", {"items": [{"item": {"n": 1}}, {"item": {"n": 2}}]})
    (leased,) = await rt.call("q", "PopWithAck", {"ttl_seconds": 30})
    assert leased["item"] == {"n": 1}
    assert leased["lock_id"] and leased["lock_expires_at"] > 0
    assert (await rt.call("q", "Acknowledge", {"lock_id": leased["lock_id"]})) == {
        "success": True,
        "items_acknowledged": 1,
    }
    assert [m["item"] for m in await rt.call("q", "Pop")] == [{"n": 2}]


async def test_every_operation_is_a_method() -> None:
    rt = Runtime()
    assert (await rt.call("q", "SetConfig", {"max_length": 100}))["max_length"] == 100
    await rt.call("q", "Push", {"items": [{"item": {"n": i}, "priority": i % 2} for i in range(4)]})
    assert [m["item"]["n"] for m in await rt.call("q", "Peek", {"count": 4})] == [0, 2, 1, 3]
    (a, b) = await rt.call("q", "PopWithAck", {"count": 2, "ttl_seconds": 60})
    extended = await rt.call("q", "ExtendLock", {"lock_id": a["lock_id"], "ttl_seconds": 120})
    assert extended["lock_expires_at"] > a["lock_expires_at"]
    assert await rt.call("q", "Nack", {"lock_id": a["lock_id"], "priority": 1}) == {"success": True}
    await rt.call("q", "DeadLetter", {"lock_id": b["lock_id"]})
    dead = await rt.call("q", "DeadLetters")
    assert [(m["item"]["n"], m["dead_letter_reason"]) for m in dead] == [(2, "consumer")]
    stats = await rt.call("q", "Stats")
    assert (stats["queue_id"], stats["ready"], stats["dead_letters"]) == ("q", 3, 1)
    assert (await rt.call("q", "Redrive", {"count": 1}))["items_redriven"] == 1
    assert [m["item"]["n"] for m in await rt.call("q", "Peek", {"count": 4})] == [2, 0, 1, 3]
    (c,) = await rt.call("q", "PopWithAck")
    await rt.call("q", "DeadLetter", {"lock_id": c["lock_id"]})
    assert (await rt.call("q", "PurgeDeadLetters"))["items_purged"] == 1
    assert (await rt.call("q", "Purge", {"priority": 1}))["items_purged"] == 3
    assert (await rt.call("q", "GetConfig"))["max_length"] == 100
    await rt.call("q", "Push", {"item": {"n": 4}})
    assert (await rt.call("q", "Delete"))["items_purged"] == 1
    assert (await rt.call("q", "Stats"))["ready"] == 0


async def test_a_typed_method_raises_the_queue_error() -> None:
    rt = Runtime()
    with pytest.raises(PushPopActorError) as caught:
        await rt.call("q", "Acknowledge", {"lock_id": "never-granted"})
    assert isinstance(caught.value.error, LockNotFoundError)
    assert caught.value.error_code == "LOCK_NOT_FOUND"


async def test_dispatch_answers_results() -> None:
    rt = Runtime()
    answer = await rt.call("q", "Dispatch", {"op": "push", "payload": {"item": {"a": 1}}})
    assert answer["result"]["items_pushed"] == 1
    answer = await rt.call("q", "Dispatch", {"op": "pop", "payload": {"count": 5}})
    assert [m["item"] for m in answer["result"]["items"]] == [{"a": 1}]


async def test_dispatch_reports_how_the_counters_grew() -> None:
    rt = Runtime()
    answer = await rt.call("q", "Dispatch", {"op": "push", "payload": {"item": {"a": 1}}})
    assert answer["counts"] == {"pushed": 1}
    answer = await rt.call("q", "Dispatch", {"op": "peek", "payload": {}})
    assert "counts" not in answer


async def test_dispatch_answers_errors_with_their_status() -> None:
    rt = Runtime()
    await rt.call("q", "Push", {"item": {"a": 1}})
    await rt.call("q", "PopWithAck", {"exclusive": True})
    answer = await rt.call("q", "Dispatch", {"op": "pop", "payload": {}})
    assert answer["status"] == 423
    assert answer["error"]["code"] == "QUEUE_LOCKED"
    assert answer["error"]["lock_expires_at"] > 0


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ({"op": "explode"}, "operation"),
        ({"op": 7}, "op"),
        ({"payload": {}}, "op"),
        ({"op": "pop", "extra": 1}, "extra"),
        ({"op": "pop", "payload": [1]}, "body"),
        ({"op": "push", "payload": {"item": {"a": 1}, "priority": True}}, "priority"),
        ([1, 2], "body"),
    ],
)
async def test_dispatch_refuses_malformed_requests(request_body: Any, field: str) -> None:
    answer = await Runtime().call("q", "Dispatch", request_body)
    assert answer["status"] == 400
    assert answer["error"]["field"] == field


async def test_an_invalid_queue_id_is_answered_and_touches_no_state() -> None:
    rt = Runtime()
    answer = await rt.call("bad id!", "Dispatch", {"op": "push", "payload": {"item": {}}})
    assert answer["status"] == 400
    assert answer["error"]["field"] == "queue_id"
    with pytest.raises(PushPopActorError) as caught:
        await rt.call("bad id!", "Push", {"item": {}})
    assert isinstance(caught.value.error, InvalidArgumentError)
    assert rt.sidecar.reads == 0
    assert rt.sidecar.transactions == []


async def test_a_failed_batch_leaves_nothing_staged_for_the_next_call() -> None:
    rt = Runtime()
    await rt.call("q", "Push", {"item": {"n": 0}})
    saved = len(rt.sidecar.transactions)
    bad_batch = {"items": [{"item": {"n": 1}}, {"item": {"n": 2}}, {"item": "not an object"}]}
    answer = await rt.call("q", "Dispatch", {"op": "push", "payload": bad_batch})
    assert answer["error"]["field"] == "items[2].item"
    assert len(rt.sidecar.transactions) == saved
    await rt.call("q", "Push", {"item": {"n": 3}})
    assert [m["item"]["n"] for m in await rt.call("q", "Pop", {"count": 10})] == [0, 3]


async def test_a_failed_commit_leaves_nothing_staged_for_the_next_call() -> None:
    rt = Runtime()
    await rt.call("q", "Push", {"item": {"n": 0}})
    rt.sidecar.fail_saves = True
    answer = await rt.call("q", "Dispatch", {"op": "push", "payload": {"item": {"n": 1}}})
    assert (answer["status"], answer["error"]["code"]) == (503, "UNAVAILABLE")
    rt.sidecar.fail_saves = False
    await rt.call("q", "Push", {"item": {"n": 2}})
    stored = [json.loads(value) for value in rt.sidecar.data.values()]
    assert not any('{"n":1}' in value for value in stored)
    assert [m["item"]["n"] for m in await rt.call("q", "Pop", {"count": 10})] == [0, 2]


async def test_the_sdk_state_manager_is_never_left_holding_changes() -> None:
    rt = Runtime()
    await rt.call("q", "Push", {"item": {"n": 1}})
    await rt.call("q", "Dispatch", {"op": "push", "payload": {"items": [{"item": 1}]}})
    actor = rt.manager._active_actors["q"]
    assert not await actor._state_manager.get_state_names()


async def test_steady_state_operations_read_nothing_from_the_store() -> None:
    rt = Runtime()
    for i in range(50):
        await rt.call("q", "Push", {"item": {"n": i}})
    reads = rt.sidecar.reads
    for _ in range(50):
        await rt.call("q", "Pop")
    for i in range(50):
        await rt.call("q", "Push", {"item": {"n": i}})
    assert rt.sidecar.reads == reads
    assert len(rt.sidecar.transactions) == 150


async def test_state_survives_reactivation() -> None:
    rt = Runtime()
    await rt.call("q", "Push", {"items": [{"item": {"n": i}} for i in range(5)]})
    (leased,) = await rt.call("q", "PopWithAck", {"ttl_seconds": 60})
    await rt.deactivate("q")
    fresh = Runtime(rt.sidecar)  # a new host over the same store
    assert [m["item"]["n"] for m in await fresh.call("q", "Pop", {"count": 10})] == [1, 2, 3, 4]
    assert (await fresh.call("q", "Acknowledge", {"lock_id": leased["lock_id"]}))[
        "items_acknowledged"
    ] == 1


# ---------------------------------------------------------------- over the SDK's HTTP routes


@pytest.fixture
def sidecar() -> FakeSidecar:
    return FakeSidecar()


@pytest.fixture
async def asgi_app(sidecar: FakeSidecar) -> FastAPI:
    app = FastAPI()
    register_actor(app, api_token="")
    # What register_actor's startup does, with the stand-in instead of the real client.
    await ActorRuntime.register_actor(
        PushPopActor,
        message_serializer=SERIALIZER,
        state_serializer=SERIALIZER,
        actor_client=sidecar,
    )
    return app


@pytest.fixture
async def http_app(asgi_app: FastAPI) -> Any:
    transport = httpx.ASGITransport(app=asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        yield client


async def _daprd_forwarding(client: httpx.AsyncClient, method: str, body: Any) -> Any:
    """Call an actor method as daprd does, and fail as daprd reports an actor's failure."""
    response = await client.put(
        f"/actors/PushPopActor/q/method/{method}", content=SERIALIZER.serialize(body)
    )
    if response.status_code == 200:
        return SERIALIZER.deserialize(response.content)
    daprd_body = {
        "errorCode": "ERR_ACTOR_INVOKE_METHOD",
        "message": f"error from actor service: ({response.status_code}) {response.text}",
    }
    raise DaprHttpError(SERIALIZER, json.dumps(daprd_body).encode(), 500, "Internal Server Error")


async def test_the_config_route_announces_the_actor_type(http_app: httpx.AsyncClient) -> None:
    config = (await http_app.get("/dapr/config")).json()
    assert "PushPopActor" in config["entities"]
    assert config["actorIdleTimeout"].startswith("0h15m0s")
    assert config["drainRebalancedActors"] is True
    assert "reentrancy" not in config


async def test_items_cross_the_http_routes_exactly(http_app: httpx.AsyncClient) -> None:
    await _daprd_forwarding(http_app, "Push", {"item": FIDELITY_ITEM, "priority": 3})
    (message,) = await _daprd_forwarding(http_app, "Pop", None)
    assert message["item"] == FIDELITY_ITEM


async def test_queue_error_rebuilds_the_error_behind_a_proxy_exception(
    http_app: httpx.AsyncClient,
) -> None:
    await _daprd_forwarding(http_app, "Push", {"item": {"a": 1}})
    (leased,) = await _daprd_forwarding(http_app, "PopWithAck", {"exclusive": True})
    with pytest.raises(DaprInternalError) as locked:
        await _daprd_forwarding(http_app, "Pop", None)
    error = queue_error(locked.value)
    assert isinstance(error, QueueLockedError)
    assert error.lock_expires_at == leased["lock_expires_at"]
    with pytest.raises(DaprInternalError) as invalid:
        await _daprd_forwarding(http_app, "Pop", {"count": 0})
    error = queue_error(invalid.value)
    assert isinstance(error, InvalidArgumentError)
    assert error.field == "count"


def test_queue_error_is_none_for_other_failures() -> None:
    assert queue_error(DaprInternalError("connection refused")) is None
    assert queue_error(DaprInternalError("error from actor service: (500) not json")) is None
    assert queue_error(ValueError("x")) is None


def test_queue_error_passes_queue_errors_through() -> None:
    error = LockExpiredError("abc")
    assert queue_error(PushPopActorError(error)) is error
    assert queue_error(error) is error


async def test_a_call_the_sidecar_abandons_commits_nothing(
    asgi_app: FastAPI, http_app: httpx.AsyncClient, sidecar: FakeSidecar
) -> None:
    await _daprd_forwarding(http_app, "Push", {"item": {"a": 1}})
    sidecar.gate = asyncio.Event()  # the next commit waits, as during a placement rebalance
    body_sent = False
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": b'{"count": 1}', "more_body": False}
        await asyncio.sleep(0.1)
        return {"type": "http.disconnect"}  # daprd gave up on the call

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": "/actors/PushPopActor/q/method/Pop",
        "raw_path": b"/actors/PushPopActor/q/method/Pop",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "server": ("app", 80),
        "client": ("daprd", 1234),
    }
    await asyncio.wait_for(asgi_app(scope, receive, send), 5)
    assert sent == []
    sidecar.gate.set()
    (message,) = await _daprd_forwarding(http_app, "Pop", None)
    assert message["item"] == {"a": 1}  # the abandoned pop took nothing
