"""The whole REST contract (push_pop_server.contract) against the embedded backend, in-process."""

from __future__ import annotations

import httpx
import pytest
from push_pop_server.contract import CHECKS, Target


@pytest.mark.parametrize("name", sorted(CHECKS))
async def test_contract(client: httpx.AsyncClient, name: str) -> None:
    await CHECKS[name](Target(client))


async def test_two_clients_of_one_app_share_queues(client: httpx.AsyncClient) -> None:
    """The two-instance form of the suite also runs in-process (both clients, one app)."""
    transport = client._transport
    async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as other:
        target = Target(client, consumer=other)
        await CHECKS["readme_demo"](target)
        await CHECKS["long_poll_answers_when_a_message_arrives"](target)
