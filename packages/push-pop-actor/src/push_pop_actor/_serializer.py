"""Plain JSON for actor messages and state: what goes in comes out, string for string.

The Dapr SDK's default serializer decodes every string that looks like a date (``"2024-01-01"``)
into a ``datetime`` and every one that looks like a duration (``"5m"``) into a ``timedelta``,
so a queue using it would hand back different items than it was given. This one decodes with
the standard library's plain :func:`json.loads`; encoding keeps the SDK's encoder, which only
adds cases (``datetime``, ``timedelta``, ``bytes``) that plain JSON cannot express anyway.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from dapr.serializers import Serializer
from dapr.serializers.json import DaprJSONEncoder

__all__ = ["PlainJSONSerializer"]


class PlainJSONSerializer(Serializer):
    """A Dapr :class:`Serializer` that never reinterprets strings.

    Integers of any size stay exact, floats keep their value, unicode is written as UTF-8.
    An empty body (a method called without an argument) decodes to ``None``.
    """

    def serialize(self, obj: object, custom_hook: Callable[[object], bytes] | None = None) -> bytes:
        if callable(custom_hook):
            obj = custom_hook(obj)
        return json.dumps(
            obj, cls=DaprJSONEncoder, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode()

    def deserialize(
        self,
        data: bytes,
        data_type: type | None = object,
        custom_hook: Callable[[bytes], object] | None = None,
    ) -> Any:
        if not isinstance(data, bytes | str):
            raise ValueError("data must be str or bytes")
        obj = json.loads(data) if data else None
        # As in the SDK's serializer, the hook gets the decoded value (its annotation says bytes).
        return custom_hook(obj) if callable(custom_hook) else obj  # type: ignore[arg-type]
