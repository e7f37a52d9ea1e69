"""Order, fidelity and leases on each real actor state store: SQLite, Redis and PostgreSQL.

For each store one stack is started, queues are filled, and then the app is restarted so that
every answer afterwards is read back from the store (a running actor answers from its cache).
Redis and PostgreSQL come from ``$PUSH_POP_REDIS`` / ``$PUSH_POP_POSTGRES``: their tests skip
when the server is unreachable, and fail instead when ``CI`` is set.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from push_pop_actor.devstack import DevStack

ACTOR_APP = Path(__file__).resolve().parent / "apps" / "actor_app.py"

# Strings the Dapr SDK's default decoder would turn into dates or durations, integers a float64
# cannot hold, floats in every notation, unicode beyond the BMP, characters JSON must escape,
# and key orders a jsonb column would sort.
FIDELITY_ITEMS: list[dict[str, Any]] = [
    {"date": "2024-01-01", "dt": "2024-01-01T10:00:00+02:00", "slash": "2024/01/01"},
    {"duration": "5m", "long": "1h30m15s", "ms": "250ms", "us": "10us"},
    {"big": 2**53 + 1, "huge": 2**64 + 1, "neg": -(2**63) - 1, "long": 10**40 + 7},
    {"float": 0.1, "third": 1 / 3, "exp": 1e-300, "big_float": 1.7976931348623157e308},
    {"whole": 2.0, "neg_zero": -0.0, "int_like": 100.0},
    {"unicode": "żółć 🧪 ✓ 漢字 \u2028\u2029", "ctrl": "\u0000\u0001\u001f\t\n", "esc": '\\"/'},
    {"html": "<script>&amp;</script>", "empty": "", "spaces": "  "},
    {"z": 1, "a": 2, "m": {"y": [3, {"b": 1, "a": 0}], "x": None}, "": "empty key"},
    {"deep": [[[[[[{"d": "2024-02-29"}]]]]]], "bools": [True, False, None]},
]


@dataclass
class Filled:
    """A stack whose queues were filled before the app restarted."""

    stack: DevStack
    http: httpx.Client
    queues: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def call(self, queue: str, method: str, body: Any = None) -> Any:
        url = self.stack.instances[0].dapr_http_url
        content = None if body is None else json.dumps(body).encode()
        response = self.http.post(
            f"{url}/v1.0/actors/PushPopActor/{self.queues[queue]}/method/{method}",
            content=content,
        )
        assert response.status_code == 200, response.text
        return json.loads(response.content)


@pytest.fixture(scope="module", params=["sqlite", "redis", "postgresql"])
def filled(
    request: pytest.FixtureRequest, devstack_factory: Callable[..., DevStack]
) -> Iterator[Filled]:
    stack = devstack_factory(
        [sys.executable, str(ACTOR_APP)], store=request.param, actor_types=["PushPopActor"]
    )
    run = secrets.token_hex(4)
    http = httpx.Client(timeout=30.0, trust_env=False)  # one client: a new one costs ~50 ms
    f = Filled(stack, http, {name: f"{request.param}-{name}-{run}" for name in _QUEUES})

    for priority, name in [(3, "a"), (0, "b"), (3, "c"), (1, "d"), (0, "e")]:
        f.call("order", "Push", {"item": {"name": name}, "priority": priority})
    f.call(
        "order", "Push", {"items": [{"item": {"name": f"x{i}"}, "priority": 1} for i in range(3)]}
    )

    f.call("fidelity", "Push", {"items": [{"item": item} for item in FIDELITY_ITEMS]})
    big = {"text": "żółw 🐢 " * 20_000, "n": 2**80}
    f.call("big", "Push", {"item": big})
    f.facts["big"] = big

    deep = [{"item": {"n": i}, "priority": i % 3} for i in range(350)]  # several segments
    f.call("deep", "Push", {"items": deep})

    f.call("lease", "Push", {"items": [{"item": {"n": 1}}, {"item": {"n": 2}}]})
    (held,) = f.call("lease", "PopWithAck", {"ttl_seconds": 600})
    f.facts["held"] = held

    f.call("dedup", "Push", {"item": {"n": 1}, "idempotency_key": "once"})
    f.call("dedup", "SetConfig", {"max_deliveries": 3, "dedup_window_seconds": 900})

    stack.restart_instance(0, sidecar=False)  # new actors: everything below is read back
    yield f
    http.close()
    stack.stop()


_QUEUES = ["order", "fidelity", "big", "deep", "lease", "dedup"]


def test_priorities_and_push_order_survive_the_store(filled: Filled) -> None:
    popped = filled.call("order", "Pop", {"count": 100})
    names = [m["item"]["name"] for m in popped]
    assert names == ["b", "e", "d", "x0", "x1", "x2", "a", "c"]


def test_items_come_back_exactly_from_the_store(filled: Filled) -> None:
    popped = filled.call("fidelity", "Pop", {"count": 100})
    items = [m["item"] for m in popped]
    assert items == FIDELITY_ITEMS
    # Same keys in the same order, and numbers of the same type (2.0 stays a float).
    assert [json.dumps(item) for item in items] == [json.dumps(item) for item in FIDELITY_ITEMS]


def test_a_large_item_comes_back_exactly(filled: Filled) -> None:
    (message,) = filled.call("big", "Pop")
    assert message["item"] == filled.facts["big"]


def test_a_deep_queue_spanning_segments_keeps_its_order(filled: Filled) -> None:
    popped = filled.call("deep", "Pop", {"count": 1000})
    expected = sorted(range(350), key=lambda n: (n % 3, n))
    assert [m["item"]["n"] for m in popped] == expected


def test_a_lease_taken_before_is_still_honoured(filled: Filled) -> None:
    held = filled.facts["held"]
    stats = filled.call("lease", "Stats")
    assert (stats["ready"], stats["in_flight"]) == (1, 1)
    assert [m["item"] for m in filled.call("lease", "Pop", {"count": 10})] == [{"n": 2}]
    acked = filled.call("lease", "Acknowledge", {"lock_id": held["lock_id"]})
    assert acked["items_acknowledged"] == 1


def test_config_and_idempotency_keys_survive(filled: Filled) -> None:
    config = filled.call("dedup", "GetConfig")
    assert (config["max_deliveries"], config["dedup_window_seconds"]) == (3, 900)
    again = filled.call("dedup", "Push", {"item": {"n": 1}, "idempotency_key": "once"})
    assert (again["items_pushed"], again["duplicates"]) == (0, 1)
