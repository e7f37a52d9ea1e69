"""The storage layout: the metadata record, segments and their JSON encodings.

Keys of one queue (see docs/ARCHITECTURE.md for the costs)::

    meta               the metadata record (config, counters, per-priority pointers)
    s/<p>/<n>          segment n of priority p's main FIFO (contiguous numbers, head..tail)
    l/<p>/<n>          a segment of priority p's return lane (nacked and expired messages)
    d/<n>              segment n of the dead-letter FIFO
    k/<lock_id>        one lease (the leased message), or the tombstone of an expired lease
    i/<hash>           one idempotency key and the id it enqueued
    tdir               the expiry timeline's directory of buckets
    t/<bucket>/<k>     chunk k of one timeline bucket: [due, kind, ref] entries
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Chain", "LaneSeg", "Meta", "Record", "Segment", "dumps", "encode_record"]

Record = list[Any]
"""A stored message: ``[seq, enqueued_at, deliveries, item, id_or_null]``; dead letters
append ``priority, reason, dead_lettered_at``."""

SEQ, ENQ, DELIV, ITEM, MID, DL_PRIO, DL_REASON, DL_AT = range(8)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_record(rec: Record) -> str:
    return dumps(rec)


def record_id(rec: Record) -> str:
    mid = rec[MID]
    return str(rec[SEQ]) if mid is None else str(mid)


class Segment:
    """A run of records with their encodings, so a rewrite never re-encodes an item.

    A segment read from the store keeps its records' encodings unbuilt until something is
    written to it: head segments, which are only popped and then deleted, never pay for them.
    """

    __slots__ = ("_enc", "recs")

    def __init__(self, recs: list[Record] | None = None, enc: list[str] | None = None) -> None:
        self.recs: list[Record] = [] if recs is None else recs
        self._enc: list[str] | None = enc if enc is not None or recs is None else None

    @classmethod
    def decode(cls, raw: bytes) -> Segment:
        return cls(json.loads(raw))

    @property
    def enc(self) -> list[str]:
        if self._enc is None:
            self._enc = [encode_record(r) for r in self.recs]
        return self._enc

    def encode(self) -> bytes:
        return ("[" + ",".join(self.enc) + "]").encode()

    def size(self) -> int:
        return sum(len(e) for e in self.enc) + len(self.enc) + 1

    def append(self, rec: Record, enc: str) -> None:
        self.enc.append(enc)
        self.recs.append(rec)

    def insert(self, pos: int, rec: Record) -> None:
        self.enc.insert(pos, encode_record(rec))
        self.recs.insert(pos, rec)

    def split(self, at: int) -> Segment:
        """Keep the records before ``at``; return the rest as a new segment."""
        enc = self.enc
        right = Segment(self.recs[at:], enc[at:])
        del self.recs[at:]
        del enc[at:]
        return right

    def drop_front(self, n: int) -> None:
        if self._enc is not None:
            del self._enc[:n]
        del self.recs[:n]


@dataclass(slots=True)
class Chain:
    """A FIFO of contiguous segments ``head..tail``; the head advances by offset."""

    head: int = 0
    offset: int = 0
    tail: int = 0
    tail_count: int = 0
    tail_bytes: int = 0
    count: int = 0

    def to_json(self) -> list[int]:
        return [self.head, self.offset, self.tail, self.tail_count, self.tail_bytes, self.count]

    @classmethod
    def from_json(cls, raw: list[int]) -> Chain:
        return cls(*raw)


@dataclass(slots=True)
class LaneSeg:
    """One segment of a return lane; lanes are sorted by original sequence number."""

    segno: int
    offset: int
    count: int
    first: int
    last: int

    def to_json(self) -> list[int]:
        return [self.segno, self.offset, self.count, self.first, self.last]

    @classmethod
    def from_json(cls, raw: list[int]) -> LaneSeg:
        return cls(*raw)


@dataclass(slots=True)
class Meta:
    """The small metadata record, rewritten by every operation that changes the queue."""

    seq: int = 1
    config: dict[str, Any] = field(default_factory=dict)
    chains: dict[int, Chain] = field(default_factory=dict)
    lanes: dict[int, list[LaneSeg]] = field(default_factory=dict)
    lane_next: int = 0
    dead: Chain = field(default_factory=Chain)
    ready: int = 0
    in_flight: int = 0
    exclusive: list[float] | None = None  # [outstanding exclusive leases, expiry]
    next_due: float | None = None
    totals: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])

    def to_bytes(self) -> bytes:
        return dumps(
            {
                "v": 1,
                "seq": self.seq,
                "cfg": self.config,
                "ch": {str(p): c.to_json() for p, c in self.chains.items()},
                "ln": {str(p): [s.to_json() for s in segs] for p, segs in self.lanes.items()},
                "lnx": self.lane_next,
                "dl": self.dead.to_json(),
                "rd": self.ready,
                "fl": self.in_flight,
                "ex": self.exclusive,
                "due": self.next_due,
                "tot": self.totals,
            }
        ).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Meta:
        d = json.loads(raw)
        return cls(
            seq=d["seq"],
            config=d["cfg"],
            chains={int(p): Chain.from_json(c) for p, c in d["ch"].items()},
            lanes={int(p): [LaneSeg.from_json(s) for s in segs] for p, segs in d["ln"].items()},
            lane_next=d["lnx"],
            dead=Chain.from_json(d["dl"]),
            ready=d["rd"],
            in_flight=d["fl"],
            exclusive=d["ex"],
            next_due=d["due"],
            totals=d["tot"],
        )

    def priorities(self) -> list[int]:
        """Priorities holding ready messages, highest (0) first."""
        return sorted(set(self.chains) | set(self.lanes))

    def ready_in(self, priority: int) -> int:
        chain = self.chains.get(priority)
        lane = self.lanes.get(priority, ())
        return (chain.count if chain else 0) + sum(s.count - s.offset for s in lane)
