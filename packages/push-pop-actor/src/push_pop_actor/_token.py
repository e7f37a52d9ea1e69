"""Only the Dapr sidecar may call the actor routes (SPEC §5).

With ``APP_API_TOKEN`` set, daprd sends it in the ``dapr-api-token`` header of every call to the
app. :class:`SidecarTokenGuard` refuses ``/actors/...`` and ``/dapr/...`` requests without the
matching header, so no client can reach an actor method around the REST server's checks. Other
routes pass untouched: the REST server guards its own with ``PUSH_POP_API_TOKEN``.
"""

from __future__ import annotations

import hmac
import json
import os

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["SIDECAR_TOKEN_HEADER", "SidecarTokenGuard", "require_sidecar_token"]

SIDECAR_TOKEN_HEADER = "dapr-api-token"
_HEADER = SIDECAR_TOKEN_HEADER.encode()
_UNAUTHORIZED = json.dumps(
    {"error": {"code": "UNAUTHORIZED", "message": "only the Dapr sidecar may call this route"}}
).encode()


def _sidecar_route(path: str) -> bool:
    return path == "/actors" or path.startswith(("/actors/", "/dapr/"))


class SidecarTokenGuard:
    """ASGI middleware: sidecar routes answer 401 unless ``dapr-api-token`` matches ``token``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("the sidecar token must not be empty")
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if _sidecar_route(path) and not self._authorized(scope):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(_UNAUTHORIZED)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": _UNAUTHORIZED})
                return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        supplied = [value for name, value in scope["headers"] if name.lower() == _HEADER]
        # Exactly one header, compared in constant time.
        return len(supplied) == 1 and hmac.compare_digest(supplied[0], self._token)


def require_sidecar_token(app: Starlette, token: str | None = None) -> bool:
    """Guard ``app``'s sidecar routes with ``token`` (default: env ``APP_API_TOKEN``).

    Returns whether a guard was installed: without a token there is nothing to check.
    """
    token = os.environ.get("APP_API_TOKEN") if token is None else token
    if not token:
        return False
    app.add_middleware(SidecarTokenGuard, token=token)
    return True
