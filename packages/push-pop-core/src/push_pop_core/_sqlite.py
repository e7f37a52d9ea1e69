"""The embedded store: many queues in one SQLite file, WAL, one transaction per operation.

All SQLite calls run on one dedicated thread, so the event loop never blocks on disk and the
single connection is never shared between threads. ``synchronous=FULL`` makes every commit
durable before the operation is acknowledged.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from ._errors import StoreUnavailableError
from ._store import StagedStore

__all__ = ["SqliteDatabase", "SqliteStore"]

T = TypeVar("T")

_TABLE = "push_pop_kv"
# A rowid table: segment values (up to 64 KiB) live in the table's rows, while the
# (queue_id, key) index holds only small entries, so a lookup never compares or copies a
# value. (A WITHOUT ROWID table put whole segments in the key B-tree: deep files, and every
# key comparison copied a value; lookups slowed down as the file grew.)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {_TABLE} (
    queue_id TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    BLOB NOT NULL,
    UNIQUE (queue_id, key)
)
"""
_OLD_TABLE = "push_pop_state"


def _migrate(conn: sqlite3.Connection) -> None:
    """Move the rows of the first layout's WITHOUT ROWID table into the current table."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_OLD_TABLE,)
    ).fetchone()
    if found is None:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            f"INSERT OR REPLACE INTO {_TABLE} (queue_id, key, value) "
            f"SELECT queue_id, key, value FROM {_OLD_TABLE}"
        )
        conn.execute(f"DROP TABLE {_OLD_TABLE}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class SqliteDatabase:
    """One SQLite file holding the state of any number of queues."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="push-pop-sqlite")
        self._local = threading.local()
        self._closed = False

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            # Reads of old segments in a deep queue come from the mapped file, not syscalls.
            conn.execute("PRAGMA mmap_size=1073741824")
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute(_SCHEMA)
            _migrate(conn)
            self._local.conn = conn
        return conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StoreUnavailableError("the embedded SQLite store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, lambda: fn(self._connection()))
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailableError(f"SQLite store error: {exc}") from exc

    async def open(self) -> None:
        """Create the file and schema now (otherwise on first use)."""
        await self._run(lambda conn: None)

    async def ping(self) -> None:
        await self._run(lambda conn: conn.execute("SELECT 1").fetchone())

    async def read(self, queue_id: str, key: str) -> bytes | None:
        def fn(conn: sqlite3.Connection) -> bytes | None:
            row = conn.execute(
                f"SELECT value FROM {_TABLE} WHERE queue_id = ? AND key = ?",
                (queue_id, key),
            ).fetchone()
            return None if row is None else bytes(row[0])

        return await self._run(fn)

    async def apply(self, queue_id: str, changes: Mapping[str, bytes | None]) -> None:
        upserts = [(queue_id, k, v) for k, v in changes.items() if v is not None]
        deletes = [(queue_id, k) for k, v in changes.items() if v is None]

        def fn(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if deletes:
                    conn.executemany(
                        f"DELETE FROM {_TABLE} WHERE queue_id = ? AND key = ?", deletes
                    )
                if upserts:
                    conn.executemany(
                        f"INSERT INTO {_TABLE} (queue_id, key, value) VALUES (?, ?, ?) "
                        "ON CONFLICT (queue_id, key) DO UPDATE SET value = excluded.value",
                        upserts,
                    )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._run(fn)

    async def queue_ids(self) -> list[str]:
        def fn(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(f"SELECT DISTINCT queue_id FROM {_TABLE}").fetchall()
            return [str(r[0]) for r in rows]

        return await self._run(fn)

    def store(self, queue_id: str) -> SqliteStore:
        return SqliteStore(self, queue_id)

    async def close(self) -> None:
        """Close the connection (if one was ever opened) and the store's thread."""
        if self._closed:
            return
        self._closed = True

        def fn() -> None:
            conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
            if conn is not None:
                conn.close()
                self._local.conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, fn)
        self._executor.shutdown(wait=True)


class SqliteStore(StagedStore):
    """The keys of one queue inside a :class:`SqliteDatabase`."""

    def __init__(self, db: SqliteDatabase, queue_id: str) -> None:
        super().__init__()
        self.db = db
        self.queue_id = queue_id

    async def read(self, key: str) -> bytes | None:
        return await self.db.read(self.queue_id, key)

    async def _apply(self, changes: Mapping[str, bytes | None]) -> None:
        await self.db.apply(self.queue_id, changes)
