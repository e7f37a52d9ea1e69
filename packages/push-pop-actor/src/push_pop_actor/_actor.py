"""The ``PushPopActor``: one queue per actor id, every operation of SPEC §2 as a method.

Each method hands its payload to :func:`push_pop_core.execute`, the one code path the REST
server's embedded mode uses too, over a :class:`QueueEngine` kept for the actor's activation
(its cache is valid because the actor is the only writer of its keys). The typed methods raise
:class:`PushPopActorError` on failure; ``Dispatch`` answers the error instead of raising.
"""

from __future__ import annotations

import contextlib
import logging
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from dapr.actor import Actor, ActorId, ActorInterface, actormethod
from dapr.actor.runtime.context import ActorRuntimeContext
from push_pop_core import (
    InvalidArgumentError,
    PushPopError,
    QueueEngine,
    Totals,
    check_queue_id,
    execute,
)

from ._errors import PushPopActorError
from ._state import ActorStateStore

__all__ = ["ACTOR_TYPE", "PushPopActor", "PushPopActorInterface"]

ACTOR_TYPE = "PushPopActor"
"""The Dapr actor type (the class name, as the SDK registers it)."""

JSON = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])

logger = logging.getLogger(__name__)


def _method(name: str) -> Callable[[F], F]:
    decorator: Callable[[F], F] = actormethod(name=name)
    return decorator


class PushPopActorInterface(ActorInterface):
    """The methods of a push-pop queue actor; payloads and results are the wire shapes."""

    @_method("Push")
    @abstractmethod
    async def Push(self, data: JSON) -> JSON:
        """``{"item", "priority"?, "idempotency_key"?}`` or ``{"items": [...]}`` -> the ids."""
        ...

    @_method("Pop")
    @abstractmethod
    async def Pop(self, data: JSON | None = None) -> list[JSON]:
        """Remove and return up to ``count`` (default 1) messages; ``[]`` when empty."""
        ...

    @_method("PopWithAck")
    @abstractmethod
    async def PopWithAck(self, data: JSON | None = None) -> list[JSON]:
        """Lease up to ``count`` messages for ``ttl_seconds`` (default 30), ``exclusive``?"""
        ...

    @_method("Acknowledge")
    @abstractmethod
    async def Acknowledge(self, data: JSON) -> JSON:
        """``{"lock_id"}`` or ``{"lock_ids": [...]}``: remove leased messages for good."""
        ...

    @_method("Nack")
    @abstractmethod
    async def Nack(self, data: JSON) -> JSON:
        """``{"lock_id", "priority"?}``: return a leased message to the front at once."""
        ...

    @_method("ExtendLock")
    @abstractmethod
    async def ExtendLock(self, data: JSON) -> JSON:
        """``{"lock_id", "ttl_seconds"}``: the lease now expires ``ttl_seconds`` from now."""
        ...

    @_method("DeadLetter")
    @abstractmethod
    async def DeadLetter(self, data: JSON) -> JSON:
        """``{"lock_id"}``: move a leased message to the dead-letter list."""
        ...

    @_method("Peek")
    @abstractmethod
    async def Peek(self, data: JSON | None = None) -> list[JSON]:
        """The next ``count`` messages in pop order (of one ``priority``?), left in place."""
        ...

    @_method("Stats")
    @abstractmethod
    async def Stats(self, data: JSON | None = None) -> JSON:
        """Ready, in-flight and dead-letter counts, ages per priority, lifetime totals."""
        ...

    @_method("DeadLetters")
    @abstractmethod
    async def DeadLetters(self, data: JSON | None = None) -> list[JSON]:
        """The first ``count`` (default 100) dead letters, with their reasons."""
        ...

    @_method("Redrive")
    @abstractmethod
    async def Redrive(self, data: JSON | None = None) -> JSON:
        """Return ``count`` (default all) dead letters to the queue (to ``priority``?)."""
        ...

    @_method("PurgeDeadLetters")
    @abstractmethod
    async def PurgeDeadLetters(self, data: JSON | None = None) -> JSON:
        """Drop every dead letter."""
        ...

    @_method("Purge")
    @abstractmethod
    async def Purge(self, data: JSON | None = None) -> JSON:
        """Drop one ``priority``'s ready messages, or all ready, leased and dead messages."""
        ...

    @_method("Delete")
    @abstractmethod
    async def Delete(self, data: JSON | None = None) -> JSON:
        """Drop every message of the queue (ready, leased and dead)."""
        ...

    @_method("GetConfig")
    @abstractmethod
    async def GetConfig(self, data: JSON | None = None) -> JSON:
        """The queue's settings."""
        ...

    @_method("SetConfig")
    @abstractmethod
    async def SetConfig(self, data: JSON) -> JSON:
        """Change some settings; returns all of them."""
        ...

    @_method("Dispatch")
    @abstractmethod
    async def Dispatch(self, data: JSON) -> JSON:
        """``{"op", "payload"}`` -> ``{"result"}`` or ``{"error", "status"}``; never raises."""
        ...


