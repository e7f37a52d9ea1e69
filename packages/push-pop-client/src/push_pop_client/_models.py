"""The values the client returns: frozen dataclasses mirroring the wire shapes of WIRE.md."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

__all__ = [
    "ConfigChanges",
    "Message",
    "PriorityStats",
    "PushEntry",
    "PushResult",
    "QueueConfig",
    "QueueStats",
    "QueueTotals",
]


@dataclass(frozen=True, slots=True)
class PushEntry:
    """One item of a batch push, with its own priority and idempotency key.

    Without a key the client makes one (a uuid4), so a retried request never enqueues twice.
    """

    item: Mapping[str, Any]
    priority: int = 0
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class PushResult:
    """What a batch push did: the ids in input order, and how many were new."""

    ids: tuple[str, ...]
    pushed: int
    """Messages newly enqueued."""
    duplicates: int
    """Entries whose idempotency key was already seen: they got the original message's id."""

    @classmethod
    def combine(cls, parts: Iterable[PushResult]) -> PushResult:
        """Join the results of consecutive requests of one batch, keeping the id order."""
        ids: list[str] = []
        pushed = duplicates = 0
        for part in parts:
            ids.extend(part.ids)
            pushed += part.pushed
            duplicates += part.duplicates
        return cls(ids=tuple(ids), pushed=pushed, duplicates=duplicates)


@dataclass(frozen=True, slots=True)
class Message:
    """A message as popped, leased, peeked or listed among the dead letters."""

    id: str
    item: dict[str, Any]
    priority: int
    deliveries: int
    enqueued_at: float
    """Unix seconds."""
    lock_id: str | None = None
    """Set on leased messages: pass it to ack, nack, extend or dead_letter."""
    lock_expires_at: float | None = None
    """Unix seconds, server clock; set on leased messages."""
    dead_letter_reason: str | None = None
    """``"max_deliveries"`` or ``"consumer"``; set on dead letters."""
    dead_lettered_at: float | None = None


@dataclass(frozen=True, slots=True)
class PriorityStats:
    """Ready messages of one priority level."""

    priority: int
    ready: int
    oldest_age_seconds: float | None
    """Age of the oldest ready message of this priority (``None`` if the server omits it)."""


@dataclass(frozen=True, slots=True)
class QueueTotals:
    """Lifetime counters of a queue."""

    pushed: int
    popped: int
    acknowledged: int
    expired: int
    dead_lettered: int


@dataclass(frozen=True, slots=True)
class QueueStats:
    """A snapshot of a queue's counts."""

    queue_id: str
    ready: int
    in_flight: int
    dead_letters: int
    priorities: tuple[PriorityStats, ...]
    """One entry per priority holding ready messages, highest priority (lowest number) first."""
    totals: QueueTotals
    exclusive_lock_expires_at: float | None = None
    """Set while an exclusive lease is outstanding."""


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """Per-queue settings (``None`` means unlimited)."""

    max_deliveries: int | None
    dedup_window_seconds: int
    max_length: int | None
    max_item_bytes: int


class ConfigChanges(TypedDict, total=False):
    """The settings ``set_config`` may change; omitted ones keep their value."""

    max_deliveries: int | None
    dedup_window_seconds: int
    max_length: int | None
    max_item_bytes: int
