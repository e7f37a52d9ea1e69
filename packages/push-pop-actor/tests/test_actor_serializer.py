"""The plain JSON serializer gives back exactly what it was given."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from dapr.serializers import DefaultJSONSerializer
from hypothesis import given
from hypothesis import strategies as st
from push_pop_actor import PlainJSONSerializer

SERIALIZER = PlainJSONSerializer()

TRICKY: dict[str, Any] = {
    "date": "2024-01-01",
    "datetime": "2024-01-01T10:00:00Z",
    "slashed": "2024/01/01 and more",
    "duration": "5m",
    "long_duration": "1h30m15s",
    "big": 2**64 + 1,
    "negative_big": -(2**63) - 7,
    "beyond_double": 9007199254740993,
    "float": 0.1,
    "tiny": 5e-324,
    "huge_float": 1.7976931348623157e308,
    "unicode": 'zażółć 🧪 \u2028 \u0000 "quoted" \\ <tag>&',
    "nested": [{"a": [1, 2, {"b": None}]}, [], {}],
    "bools": [True, False],
}


def test_date_and_duration_strings_stay_strings() -> None:
    out = SERIALIZER.deserialize(SERIALIZER.serialize(TRICKY))
    assert out == TRICKY
    assert isinstance(out["date"], str)
    assert isinstance(out["duration"], str)


def test_the_sdk_default_decoder_would_mangle_them() -> None:
    # Why the plain serializer exists: the SDK's decoder reinterprets these strings...
    out = DefaultJSONSerializer().deserialize(b'{"date": "2024-01-01", "duration": "5m"}')
    assert not isinstance(out["date"], str)
    assert isinstance(out["duration"], timedelta)


def test_the_sdk_default_decoder_fails_on_some_strings() -> None:
    # ...and cannot decode others at all.
    with pytest.raises(ValueError):
        DefaultJSONSerializer().deserialize(json.dumps(TRICKY).encode())


def test_big_integers_stay_exact() -> None:
    out = SERIALIZER.deserialize(SERIALIZER.serialize({"n": 2**200 + 1}))
    assert out["n"] == 2**200 + 1
    assert type(out["n"]) is int


def test_floats_keep_their_type_and_value() -> None:
    out = SERIALIZER.deserialize(SERIALIZER.serialize({"x": 1.0, "y": 0.30000000000000004}))
    assert type(out["x"]) is float
    assert out["y"] == 0.30000000000000004


def test_unicode_is_written_as_utf8() -> None:
    assert SERIALIZER.serialize({"s": "żółw"}) == '{"s":"żółw"}'.encode()


def test_empty_body_decodes_to_none() -> None:
    assert SERIALIZER.deserialize(b"") is None


def test_key_order_is_kept() -> None:
    assert SERIALIZER.serialize({"b": 1, "a": 2}) == b'{"b":1,"a":2}'


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_any_json_value_round_trips(value: Any) -> None:
    assert SERIALIZER.deserialize(SERIALIZER.serialize(value)) == value
