"""Where operations run: the embedded SQLite engine, or the queue's Dapr actor via the sidecar.

Both answer one call, ``await backend.call(queue_id, op, payload)``, with the JSON result of
push-pop-core's :func:`~push_pop_core.execute` or the :class:`~push_pop_core.PushPopError` it
raised, so every route behaves identically whichever backend is behind it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx
from push_pop_core import (
    PushPopError,
    QueueHost,
    SqliteDatabase,
    StoreUnavailableError,
    Totals,
    check_queue_id,
    error_from_body,
    execute,
)

__all__ = ["ACTOR_TYPE", "DISPATCH_METHOD", "DaprBackend", "EmbeddedBackend", "QueueBackend"]

JSON = dict[str, Any]
CountsSink = Callable[[Mapping[str, object]], None]
"""Receives how much the engine's counters (pushed, popped, ...) grew in one operation."""
ACTOR_TYPE = "PushPopActor"
DISPATCH_METHOD = "Dispatch"


class QueueBackend(Protocol):
    """Runs wire operations of push-pop-core against some home of the queues' state."""

    name: str
    on_counts: CountsSink | None

    async def call(self, queue_id: str, op: str, payload: JSON) -> JSON:
        """Run ``op`` on ``queue_id``; raises a :class:`PushPopError` on failure."""
        ...

    async def open(self) -> None:
        """Get ready eagerly (the server's startup); otherwise the first call opens."""
        ...

    async def check_ready(self) -> None:
        """Raise :class:`StoreUnavailableError` with the reason when calls would fail."""
        ...

    async def aclose(self) -> None:
        """Release files and connections; a later call opens them again."""
        ...


class EmbeddedBackend:
    """Every queue in one SQLite file under ``data_dir``, served by this process alone."""

    name = "embedded"

    def __init__(self, data_dir: Path) -> None:
        self.on_counts: CountsSink | None = None
        self.path = Path(data_dir) / "push-pop.db"
        self._db: SqliteDatabase | None = None
        self._host: QueueHost | None = None

    def _database(self) -> tuple[SqliteDatabase, QueueHost]:
        if self._db is None or self._host is None:
            self._db = SqliteDatabase(self.path)
            self._host = QueueHost(self._db.store, on_commit=self._counted)
        return self._db, self._host

    def _counted(self, queue_id: str, grown: Totals) -> None:
        if self.on_counts is not None:
            self.on_counts(grown.to_wire())

    async def call(self, queue_id: str, op: str, payload: JSON) -> JSON:
        _, host = self._database()
        try:
            return await execute(host.engine(queue_id), op, payload)
        except OSError as exc:  # the data directory cannot be created or written
            raise StoreUnavailableError(f"the embedded store at {self.path} failed: {exc}") from exc

    async def open(self) -> None:
        db, _ = self._database()
        try:
            await db.open()
        except (OSError, StoreUnavailableError) as exc:
            message = f"cannot open the embedded store {self.path}: {exc}"
            raise StoreUnavailableError(message) from exc

    async def check_ready(self) -> None:
        db, _ = self._database()
        try:
            await db.ping()
        except (OSError, StoreUnavailableError) as exc:
            raise StoreUnavailableError(f"the embedded store {self.path} failed: {exc}") from exc

    async def aclose(self) -> None:
        db, self._db, self._host = self._db, None, None
        if db is not None:
            with contextlib.suppress(OSError, StoreUnavailableError):
                await db.close()


class DaprBackend:
    """Each queue is the ``PushPopActor`` of that id, reached through the local Dapr sidecar.

    The request is ``POST /v1.0/actors/PushPopActor/{queue_id}/method/Dispatch`` with
    ``{"op", "payload"}``; the actor answers ``{"result": {...}}`` or
    ``{"error": {...}, "status": n}``. Bodies are raw JSON both ways (never the Dapr SDK's
    date-decoding serializer), so items round-trip exactly. A sidecar that cannot be reached,
    times out or fails answers 503 UNAVAILABLE; nothing is retried, since the actor may have
    acted (clients retry pushes safely with idempotency keys).
    """

    name = "dapr"

    def __init__(
        self,
        port: int,
        *,
        api_token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.on_counts: CountsSink | None = None
        self.base_url = f"http://127.0.0.1:{port}"
        self._transport = transport
        self._headers = {"content-type": "application/json"}
        if api_token:
            self._headers["dapr-api-token"] = api_token
        self._timeout = httpx.Timeout(timeout, connect=min(5.0, timeout))
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                headers=self._headers,
                timeout=self._timeout,
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
                trust_env=False,  # loopback only: never through an HTTP proxy
                transport=self._transport,
            )
        return self._client

    async def call(self, queue_id: str, op: str, payload: JSON) -> JSON:
        check_queue_id(queue_id)
        body = json.dumps(
            {"op": op, "payload": payload}, ensure_ascii=False, allow_nan=False
        ).encode()
        path = f"/v1.0/actors/{ACTOR_TYPE}/{queue_id}/method/{DISPATCH_METHOD}"
        response = await self._send("POST", path, content=body)
        if response.status_code != 200:
            raise StoreUnavailableError(
                f"the Dapr sidecar answered {response.status_code} for the actor call: "
                f"{_describe(response)}"
            )
        try:
            envelope = json.loads(response.content)
        except ValueError:
            raise PushPopError("the actor's answer is not JSON") from None
        if isinstance(envelope, dict):
            result = envelope.get("result")
            if isinstance(result, dict):
                counts = envelope.get("counts")
                if isinstance(counts, dict) and self.on_counts is not None:
                    self.on_counts(counts)
                return result
            if isinstance(envelope.get("error"), dict):
                raise error_from_body(envelope)
        raise PushPopError("the actor's answer has neither a result nor an error")

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http().request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise StoreUnavailableError(
                f"the Dapr sidecar at {self.base_url} did not answer in time"
            ) from None
        except httpx.TransportError as exc:
            raise StoreUnavailableError(
                f"the Dapr sidecar at {self.base_url} cannot be reached: {type(exc).__name__}"
            ) from None

    async def open(self) -> None:
        """Nothing to open: the sidecar starts after the app and calls it first."""

    async def check_ready(self) -> None:
        health = await self._send("GET", "/v1.0/healthz")
        if not health.is_success:
            raise StoreUnavailableError(f"the Dapr sidecar is not healthy ({health.status_code})")
        metadata = await self._send("GET", "/v1.0/metadata")
        if not metadata.is_success:
            raise StoreUnavailableError(
                f"the Dapr sidecar's metadata answered {metadata.status_code}"
            )
        try:
            info = json.loads(metadata.content)
        except ValueError:
            raise StoreUnavailableError("the Dapr sidecar's metadata is not JSON") from None
        if ACTOR_TYPE not in _actor_types(info):
            raise StoreUnavailableError(
                f"the Dapr sidecar has not registered the {ACTOR_TYPE} actor type yet"
            )

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def _actor_types(info: object) -> set[str]:
    """Actor types the sidecar hosts, from ``/v1.0/metadata`` (old and new layouts)."""
    if not isinstance(info, dict):
        return set()
    runtime = info.get("actorRuntime")
    entries: list[Any] = []
    if isinstance(runtime, dict) and isinstance(runtime.get("activeActors"), list):
        entries += runtime["activeActors"]
    if isinstance(info.get("actors"), list):
        entries += info["actors"]
    return {str(e.get("type")) for e in entries if isinstance(e, dict)}


def _describe(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        return f"{body.get('errorCode', '')} {body.get('message', '')}".strip()[:300]
    return str(body)[:200]
