"""The Dapr backend's exchange with the sidecar: the request it sends, the answers it maps.

The real sidecar runs in tests/integration/test_server_dapr.py; here a stand-in answers what a
real one rarely will on demand (its 500s, malformed replies, timeouts).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import httpx
import pytest
from push_pop_actor import ACTOR_TYPE as ACTOR_PACKAGE_TYPE
from push_pop_core import (
    InvalidArgumentError,
    PushPopError,
    QueueLockedError,
    StoreUnavailableError,
)
from push_pop_server import DaprBackend
from push_pop_server._backends import ACTOR_TYPE

Handler = Callable[[httpx.Request], httpx.Response]


def _backend(handler: Handler, **options: object) -> DaprBackend:
    return DaprBackend(3500, transport=httpx.MockTransport(handler), **options)  # type: ignore[arg-type]


def test_the_actor_type_is_the_actor_package_s() -> None:
    assert ACTOR_TYPE == ACTOR_PACKAGE_TYPE


async def test_a_call_is_one_dispatch_to_the_queue_s_actor() -> None:
    seen: list[httpx.Request] = []

    def sidecar(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"result": {"success": True, "items_pushed": 1}})

    backend = _backend(sidecar, api_token="dapr-secret")
    result = await backend.call("orders", "push", {"item": {"a": 1}})
    await backend.aclose()
    assert result == {"success": True, "items_pushed": 1}
    (request,) = seen
    assert request.method == "POST"
    assert (
        str(request.url) == "http://127.0.0.1:3500/v1.0/actors/PushPopActor/orders/method/Dispatch"
    )
    assert request.headers["dapr-api-token"] == "dapr-secret"
    assert json.loads(request.content) == {"op": "push", "payload": {"item": {"a": 1}}}


async def test_no_token_header_without_a_token() -> None:
    seen: list[httpx.Request] = []

    def sidecar(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"result": {}})

    backend = _backend(sidecar)
    await backend.call("q", "stats", {})
    await backend.aclose()
    assert "dapr-api-token" not in seen[0].headers


async def test_answers_are_raw_json_dates_and_big_integers_untouched() -> None:
    raw = (
        b'{"result": {"items": [{"item": '
        b'{"d": "2024-01-01", "t": "5m", "n": 18446744073709551616, "f": 1.0}}]}}'
    )

    def sidecar(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=raw)

    backend = _backend(sidecar)
    result = await backend.call("q", "pop", {})
    await backend.aclose()
    item = result["items"][0]["item"]
    assert item == {"d": "2024-01-01", "t": "5m", "n": 2**64, "f": 1.0}
    assert isinstance(item["f"], float)


async def test_an_error_envelope_becomes_the_core_error() -> None:
    def sidecar(request: httpx.Request) -> httpx.Response:
        body = QueueLockedError(1234.5).to_body()
        return httpx.Response(200, json={**body, "status": 423})

    backend = _backend(sidecar)
    with pytest.raises(QueueLockedError) as info:
        await backend.call("q", "pop", {})
    await backend.aclose()
    assert info.value.lock_expires_at == 1234.5


async def test_an_invalid_argument_keeps_its_field() -> None:
    def sidecar(request: httpx.Request) -> httpx.Response:
        body = InvalidArgumentError("must be an integer", field="items[2].priority").to_body()
        return httpx.Response(200, json={**body, "status": 400})

    backend = _backend(sidecar)
    with pytest.raises(InvalidArgumentError) as info:
        await backend.call("q", "push", {})
    await backend.aclose()
    assert info.value.field == "items[2].priority"
    assert info.value.to_body()["error"]["message"] == "items[2].priority: must be an integer"


@pytest.mark.parametrize("status", [500, 502, 403, 404])
async def test_a_failing_sidecar_is_unavailable(status: int) -> None:
    def sidecar(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"errorCode": "ERR_ACTOR_INVOKE_METHOD", "message": "x"})

    backend = _backend(sidecar)
    with pytest.raises(StoreUnavailableError, match="ERR_ACTOR_INVOKE_METHOD"):
        await backend.call("q", "push", {})
    await backend.aclose()


async def test_a_timeout_is_unavailable() -> None:
    def sidecar(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    backend = _backend(sidecar)
    with pytest.raises(StoreUnavailableError, match="in time"):
        await backend.call("q", "push", {})
    await backend.aclose()


async def test_an_unreachable_sidecar_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe closes
    backend = DaprBackend(port, timeout=2)
    with pytest.raises(StoreUnavailableError, match="cannot be reached"):
        await backend.call("q", "push", {})
    with pytest.raises(StoreUnavailableError):
        await backend.check_ready()
    await backend.aclose()


@pytest.mark.parametrize("content", [b"not json", b"[]", b'{"neither": 1}'])
async def test_a_malformed_answer_is_an_internal_error(content: bytes) -> None:
    def sidecar(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content)

    backend = _backend(sidecar)
    with pytest.raises(PushPopError) as info:
        await backend.call("q", "push", {})
    await backend.aclose()
    assert info.value.status == 500


async def test_a_bad_queue_id_never_reaches_the_sidecar() -> None:
    def sidecar(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the sidecar was called")

    backend = _backend(sidecar)
    with pytest.raises(InvalidArgumentError):
        await backend.call("../../v1.0/state", "push", {})
    await backend.aclose()


def _metadata(types: list[str]) -> dict[str, object]:
    return {"actorRuntime": {"activeActors": [{"type": t, "count": 0} for t in types]}}


@pytest.mark.parametrize(
    ("health", "types", "ready"),
    [(204, ["PushPopActor"], True), (500, ["PushPopActor"], False), (204, ["Other"], False)],
)
async def test_ready_needs_a_healthy_sidecar_hosting_the_actor(
    health: int, types: list[str], ready: bool
) -> None:
    def sidecar(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1.0/healthz":
            return httpx.Response(health)
        return httpx.Response(200, json=_metadata(types))

    backend = _backend(sidecar)
    if ready:
        await backend.check_ready()
    else:
        with pytest.raises(StoreUnavailableError):
            await backend.check_ready()
    await backend.aclose()