class PushPopActor(Actor, PushPopActorInterface):
    """A persistent priority FIFO queue whose name is the actor id."""

    def __init__(self, ctx: ActorRuntimeContext, actor_id: ActorId) -> None:
        super().__init__(ctx, actor_id)
        self._engine: QueueEngine | None = None
        self._counts: dict[str, int] = {}

    def _count(self, queue_id: str, grown: Totals) -> None:
        for name, value in grown.to_wire().items():
            if value:
                self._counts[name] = self._counts.get(name, 0) + value

    async def _on_activate(self) -> None:
        # An invalid queue id gets no engine: every call answers the reason.
        with contextlib.suppress(InvalidArgumentError):
            self._queue()

    async def _on_deactivate(self) -> None:
        self._engine = None

    def _queue(self) -> QueueEngine:
        if self._engine is None:
            queue_id = check_queue_id(self.id.id)
            store = ActorStateStore(
                self.runtime_ctx.dapr_client, self.runtime_ctx.actor_type_info.type_name, queue_id
            )
            self._engine = QueueEngine(store, queue_id=queue_id, on_commit=self._count)
        return self._engine

    async def _run(self, operation: str, payload: object) -> JSON:
        try:
            return await execute(self._queue(), operation, payload)
        except PushPopError:
            raise
        except Exception:
            # The SDK would answer only the exception's repr; keep the traceback in the log.
            logger.exception("queue %r: %s failed unexpectedly", self.id.id, operation)
            raise

    async def _call(self, operation: str, payload: object) -> JSON:
        try:
            return await self._run(operation, payload)
        except PushPopError as exc:
            raise PushPopActorError(exc) from exc

    async def _items(self, operation: str, payload: object) -> list[JSON]:
        items: list[JSON] = (await self._call(operation, payload))["items"]
        return items

    async def Push(self, data: JSON) -> JSON:
        return await self._call("push", data)

    async def Pop(self, data: JSON | None = None) -> list[JSON]:
        return await self._items("pop", data)

    async def PopWithAck(self, data: JSON | None = None) -> list[JSON]:
        return await self._items("lease", data)

    async def Acknowledge(self, data: JSON) -> JSON:
        return await self._call("acknowledge", data)

    async def Nack(self, data: JSON) -> JSON:
        return await self._call("nack", data)

    async def ExtendLock(self, data: JSON) -> JSON:
        return await self._call("extend_lock", data)

    async def DeadLetter(self, data: JSON) -> JSON:
        return await self._call("dead_letter", data)

    async def Peek(self, data: JSON | None = None) -> list[JSON]:
        return await self._items("peek", data)

    async def Stats(self, data: JSON | None = None) -> JSON:
        return await self._call("stats", data)

    async def DeadLetters(self, data: JSON | None = None) -> list[JSON]:
        return await self._items("dead_letters", data)

    async def Redrive(self, data: JSON | None = None) -> JSON:
        return await self._call("redrive", data)

    async def PurgeDeadLetters(self, data: JSON | None = None) -> JSON:
        return await self._call("purge_dead_letters", data)

    async def Purge(self, data: JSON | None = None) -> JSON:
        return await self._call("purge", data)

    async def Delete(self, data: JSON | None = None) -> JSON:
        return await self._call("delete", data)

    async def GetConfig(self, data: JSON | None = None) -> JSON:
        return await self._call("get_config", data)

    async def SetConfig(self, data: JSON) -> JSON:
        return await self._call("set_config", data)

    async def Dispatch(self, data: JSON) -> JSON:
        try:
            if not isinstance(data, dict):
                raise InvalidArgumentError("must be a JSON object", field="body")
            unknown = sorted(set(data) - {"op", "payload"})
            if unknown:
                raise InvalidArgumentError("unknown field; expected op, payload", field=unknown[0])
            operation = data.get("op")
            if not isinstance(operation, str):
                raise InvalidArgumentError("must be an operation name", field="op")
            self._counts = {}
            result = await self._run(operation, data.get("payload"))
            # How the queue's lifetime counters grew, expiries included, for the server's metrics.
            return (
                {"result": result, "counts": self._counts} if self._counts else {"result": result}
            )
        except PushPopError as exc:
            return {**exc.to_body(), "status": exc.status}
