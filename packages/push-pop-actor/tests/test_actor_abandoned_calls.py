"""An actor call the sidecar abandons is cancelled before it can commit."""

from __future__ import annotations

import asyncio
from typing import Any

from push_pop_actor._abandon import CancelAbandonedCalls
from starlette.types import Message, Receive, Scope, Send

BODY = b'{"count": 2}'


def _scope(method: str = "PUT", path: str = "/actors/PushPopActor/q/method/Pop") -> Scope:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


class Caller:
    """The sidecar's side of one request: sends the body, may hang up, collects the answer."""

    def __init__(self, *, hang_up_after: float | None = None) -> None:
        self.hang_up_after = hang_up_after
        self.sent: list[Message] = []
        self._body_sent = False

    async def receive(self) -> Message:
        if not self._body_sent:
            self._body_sent = True
            return {"type": "http.request", "body": BODY, "more_body": False}
        if self.hang_up_after is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(self.hang_up_after)
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)


class SlowActor:
    """An app that reads the call, then waits ``delay`` (forever when None) before answering."""

    def __init__(self, delay: float | None) -> None:
        self.delay = delay
        self.bodies: list[bytes] = []
        self.cancelled = False
        self.finished = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.bodies.append((await receive())["body"])
        try:
            if self.delay is None:
                await asyncio.Event().wait()
            await asyncio.sleep(self.delay or 0)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        self.finished = True
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"[]"})


async def _run(app: Any, caller: Caller, scope: Scope | None = None) -> None:
    await asyncio.wait_for(
        CancelAbandonedCalls(app)(scope or _scope(), caller.receive, caller.send), 5
    )


async def test_an_abandoned_call_is_cancelled() -> None:
    actor = SlowActor(delay=None)
    caller = Caller(hang_up_after=0.05)
    await _run(actor, caller)
    assert actor.cancelled
    assert not actor.finished
    assert caller.sent == []


async def test_the_call_gets_the_whole_body() -> None:
    actor = SlowActor(delay=0)
    await _run(actor, Caller())
    assert actor.bodies == [BODY]


async def test_a_call_that_answers_in_time_is_not_disturbed() -> None:
    actor = SlowActor(delay=0.01)
    caller = Caller(hang_up_after=1.0)
    await _run(actor, caller)
    assert actor.finished and not actor.cancelled
    assert caller.sent[0]["status"] == 200


async def test_a_call_already_answering_is_not_cancelled() -> None:
    async def answers_then_lingers(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(0.1)
        await send({"type": "http.response.body", "body": b"[]"})

    caller = Caller(hang_up_after=0.01)
    await _run(answers_then_lingers, caller)
    assert [m["type"] for m in caller.sent] == ["http.response.start", "http.response.body"]


async def test_other_routes_pass_through_untouched() -> None:
    for scope in [_scope("GET", "/dapr/config"), _scope("PUT", "/queue/q/push")]:
        actor = SlowActor(delay=None)
        caller = Caller(hang_up_after=0.01)
        task = asyncio.ensure_future(_run(actor, caller, scope))
        await asyncio.sleep(0.1)
        assert not actor.cancelled  # nobody watches the connection here
        task.cancel()
