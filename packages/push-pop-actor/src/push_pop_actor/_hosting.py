"""Hosting the actor in a FastAPI app, and calling it from Python.

:func:`register_actor` wires the Dapr actor routes into an app and registers
:class:`PushPopActor` with the plain JSON serializer once the app starts. :func:`queue_proxy`
hands callers an ``ActorProxy`` that decodes results with the same serializer.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from dapr.actor import ActorId, ActorProxy, ActorProxyFactory, ActorRuntime
from dapr.actor.runtime.config import ActorRuntimeConfig
from dapr.clients.http.dapr_actor_http_client import DaprActorHttpClient
from dapr.conf import settings
from dapr.ext.fastapi import DaprActor
from fastapi import FastAPI
from push_pop_core import check_queue_id

from ._abandon import CancelAbandonedCalls
from ._actor import ACTOR_TYPE, PushPopActor, PushPopActorInterface
from ._serializer import PlainJSONSerializer
from ._token import require_sidecar_token

__all__ = ["actor_runtime_config", "queue_proxy", "register_actor"]


def actor_runtime_config(
    *,
    idle_timeout: timedelta = timedelta(minutes=15),
    scan_interval: timedelta = timedelta(seconds=30),
    drain_timeout: timedelta = timedelta(seconds=2),
) -> ActorRuntimeConfig:
    """Actor settings that suit a queue.

    An idle queue is deactivated after ``idle_timeout`` (its state is durable; only its cache
    goes). When placement moves a queue to another host, a call in progress gets
    ``drain_timeout`` to finish first (operations take milliseconds). Reentrancy stays off:
    one operation per queue at a time is what makes every operation atomic. No reminders or
    timers are used, so the actor needs no scheduler.
    """
    return ActorRuntimeConfig(
        actor_idle_timeout=idle_timeout,
        actor_scan_interval=scan_interval,
        drain_ongoing_call_timeout=drain_timeout,
        drain_rebalanced_actors=True,
        reentrancy=None,
        actor_type_configs=[],
    )


def register_actor(
    app: FastAPI,
    *,
    actor_config: ActorRuntimeConfig | None = None,
    api_token: str | None = None,
    http_timeout_seconds: int | None = None,
) -> DaprActor:
    """Serve :class:`PushPopActor` from ``app`` (call before the app starts).

    Adds the Dapr actor routes (``/dapr/config``, ``/actors/...``), cancels actor calls the
    sidecar abandons (:class:`CancelAbandonedCalls`), guards the routes with the sidecar
    token (``api_token``, default env ``APP_API_TOKEN``; no guard when neither is set), sets the
    actor runtime config (``actor_config``, default :func:`actor_runtime_config`; it is global
    to the process, so pass one that also covers your own actor types), and registers the actor
    with :class:`PlainJSONSerializer` for messages and state when the app starts.
    """
    app.add_middleware(CancelAbandonedCalls)
    require_sidecar_token(app, api_token)  # added last: the outermost check
    ActorRuntime.set_actor_config(actor_config or actor_runtime_config())
    dapr_actor = DaprActor(app)
    timeout = http_timeout_seconds or settings.DAPR_HTTP_TIMEOUT_SECONDS
    serializer = PlainJSONSerializer()
    app_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        # The SDK's client waits (blocking) until the sidecar answers: keep that off the loop.
        client = await asyncio.to_thread(DaprActorHttpClient, serializer, timeout)
        await ActorRuntime.register_actor(
            PushPopActor,
            message_serializer=serializer,
            state_serializer=serializer,
            http_timeout_seconds=timeout,
            actor_client=client,
        )
        async with app_lifespan(app_) as state:
            yield state

    app.router.lifespan_context = lifespan
    return dapr_actor


@functools.cache
def _proxy_factory(http_timeout_seconds: int) -> ActorProxyFactory:
    return ActorProxyFactory(
        message_serializer=PlainJSONSerializer(), http_timeout_seconds=http_timeout_seconds
    )


def queue_proxy(
    queue_id: str, *, actor_type: str = ACTOR_TYPE, http_timeout_seconds: int | None = None
) -> ActorProxy:
    """An ``ActorProxy`` to the queue ``queue_id`` that returns items exactly as pushed.

    The stock ``ActorProxy.create(...)`` works as well, but its decoder turns date-like strings
    in results into ``datetime`` objects. The first call waits until the sidecar
    (``DAPR_HTTP_PORT`` / ``DAPR_HTTP_ENDPOINT``) answers, as the SDK's own factory does.
    """
    factory = _proxy_factory(http_timeout_seconds or settings.DAPR_HTTP_TIMEOUT_SECONDS)
    return factory.create(actor_type, ActorId(check_queue_id(queue_id)), PushPopActorInterface)
