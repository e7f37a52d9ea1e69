"""The queue engine's storage seam over one actor's Dapr actor state.

Reads are single ``GET .../state/{key}`` calls and a commit is one actor state transaction
(``PUT .../state``), made through the actor client the Dapr runtime context holds. Staged
changes live in this adapter until the commit, so :meth:`discard` drops them for certain.

The SDK's ``ActorStateManager`` is deliberately not in the path: it issues an extra read before
every write of a key it has not seen, keeps every value it ever read or wrote for the life of
the activation (a deep queue would end up in memory), and its change tracker is private, so a
failed operation could not reliably take its staged writes back.

Fidelity. Dapr decodes the transaction's values as generic JSON (numbers become 64-bit floats)
and state stores may re-encode them (PostgreSQL's jsonb reorders keys). So each value is sent
as a JSON *string* holding the engine's UTF-8 JSON text: every store keeps a string's
characters, and decoding it gives back the engine's bytes exactly.

Keys. Dapr takes the key from the URL path without unescaping it, so a key is written in
characters that need no escaping: ``[A-Za-z0-9_-]`` stay, ``/`` becomes ``.``, and anything
else becomes ``~`` and two hex digits per UTF-8 byte (one-to-one, so keys never collide).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from dapr.clients.base import DaprActorClientBase
from push_pop_core import PushPopError, StagedStore, StoreUnavailableError

__all__ = ["ActorStateStore", "state_key"]

_PLAIN = re.compile(r"[A-Za-z0-9_-]+")


def state_key(key: str) -> str:
    """The Dapr state key that holds the engine's ``key`` (URL-safe, one-to-one)."""
    if _PLAIN.fullmatch(key):
        return key
    out: list[str] = []
    for char in key:
        if char == "/":
            out.append(".")
        elif _PLAIN.fullmatch(char):
            out.append(char)
        else:
            out.extend(f"~{byte:02X}" for byte in char.encode())
    return "".join(out)


class ActorStateStore(StagedStore):
    """One actor's keys, read and committed through the Dapr actor state API.

    Args:
        client: the actor client of the runtime context (``ctx.dapr_client``).
        actor_type: the actor type whose state this is.
        actor_id: the actor (queue) id.
    """

    def __init__(self, client: DaprActorClientBase, actor_type: str, actor_id: str) -> None:
        super().__init__()
        self._client = client
        self._actor_type = actor_type
        self._actor_id = actor_id

    async def read(self, key: str) -> bytes | None:
        try:
            raw = await self._client.get_state(self._actor_type, self._actor_id, state_key(key))
        except PushPopError:
            raise
        except Exception as exc:
            raise StoreUnavailableError(f"reading actor state failed: {exc!r}") from exc
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, str):
            raise StoreUnavailableError(
                f"actor state key {key!r} holds a value push-pop did not write"
            )
        return value.encode()

    async def _apply(self, changes: Mapping[str, bytes | None]) -> None:
        operations: list[dict[str, object]] = []
        for key, value in changes.items():
            if value is None:
                operations.append({"operation": "delete", "request": {"key": state_key(key)}})
            else:
                request = {"key": state_key(key), "value": value.decode()}
                operations.append({"operation": "upsert", "request": request})
        body = json.dumps(operations, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            await self._client.save_state_transactionally(self._actor_type, self._actor_id, body)
        except Exception as exc:
            raise StoreUnavailableError(f"saving actor state failed: {exc!r}") from exc
