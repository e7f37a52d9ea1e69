"""The REST routes of SPEC §4 and docs/WIRE.md, one queue operation each.

Every route checks the queue id, reads its query parameters and body itself (see
``_input``), runs one push-pop-core operation through the backend and answers its JSON.
Parameters are declared to OpenAPI through ``openapi_extra`` rather than the signature, so
FastAPI never coerces a value before push-pop-core's checks see it. The queue routes are one
table, ``_QUEUE_ROUTES``: all but pop and peek share one handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from push_pop_core import InvalidArgumentError, PushPopError, check_queue_id
from pydantic import BaseModel
from starlette.responses import Response
from starlette.types import Receive

from . import _schemas as s
from ._input import Query, parse_json, read_body, read_json_object
from ._logging import OPERATION_KEY
from ._longpoll import long_poll
from ._metrics import CONTENT_TYPE_LATEST
from ._state import AppState, app_state

__all__ = ["router"]

JSON = dict[str, Any]
router = APIRouter()
QUEUE = "/queue/{queue_id}"
_WAKES = {"push": "items_pushed", "nack": None, "redrive": "items_redriven"}
"""Operations after which messages may be ready: they wake the queue's waiting pops."""


async def _run(request: Request, queue_id: str, op: str, payload: JSON) -> JSON:
    """Run one operation through the backend, with its metrics and long-poll wake-ups."""
    state = app_state(request)
    request.scope[OPERATION_KEY] = op
    started = time.perf_counter()
    try:
        result = await state.backend.call(queue_id, op, payload)
    except PushPopError as exc:
        state.metrics.observe_operation(op, exc.code, time.perf_counter() - started, None)
        raise
    state.metrics.observe_operation(op, "OK", time.perf_counter() - started, result)
    if op in _WAKES:
        field = _WAKES[op]
        if field is None or result.get(field):
            state.arrivals.notify(queue_id)
    return result


def _queue_id(request: Request) -> str:
    return check_queue_id(request.path_params["queue_id"])


async def _no_body(request: Request, state: AppState) -> None:
    """Refuse a body on routes that take none (parameters go in the query string)."""
    raw = await read_body(request, state.settings.max_body_bytes)
    if raw.strip() and parse_json(raw) != {}:
        raise InvalidArgumentError(
            "this route takes no body; its parameters go in the query string", field="body"
        )


async def _body(request: Request, state: AppState, *, required: bool = True) -> JSON:
    return await read_json_object(request, state.settings.max_body_bytes, required=required)


async def _answer(request: Request, op: str, payload: JSON) -> Response:
    return JSONResponse(await _run(request, request.path_params["queue_id"], op, payload))


# ------------------------------------------------------------------------------ queue routes


async def pop(request: Request) -> Response:
    state = app_state(request)
    queue_id = _queue_id(request)
    query = Query(request, ("count", "require_ack", "ttl_seconds", "exclusive", "wait_seconds"))
    payload: JSON = {}
    if (count := query.integer("count")) is not None:
        payload["count"] = count
    if query.boolean("require_ack", False):
        op = "lease"
        if (ttl := query.integer("ttl_seconds")) is not None:
            payload["ttl_seconds"] = ttl
        payload["exclusive"] = query.boolean("exclusive", False)
    else:
        op = "pop"
        for name in ("ttl_seconds", "exclusive"):
            if name in query:
                raise InvalidArgumentError(
                    "applies only to leases: add require_ack=true", field=name
                )
    wait = query.integer("wait_seconds") or 0
    if not 0 <= wait <= s.MAX_WAIT_SECONDS:
        raise InvalidArgumentError(
            f"must be between 0 and {s.MAX_WAIT_SECONDS}", field="wait_seconds"
        )
    await _no_body(request, state)
    if wait == 0:
        return JSONResponse(await _run(request, queue_id, op, payload))
    gone = asyncio.ensure_future(_disconnected(request.receive))
    state.metrics.long_polls.inc()
    try:
        result = await long_poll(
            lambda: _run(request, queue_id, op, payload),
            arrivals=state.arrivals,
            queue_id=queue_id,
            wait_seconds=wait,
            interval=state.settings.long_poll_interval,
            gone=gone,
        )
    finally:
        state.metrics.long_polls.dec()
        gone.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gone
    return JSONResponse(result)


