"""The REST routes of SPEC §4 and docs/WIRE.md, one queue operation each.

Every route checks the queue id, reads its query parameters and body itself (see
``_input``), runs one push-pop-core operation through the backend and answers its JSON.
Parameters are declared to OpenAPI through ``openapi_extra`` rather than the signature, so
FastAPI never coerces a value before push-pop-core's checks see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from push_pop_core import InvalidArgumentError, PushPopError, check_queue_id
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


# ------------------------------------------------------------------------------ messages


@router.post(
    f"{QUEUE}/push",
    operation_id="push",
    summary="Push one item, or a batch of 1-1000 (all or nothing)",
    response_model=s.PushResult,
    responses=s.errors(413, 429),
    openapi_extra=s.query() | s.body("push"),
)
async def push(request: Request) -> Response:
    _queue_id(request)
    Query(request, ())
    return await _answer(request, "push", await _body(request, app_state(request)))


@router.post(
    f"{QUEUE}/pop",
    operation_id="pop",
    summary="Pop up to `count` messages, or lease them with require_ack; optionally wait",
    response_model=s.Messages,
    responses=s.errors(423),
    openapi_extra=s.query("count", "require_ack", "ttl_seconds", "exclusive", "wait_seconds"),
)
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


@router.get(
    f"{QUEUE}/peek",
    operation_id="peek",
    summary="The next messages in pop order, without removing them",
    response_model=s.Messages,
    responses=s.errors(),
    openapi_extra=s.query("count", "priority", count=1),
)
async def peek(request: Request) -> Response:
    _queue_id(request)
    query = Query(request, ("count", "priority"))
    payload: JSON = {"count": query.integer("count"), "priority": query.integer("priority")}
    await _no_body(request, app_state(request))
    return await _answer(request, "peek", payload)


# ------------------------------------------------------------------------------ leases


@router.post(
    f"{QUEUE}/acknowledge",
    operation_id="acknowledge",
    summary="Settle leases for good (one lock id or a list; all or nothing)",
    response_model=s.Acknowledged,
    responses=s.errors(410, 413),
    openapi_extra=s.query() | s.body("acknowledge"),
)
async def acknowledge(request: Request) -> Response:
    _queue_id(request)
    Query(request, ())
    return await _answer(request, "acknowledge", await _body(request, app_state(request)))


@router.post(
    f"{QUEUE}/nack",
    operation_id="nack",
    summary="Return a leased message to the front of its priority (or of a new one)",
    response_model=s.Success,
    responses=s.errors(410, 413),
    openapi_extra=s.query() | s.body("nack"),
)
async def nack(request: Request) -> Response:
    _queue_id(request)
    Query(request, ())
    return await _answer(request, "nack", await _body(request, app_state(request)))


@router.post(
    f"{QUEUE}/extend-lock",
    operation_id="extend_lock",
    summary="Move a lease's expiry to now + ttl_seconds",
    response_model=s.LockExtended,
    responses=s.errors(410, 413),
    openapi_extra=s.query() | s.body("extend_lock"),
)
async def extend_lock(request: Request) -> Response:
    _queue_id(request)
    Query(request, ())
    return await _answer(request, "extend_lock", await _body(request, app_state(request)))


@router.post(
    f"{QUEUE}/deadletter",
    operation_id="dead_letter",
    summary="Move a leased message to the dead-letter list",
    response_model=s.Success,
    responses=s.errors(410, 413),
    openapi_extra=s.query() | s.body("dead_letter"),
)
async def dead_letter(request: Request) -> Response:
    _queue_id(request)
    Query(request, ())
    return await _answer(request, "dead_letter", await _body(request, app_state(request)))


# ------------------------------------------------------------------------------ inspection


@router.get(
    f"{QUEUE}/stats",
    operation_id="stats",
    summary="Depth per priority, leases, dead letters, oldest ages and lifetime counters",
    response_model=s.QueueStats,
    responses=s.errors(),
    openapi_extra=s.query(),
)
async def stats(request: Request) -> Response:
    _queue_id(request)
    Query(request, ())
    await _no_body(request, app_state(request))
    return await _answer(request, "stats", {})


# ------------------------------------------------------------------------------ dead letters


@router.get(
    f"{QUEUE}/dead-letters",
    operation_id="dead_letters",
    summary="The oldest dead letters, with the reason of each",
    response_model=s.Messages,
    responses=s.errors(),
    openapi_extra=s.query("count", count=100),
)
async def dead_letters(request: Request) -> Response:
    _queue_id(request)
    query = Query(request, ("count",))
    await _no_body(request, app_state(request))
    return await _answer(request, "dead_letters", {"count": query.integer("count")})


@router.post(
    f"{QUEUE}/dead-letters/redrive",
    operation_id="redrive",
    summary="Move dead letters (all, or the oldest `count`) back to the queue",
    response_model=s.Redriven,
    responses=s.errors(413, 429),
    openapi_extra=s.query() | s.body("redrive", required=False),
)
async def redrive(request: Request) -> Response:
    _queue_id(request)
    Query(request, ())
    body = await _body(request, app_state(request), required=False)
    return await _answer(request, "redrive", body)


@router.delete(
    f"{QUEUE}/dead-letters",
    operation_id="purge_dead_letters",
    summary="Drop every dead letter",
    response_model=s.Purged,
    responses=s.errors(),
    openapi_extra=s.query(),
)
async def purge_dead_letters(request: Request) -> Response:
    _queue_id(request)
    Query(request, ())
    await _no_body(request, app_state(request))
    return await _answer(request, "purge_dead_letters", {})


# ------------------------------------------------------------------------------ whole queue


@router.post(
    f"{QUEUE}/purge",
    operation_id="purge",
    summary="Drop one priority's ready messages, or (without one) all messages and leases",
    response_model=s.Purged,
    responses=s.errors(),
    openapi_extra=s.query("priority"),
)
async def purge(request: Request) -> Response:
    _queue_id(request)
    query = Query(request, ("priority",))
    await _no_body(request, app_state(request))
    return await _answer(request, "purge", {"priority": query.integer("priority")})


@router.delete(
    QUEUE,
    operation_id="delete_queue",
    summary="Delete the queue: messages, leases, dead letters, settings and counters",
    response_model=s.Purged,
    responses=s.errors(),
    openapi_extra=s.query(),
)
async def delete_queue(request: Request) -> Response:
    _queue_id(request)
    Query(request, ())
    await _no_body(request, app_state(request))
    return await _answer(request, "delete", {})


@router.get(
    f"{QUEUE}/config",
    operation_id="get_config",
    summary="The queue's settings",
    response_model=s.QueueConfig,
    responses=s.errors(),
    openapi_extra=s.query(),
)
async def get_config(request: Request) -> Response:
    _queue_id(request)
    Query(request, ())
    await _no_body(request, app_state(request))
    return await _answer(request, "get_config", {})


@router.put(
    f"{QUEUE}/config",
    operation_id="set_config",
    summary="Change some of the queue's settings; answers the full settings",
    response_model=s.QueueConfig,
    responses=s.errors(413),
    openapi_extra=s.query() | s.body("set_config"),
)
async def set_config(request: Request) -> Response:
    _queue_id(request)
    Query(request, ())
    return await _answer(request, "set_config", await _body(request, app_state(request)))


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
