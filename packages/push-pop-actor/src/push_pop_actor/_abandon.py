"""When the sidecar gives up on an actor call, the call stops before it can commit.

During a placement rebalance daprd cancels the actor calls it is waiting for and runs them
again, on this host or on the queue's new one. The first run, though, is still going in the
app: it is only waiting for the sidecar to accept its state transaction, and once the rebalance
ends it would commit. Both runs would then take effect, and the caller sees only the second:
a pop run twice loses the messages of the first. Cancelling the first run as soon as daprd
drops its connection withdraws its pending transaction (daprd refuses a request whose caller
has gone), so an abandoned call changes nothing. Measured on Dapr 1.18.3: without this, a
rolling restart of one of two hosts lost pop results in most runs.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CancelAbandonedCalls"]

logger = logging.getLogger(__name__)


def _actor_call(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "PUT":
        return False
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.startswith("/actors/")


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class CancelAbandonedCalls:
    """ASGI middleware: cancel an actor call (``PUT /actors/...``) whose caller hung up.

    The request body is read first and replayed to the app, so the connection can be watched
    while the call runs. A call that has started its response is never cancelled.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _actor_call(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # gone before the call began: nothing to run
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        hung_up = asyncio.Event()
        replayed = False
        responding = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            await hung_up.wait()
            return {"type": "http.disconnect"}

        async def tracked_send(message: Message) -> None:
            nonlocal responding
            if message["type"] == "http.response.start":
                responding = True
            await send(message)

        call = asyncio.ensure_future(self.app(scope, replay, tracked_send))
        watch = asyncio.ensure_future(_disconnect(receive))
        try:
            await asyncio.wait({call, watch}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # we are cancelled ourselves (server shutdown): so is the call
            call.cancel()
            watch.cancel()
            raise
        watch.cancel()
        if not call.done() and not responding:
            hung_up.set()
            call.cancel()
            logger.warning("the sidecar abandoned %s; the call was cancelled", scope["path"])
            await asyncio.wait({call})  # let it unwind: its pending transaction is withdrawn
            return
        await call
