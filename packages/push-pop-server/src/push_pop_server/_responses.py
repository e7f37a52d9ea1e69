"""Every error leaves as ``{"error": {"code", "message", ...}}`` with its status (WIRE.md).

Queue errors carry push-pop-core's own body; routing, validation and unexpected errors are
translated here into the same shape, so no client ever sees HTML, plain text or a traceback.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from push_pop_core import PushPopError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ._logging import REQUEST_ID_KEY, logger, request_id_var

__all__ = ["error_response", "install_error_handlers", "problem"]

_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "TOO_LARGE",
    503: "UNAVAILABLE",
}


def problem(
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> JSONResponse:
    """An error response of the wire shape."""
    detail = {"code": code, "message": message, **context}
    return JSONResponse({"error": detail}, status_code=status, headers=headers)


def error_response(exc: PushPopError) -> JSONResponse:
    """The response of a push-pop-core error (503s invite a retry after a second)."""
    headers = {"Retry-After": "1"} if exc.status == 503 else None
    return JSONResponse(exc.to_body(), status_code=exc.status, headers=headers)


async def _push_pop_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PushPopError)
    if exc.status >= 500:
        logger.warning("operation failed: %s", exc.message, extra={"code": exc.code})
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404:
        message = f"no route {request.method} {request.url.path}; see /docs"
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return problem(
        status, _CODES.get(status, f"HTTP_{status}"), message, headers=dict(exc.headers or {})
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
    field = ".".join(location) or "body"
    message = f"{field}: {first.get('msg', 'is invalid')}"
    return problem(400, "INVALID_ARGUMENT", message, field=field)


async def _unexpected(request: Request, exc: Exception) -> Response:
    request_id = request.scope.get(REQUEST_ID_KEY) or request_id_var.get()
    logger.error("unexpected error", exc_info=exc, extra={"request_id": request_id})
    return problem(
        500,
        "INTERNAL",
        f"internal error (a bug, not your input); request id {request_id}",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PushPopError, _push_pop_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
