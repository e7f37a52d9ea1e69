"""Turn-based concurrency: many producers and consumers on one queue lose and duplicate nothing.

Twenty producers push and twenty consumers pop (destructively, or leasing and acknowledging)
at the same time through the sidecar; the actor runs one operation at a time, so every pushed
message is delivered exactly once and each consumer sees each producer's messages in order.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from push_pop_actor.devstack import DevStack

ACTOR_APP = Path(__file__).resolve().parent / "apps" / "actor_app.py"
PRODUCERS = 20
CONSUMERS = 20
PER_PRODUCER = 12


@pytest.fixture(scope="module")
def stack(devstack_factory: Callable[..., DevStack]) -> DevStack:
    return devstack_factory(
        [sys.executable, str(ACTOR_APP)], store="sqlite", actor_types=["PushPopActor"]
    )


async def test_concurrent_producers_and_consumers_lose_and_duplicate_nothing(
    stack: DevStack,
) -> None:
    queue = f"busy-{secrets.token_hex(4)}"
    base = f"{stack.instances[0].dapr_http_url}/v1.0/actors/PushPopActor/{queue}/method"
    limits = httpx.Limits(max_connections=PRODUCERS + CONSUMERS)
    total = PRODUCERS * PER_PRODUCER
    received: dict[int, list[tuple[int, int]]] = {c: [] for c in range(CONSUMERS)}
    producers_done = asyncio.Event()

    async with httpx.AsyncClient(timeout=60.0, limits=limits, trust_env=False) as http:

        async def call(method: str, body: Any = None) -> Any:
            content = None if body is None else json.dumps(body).encode()
            response = await http.post(f"{base}/{method}", content=content)
            assert response.status_code == 200, response.text
            return json.loads(response.content)

        async def produce(p: int) -> None:
            i = 0
            while i < PER_PRODUCER:
                if p % 4 == 0 and i + 3 <= PER_PRODUCER:  # some push small batches
                    await call(
                        "Push", {"items": [{"item": {"p": p, "i": i + k}} for k in range(3)]}
                    )
                    i += 3
                else:
                    await call("Push", {"item": {"p": p, "i": i}})
                    i += 1

        async def consume(c: int) -> None:
            while True:
                if c % 2 == 0:
                    messages = await call("Pop", {"count": 1 + c % 3})
                else:
                    messages = await call("PopWithAck", {"count": 2, "ttl_seconds": 60})
                    if messages:
                        await call("Acknowledge", {"lock_ids": [m["lock_id"] for m in messages]})
                received[c] += [(m["item"]["p"], m["item"]["i"]) for m in messages]
                if not messages:
                    if producers_done.is_set():
                        return
                    await asyncio.sleep(0.1)

        consumers = [asyncio.create_task(consume(c)) for c in range(CONSUMERS)]
        await asyncio.gather(*(produce(p) for p in range(PRODUCERS)))
        producers_done.set()
        await asyncio.wait_for(asyncio.gather(*consumers), timeout=60)
        stats = await call("Stats")

    everything = [pair for pairs in received.values() for pair in pairs]
    counts = Counter(everything)
    assert not [pair for pair, n in counts.items() if n > 1], "a message was delivered twice"
    assert set(counts) == {(p, i) for p in range(PRODUCERS) for i in range(PER_PRODUCER)}
    assert len(everything) == total
    for pairs in received.values():
        for p in range(PRODUCERS):
            seen = [i for q, i in pairs if q == p]
            assert seen == sorted(seen), "a consumer saw one producer's messages out of order"
    assert sum(1 for pairs in received.values() if pairs) > 1, "the consumers really competed"
    assert (stats["ready"], stats["in_flight"]) == (0, 0)
    assert stats["totals"]["pushed"] == total
