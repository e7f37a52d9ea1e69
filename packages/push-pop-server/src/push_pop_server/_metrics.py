"""Prometheus metrics of one app, in a registry of its own (several apps may share a process).

Message counters follow what this instance's operations report: pushed, popped (plain pops
and leases), acknowledged, dead-lettered by consumers, redriven. Expiries and dead letters
from ``max_deliveries`` happen inside the engine and show in each queue's
``GET /queue/{id}/stats`` totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
_REQUEST_BUCKETS = (*_LATENCY_BUCKETS, 30.0, 60.0)

# Which field of an operation's result counts messages, and as what.
_MESSAGE_EVENTS: dict[str, tuple[str, str | None]] = {
    "redrive": ("redriven", "items_redriven"),
}
"""Events read off an operation's result. The rest come from the engine's own counters."""

_ENGINE_EVENTS = ("pushed", "popped", "acknowledged", "expired", "dead_lettered")
"""What the engine reports after each commit (expiries and max_deliveries included)."""


class Metrics:
    """The counters and histograms the server exports at ``GET /metrics``."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "push_pop_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "push_pop_http_request_duration_seconds",
            "Time to answer an HTTP request (long polls included), by method and route.",
            ["method", "route"],
            buckets=_REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.operation_seconds = Histogram(
            "push_pop_operation_duration_seconds",
            "Time of one queue operation in the backend, by operation and outcome code.",
            ["backend", "operation", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.messages = Counter(
            "push_pop_messages",
            "Messages moved by operations through this instance, by event.",
            ["event"],
            registry=self.registry,
        )
        for event in (*_ENGINE_EVENTS, *(e for e, _ in _MESSAGE_EVENTS.values())):
            self.messages.labels(event)
        self.long_polls = Gauge(
            "push_pop_long_polls_waiting",
            "Pops currently waiting for a message (wait_seconds > 0).",
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.request_seconds.labels(method, route).observe(seconds)

    def observe_operation(
        self, operation: str, outcome: str, seconds: float, result: dict[str, Any] | None
    ) -> None:
        self.operation_seconds.labels(self.backend, operation, outcome).observe(seconds)
        if result is None or operation not in _MESSAGE_EVENTS:
            return
        event, field = _MESSAGE_EVENTS[operation]
        if field is None:
            items = result.get("items")
            count = len(items) if isinstance(items, list) else 1
        else:
            value = result.get(field)
            count = value if isinstance(value, int) else 0
        if count:
            self.messages.labels(event).inc(count)

    def count_messages(self, counts: Mapping[str, object]) -> None:
        """Add how much the engine's lifetime counters grew in one operation."""
        for event in _ENGINE_EVENTS:
            value = counts.get(event)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                self.messages.labels(event).inc(value)

    def render(self) -> bytes:
        return generate_latest(self.registry)
