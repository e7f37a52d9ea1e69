"""push-pop client: typed async and sync access to a push-pop server, and the ``push-pop`` CLI.

async with AsyncPushPopClient("http://127.0.0.1:8000") as client:
    orders = client.queue("orders")
    await orders.push({"sku": "A-1"}, priority=0)
    for message in await orders.lease(count=10):
        ...
        await orders.ack(message.lock_id)
"""

from ._client import AsyncPushPopClient, AsyncQueue, PushPopClient, Queue
from ._exceptions import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    LockExpiredError,
    LockNotFoundError,
    NotFoundError,
    PushPopConnectionError,
    PushPopError,
    PushPopTimeoutError,
    QueueFullError,
    QueueLockedError,
    ServerError,
    TooLargeError,
    UnavailableError,
)
from ._models import (
    ConfigChanges,
    Message,
    PriorityStats,
    PushEntry,
    PushResult,
    QueueConfig,
    QueueStats,
    QueueTotals,
)
from ._version import __version__

__all__ = [
    "APIStatusError",
    "AsyncPushPopClient",
    "AsyncQueue",
    "AuthenticationError",
    "BadRequestError",
    "ConfigChanges",
    "LockExpiredError",
    "LockNotFoundError",
    "Message",
    "NotFoundError",
    "PriorityStats",
    "PushEntry",
    "PushPopClient",
    "PushPopConnectionError",
    "PushPopError",
    "PushPopTimeoutError",
    "PushResult",
    "Queue",
    "QueueConfig",
    "QueueFullError",
    "QueueLockedError",
    "QueueStats",
    "QueueTotals",
    "ServerError",
    "TooLargeError",
    "UnavailableError",
    "__version__",
]
