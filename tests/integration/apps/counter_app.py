"""A minimal Dapr actor app used only to test the devstack launcher.

One actor type, ``CounterActor``, whose ``Increment`` method adds to a counter kept in actor
state and returns the new value; ``Get`` returns it. Ports come from the environment the
launcher sets: ``APP_PORT`` for this app, ``DAPR_HTTP_PORT``/``DAPR_GRPC_PORT`` for the SDK.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from dapr.actor import Actor, ActorInterface, actormethod
from dapr.ext.fastapi import DaprActor
from fastapi import FastAPI

COUNT_KEY = "count"


class CounterActorInterface(ActorInterface):
    @actormethod(name="Increment")  # type: ignore[untyped-decorator]
    async def increment(self, by: int) -> int:
        raise NotImplementedError

    @actormethod(name="Get")  # type: ignore[untyped-decorator]
    async def get(self) -> int:
        raise NotImplementedError


class CounterActor(Actor, CounterActorInterface):
    async def _count(self) -> int:
        found, value = await self._state_manager.try_get_state(COUNT_KEY)
        return int(value) if found and value is not None else 0

    async def increment(self, by: int) -> int:
        count = await self._count() + int(by)
        await self._state_manager.set_state(COUNT_KEY, count)
        await self._state_manager.save_state()
        return count

    async def get(self) -> int:
        return await self._count()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await actor.register_actor(CounterActor)
    yield


app = FastAPI(title="counter-app", lifespan=lifespan)
actor = DaprActor(app)


def main() -> None:
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["APP_PORT"]), log_level="info")


if __name__ == "__main__":
    main()
