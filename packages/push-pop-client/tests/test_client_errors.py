"""Error answers become the matching exception, with the server's code, message and context."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from push_pop_client import (
    APIStatusError,
    AsyncPushPopClient,
    AuthenticationError,
    BadRequestError,
    LockExpiredError,
    LockNotFoundError,
    NotFoundError,
    PushPopClient,
    PushPopError,
    QueueFullError,
    QueueLockedError,
    ServerError,
    TooLargeError,
    UnavailableError,
)


def answering(status: int, body: Any = None, text: str | None = None) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(answer)


def error_body(code: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": f"{code} happened", **extra}}


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (400, "INVALID_ARGUMENT", BadRequestError),
        (422, "INVALID_ARGUMENT", BadRequestError),
        (401, "UNAUTHORIZED", AuthenticationError),
        (404, "LOCK_NOT_FOUND", LockNotFoundError),
        (404, "NOT_FOUND", NotFoundError),
        (405, "METHOD_NOT_ALLOWED", APIStatusError),
        (410, "LOCK_EXPIRED", LockExpiredError),
        (413, "TOO_LARGE", TooLargeError),
        (423, "QUEUE_LOCKED", QueueLockedError),
        (429, "QUEUE_FULL", QueueFullError),
        (500, "INTERNAL", ServerError),
        (503, "UNAVAILABLE", UnavailableError),
    ],
)
async def test_each_status_raises_its_error_class(
    status: int, code: str, error_class: type[APIStatusError]
) -> None:
    transport = answering(status, error_body(code))
    async with AsyncPushPopClient("http://t", transport=transport, max_retries=0) as client:
        with pytest.raises(error_class) as caught:
            await client.queue("q").ack("L1")
    assert type(caught.value) is error_class
    assert (caught.value.status_code, caught.value.code) == (status, code)
    assert caught.value.message == f"{code} happened"


def test_lock_not_found_is_also_a_not_found_error() -> None:
    assert issubclass(LockNotFoundError, NotFoundError)


def test_unavailable_is_also_a_server_error() -> None:
    assert issubclass(UnavailableError, ServerError)


def test_bad_request_names_the_field() -> None:
    transport = answering(400, error_body("INVALID_ARGUMENT", field="items[3].priority"))
    with (
        PushPopClient("http://t", transport=transport) as client,
        pytest.raises(BadRequestError) as e,
    ):
        client.queue("q").push({})
    assert e.value.field == "items[3].priority"


def test_queue_locked_carries_the_lock_expiry() -> None:
    transport = answering(423, error_body("QUEUE_LOCKED", lock_expires_at=1764780030.5))
    with (
        PushPopClient("http://t", transport=transport) as client,
        pytest.raises(QueueLockedError) as e,
    ):
        client.queue("q").pop()
    assert e.value.lock_expires_at == 1764780030.5


def test_an_error_without_the_json_shape_keeps_the_status_and_text() -> None:
    transport = answering(502, text="<html>Bad Gateway</html>")
    with PushPopClient("http://t", transport=transport) as client, pytest.raises(ServerError) as e:
        client.queue("q").pop()
    assert e.value.status_code == 502 and e.value.code is None
    assert "Bad Gateway" in e.value.message


def test_an_unknown_4xx_is_a_plain_status_error() -> None:
    transport = answering(418, {"error": {"code": "TEAPOT", "message": "short and stout"}})
    with (
        PushPopClient("http://t", transport=transport) as client,
        pytest.raises(APIStatusError) as e,
    ):
        client.queue("q").stats()
    assert type(e.value) is APIStatusError and e.value.code == "TEAPOT"


def test_the_error_text_names_code_and_message() -> None:
    transport = answering(410, error_body("LOCK_EXPIRED"))
    with PushPopClient("http://t", transport=transport) as client, pytest.raises(PushPopError) as e:
        client.queue("q").ack("L1")
    assert str(e.value) == "LOCK_EXPIRED: LOCK_EXPIRED happened"
