"""push-pop-core: a priority FIFO queue engine over a small transactional key-value protocol.

Drive :class:`QueueEngine` over any :class:`StateStore` (the in-memory and embedded SQLite
stores ship here; the Dapr actor adapts its state manager), or run wire operations with
:func:`execute`.
"""

from ._engine import QueueEngine
from ._errors import (
    InvalidArgumentError,
    ItemTooLargeError,
    LockExpiredError,
    LockNotFoundError,
    PushPopError,
    QueueFullError,
    QueueLockedError,
    StoreUnavailableError,
    error_from_body,
)
from ._host import QueueHost
from ._models import (
    Message,
    PriorityStats,
    PushEntry,
    PushResult,
    QueueConfig,
    QueueStats,
    Totals,
)
from ._operations import OPERATIONS, execute
from ._sqlite import SqliteDatabase, SqliteStore
from ._store import CountingStore, MemoryDatabase, MemoryStore, StagedStore, StateStore
from ._validation import MAX_BATCH, MAX_PRIORITY, MAX_TTL_SECONDS, check_queue_id

__version__ = "0.1.0"

__all__ = [
    "MAX_BATCH",
    "MAX_PRIORITY",
    "MAX_TTL_SECONDS",
    "OPERATIONS",
    "CountingStore",
    "InvalidArgumentError",
    "ItemTooLargeError",
    "LockExpiredError",
    "LockNotFoundError",
    "MemoryDatabase",
    "MemoryStore",
    "Message",
    "PriorityStats",
    "PushEntry",
    "PushPopError",
    "PushResult",
    "QueueConfig",
    "QueueEngine",
    "QueueFullError",
    "QueueHost",
    "QueueLockedError",
    "QueueStats",
    "SqliteDatabase",
    "SqliteStore",
    "StagedStore",
    "StateStore",
    "StoreUnavailableError",
    "Totals",
    "check_queue_id",
    "error_from_body",
    "execute",
]