async def _disconnected(receive: Receive) -> None:
    """Returns once the client has hung up (the body, if any, was already read)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def peek(request: Request) -> Response:
    # Unlike the table's other query routes, peek checks its integers before the body.
    _queue_id(request)
    query = Query(request, ("count", "priority"))
    payload: JSON = {"count": query.integer("count"), "priority": query.integer("priority")}
    await _no_body(request, app_state(request))
    return await _answer(request, "peek", payload)


Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class _Route:
    """One ``/queue/{queue_id}...`` route: what OpenAPI says of it and what its handler reads.

    Without an ``endpoint`` the handler is the common one: it checks the queue id and the
    query names, then either reads the JSON ``body`` object or refuses any body and passes the
    query parameters as integers, and runs ``op``.
    """

    method: str
    path: str
    """After ``/queue/{queue_id}``."""
    op: str
    """The push-pop-core operation; also the ``operation_id`` unless one is given."""
    summary: str
    model: type[BaseModel]
    errors: tuple[int, ...] = ()
    """Error statuses beyond 400, 401, 404 and 503."""
    query: tuple[str, ...] = ()
    defaults: dict[str, int] = field(default_factory=dict)
    """Query parameter defaults, for OpenAPI only."""
    body: Literal["none", "required", "optional"] = "none"
    operation_id: str = ""
    endpoint: Endpoint | None = None

    @property
    def name(self) -> str:
        """The operation id, which also names the route and its handler."""
        return self.operation_id or self.op

    def openapi_extra(self) -> JSON:
        extra = s.query(*self.query, **self.defaults)
        if self.body != "none":
            extra |= s.body(self.op, required=self.body == "required")
        return extra

    def handler(self) -> Endpoint:
        if self.endpoint is not None:
            return self.endpoint
        op, names, body = self.op, self.query, self.body

        async def handle(request: Request) -> Response:
            _queue_id(request)
            query = Query(request, names)
            state = app_state(request)
            if body == "none":
                await _no_body(request, state)
                payload = {name: query.integer(name) for name in names}
            else:
                payload = await _body(request, state, required=body == "required")
            return await _answer(request, op, payload)

        handle.__name__ = handle.__qualname__ = self.name
        return handle


_LEASE_ERRORS = (410, 413)
_QUEUE_ROUTES = (
    # messages
    _Route(
        "POST",
        "/push",
        "push",
        "Push one item, or a batch of 1-1000 (all or nothing)",
        s.PushResult,
        (413, 429),
        body="required",
    ),
    _Route(
        "POST",
        "/pop",
        "pop",
        "Pop up to `count` messages, or lease them with require_ack; optionally wait",
        s.Messages,
        (423,),
        query=("count", "require_ack", "ttl_seconds", "exclusive", "wait_seconds"),
        endpoint=pop,
    ),
    _Route(
        "GET",
        "/peek",
        "peek",
        "The next messages in pop order, without removing them",
        s.Messages,
        query=("count", "priority"),
        defaults={"count": 1},
        endpoint=peek,
    ),
    # leases
    _Route(
        "POST",
        "/acknowledge",
        "acknowledge",
        "Settle leases for good (one lock id or a list; all or nothing)",
        s.Acknowledged,
        _LEASE_ERRORS,
        body="required",
    ),
    _Route(
        "POST",
        "/nack",
        "nack",
        "Return a leased message to the front of its priority (or of a new one)",
        s.Success,
        _LEASE_ERRORS,
        body="required",
    ),
    _Route(
        "POST",
        "/extend-lock",
        "extend_lock",
        "Move a lease's expiry to now + ttl_seconds",
        s.LockExtended,
        _LEASE_ERRORS,
        body="required",
    ),
    _Route(
        "POST",
        "/deadletter",
        "dead_letter",
        "Move a leased message to the dead-letter list",
        s.Success,
        _LEASE_ERRORS,
        body="required",
    ),
    # inspection
    _Route(
        "GET",
        "/stats",
        "stats",
        "Depth per priority, leases, dead letters, oldest ages and lifetime counters",
        s.QueueStats,
    ),
    # dead letters
    _Route(
        "GET",
        "/dead-letters",
        "dead_letters",
        "The oldest dead letters, with the reason of each",
        s.Messages,
        query=("count",),
        defaults={"count": 100},
    ),
    _Route(
        "POST",
        "/dead-letters/redrive",
        "redrive",
        "Move dead letters (all, or the oldest `count`) back to the queue",
        s.Redriven,
        (413, 429),
        body="optional",
    ),
    _Route("DELETE", "/dead-letters", "purge_dead_letters", "Drop every dead letter", s.Purged),
    # whole queue
    _Route(
        "POST",
        "/purge",
        "purge",
        "Drop one priority's ready messages, or (without one) all messages and leases",
        s.Purged,
        query=("priority",),
    ),
    _Route(
        "DELETE",
        "",
        "delete",
        "Delete the queue: messages, leases, dead letters, settings and counters",
        s.Purged,
        operation_id="delete_queue",
    ),
    _Route("GET", "/config", "get_config", "The queue's settings", s.QueueConfig),
    _Route(
        "PUT",
        "/config",
        "set_config",
        "Change some of the queue's settings; answers the full settings",
        s.QueueConfig,
        (413,),
        body="required",
    ),
)

for _route in _QUEUE_ROUTES:
    router.add_api_route(
        QUEUE + _route.path,
        _route.handler(),
        methods=[_route.method],
        name=_route.name,
        operation_id=_route.name,
        summary=_route.summary,
        response_model=_route.model,
        responses=s.errors(*_route.errors),
        openapi_extra=_route.openapi_extra(),
    )


# ------------------------------------------------------------------------------ operations


@router.get(
    "/health", operation_id="health", summary="The process is alive", response_model=s.Health
)
async def health() -> Response:
    return JSONResponse({"status": "ok"})


@router.get(
    "/ready",
    operation_id="ready",
    summary="The backend answers (SQLite, or the sidecar with the actor registered)",
    response_model=s.Health,
    responses={503: {"model": s.ErrorBody, "description": "The backend is not reachable."}},
)
async def ready(request: Request) -> Response:
    await app_state(request).backend.check_ready()
    return JSONResponse({"status": "ready"})


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    return Response(app_state(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)
