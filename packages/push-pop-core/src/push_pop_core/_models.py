"""The values the engine takes and returns, with their wire (JSON) forms."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "DEFAULT_CONFIG",
    "Message",
    "PriorityStats",
    "PushEntry",
    "PushResult",
    "QueueConfig",
    "QueueStats",
    "Totals",
]

JSONObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PushEntry:
    """One item to push, with its priority and optional idempotency key."""

    item: JSONObject
    priority: int = 0
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class PushResult:
    """The ids of a push, in the order of its entries (duplicates get the original id)."""

    ids: list[str]
    pushed: int
    duplicates: int

    def to_wire(self) -> JSONObject:
        return {
            "success": True,
            "items_pushed": self.pushed,
            "duplicates": self.duplicates,
            "ids": self.ids,
        }


@dataclass(frozen=True, slots=True)
class Message:
    """A message as delivered, peeked or listed among the dead letters."""

    id: str
    item: JSONObject
    priority: int
    deliveries: int
    enqueued_at: float
    lock_id: str | None = None
    lock_expires_at: float | None = None
    dead_letter_reason: str | None = None
    dead_lettered_at: float | None = None

    def to_wire(self) -> JSONObject:
        out: JSONObject = {
            "id": self.id,
            "item": self.item,
            "priority": self.priority,
            "deliveries": self.deliveries,
            "enqueued_at": self.enqueued_at,
        }
        if self.lock_id is not None:
            out["lock_id"] = self.lock_id
            out["lock_expires_at"] = self.lock_expires_at
        if self.dead_letter_reason is not None:
            out["dead_letter_reason"] = self.dead_letter_reason
            out["dead_lettered_at"] = self.dead_lettered_at
        return out


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """Per-queue settings, stored with the queue."""

    max_deliveries: int | None = None
    dedup_window_seconds: int = 300
    max_length: int | None = None
    max_item_bytes: int = 1024 * 1024

    def to_wire(self) -> JSONObject:
        return {
            "max_deliveries": self.max_deliveries,
            "dedup_window_seconds": self.dedup_window_seconds,
            "max_length": self.max_length,
            "max_item_bytes": self.max_item_bytes,
        }

    def updated(self, **changes: Any) -> QueueConfig:
        return replace(self, **changes)


DEFAULT_CONFIG = QueueConfig()


@dataclass(frozen=True, slots=True)
class PriorityStats:
    priority: int
    ready: int
    oldest_age_seconds: float

    def to_wire(self) -> JSONObject:
        return {
            "priority": self.priority,
            "ready": self.ready,
            "oldest_age_seconds": self.oldest_age_seconds,
        }


@dataclass(frozen=True, slots=True)
class Totals:
    """Lifetime counters of a queue."""

    pushed: int = 0
    popped: int = 0
    acknowledged: int = 0
    expired: int = 0
    dead_lettered: int = 0

    def to_wire(self) -> JSONObject:
        return {
            "pushed": self.pushed,
            "popped": self.popped,
            "acknowledged": self.acknowledged,
            "expired": self.expired,
            "dead_lettered": self.dead_lettered,
        }


@dataclass(frozen=True, slots=True)
class QueueStats:
    queue_id: str
    ready: int
    in_flight: int
    dead_letters: int
    priorities: list[PriorityStats] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    exclusive_lock_expires_at: float | None = None

    def to_wire(self) -> JSONObject:
        return {
            "queue_id": self.queue_id,
            "ready": self.ready,
            "in_flight": self.in_flight,
            "dead_letters": self.dead_letters,
            "priorities": [p.to_wire() for p in self.priorities],
            "totals": self.totals.to_wire(),
            "exclusive_lock_expires_at": self.exclusive_lock_expires_at,
        }
