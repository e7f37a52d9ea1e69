"""What happens around every request: request id, bearer token, metrics and the access log.

A plain ASGI middleware (not ``BaseHTTPMiddleware``), so streaming and client disconnects
reach the routes untouched. The token is checked before routing and before any body is read:
a request without it learns nothing, not even whether its route exists.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._logging import OPERATION_KEY, REQUEST_ID_KEY, logger, request_id_var
from ._responses import problem
from ._state import AppState

__all__ = ["RequestMiddleware"]

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _is_queue_path(path: str) -> bool:
    return path == "/queue" or path.startswith("/queue/")


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, state: AppState, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.state = state
        self._routes = routes
        token = state.settings.api_token
        self._token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        raw_id = _header(scope, b"x-request-id")
        candidate = raw_id.decode("latin-1") if raw_id else ""
        request_id = candidate if _REQUEST_ID.fullmatch(candidate) else uuid.uuid4().hex
        scope[REQUEST_ID_KEY] = request_id
        context = request_id_var.set(request_id)
        status = 500  # unless a response starts: an exception escaped every handler

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        path: str = scope["path"]
        try:
            refusal = self._refuse(scope, path)
            if refusal is not None:
                await refusal(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, path, status, time.perf_counter() - started)
            request_id_var.reset(context)

    def _refuse(self, scope: Scope, path: str) -> Any:
        """A response for requests refused before routing, or None to go on."""
        if not _is_queue_path(path):
            return None
        if self._token is not None and not self._authorized(scope):
            return problem(
                401,
                "UNAUTHORIZED",
                "this route needs the header 'Authorization: Bearer <token>' with the "
                "server's token",
                headers={"WWW-Authenticate": 'Bearer realm="push-pop"'},
            )
        raw_path = scope.get("raw_path")
        if isinstance(raw_path, bytes) and b"%2f" in raw_path.lower():
            # "/" decoded from %2F would split a queue id into path segments.
            return problem(
                400,
                "INVALID_ARGUMENT",
                "queue_id: must be 1-200 characters: a letter or digit, then letters, digits "
                "or ._:-",
                field="queue_id",
            )
        return None

    def _authorized(self, scope: Scope) -> bool:
        assert self._token is not None
        value = _header(scope, b"authorization")
        if value is None:
            return False
        scheme, _, credentials = value.strip().partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        return hmac.compare_digest(credentials.strip(), self._token)

    def _route_template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None:
            return str(route.path)
        # Refused before routing (401), or a plain Starlette route (/openapi.json, /docs):
        # find the template without running anything.
        app_routes = getattr(scope.get("app"), "routes", [])
        for candidate in [*self._routes, *app_routes]:
            path = getattr(candidate, "path", None)
            if path is not None and candidate.matches(scope)[0] is Match.FULL:
                return str(path)
        return "unmatched"

    def _record(self, scope: Scope, path: str, status: int, seconds: float) -> None:
        method: str = scope["method"]
        route = self._route_template(scope)
        self.state.metrics.observe_request(method, route, status, seconds)
        fields: dict[str, Any] = {
            "method": method,
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
        }
        queue_id = scope.get("path_params", {}).get("queue_id")
        if queue_id is not None:
            fields["queue_id"] = queue_id
        operation = scope.get(OPERATION_KEY)
        if operation is not None:
            fields["operation"] = operation
        client = scope.get("client")
        if client:
            fields["client"] = f"{client[0]}:{client[1]}"
        fields["request_id"] = scope[REQUEST_ID_KEY]
        if status >= 500:
            level = logging.ERROR
        elif path in _QUIET_PATHS:
            level = logging.DEBUG
        else:
            level = logging.INFO
        logger.log(level, "%s %s %d", method, path, status, extra=fields)
