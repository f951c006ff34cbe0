"""Connections and transactions of one SQLite store, safe to share between threads.

Why one connection per thread: a single shared connection serialises every reader behind
every writer in the process; with one connection per thread, WAL lets readers proceed
while one writer commits, and a read transaction sees one committed state from its first
statement to its last (what a graph snapshot needs). Writers take ``BEGIN IMMEDIATE`` so
two writers (threads or processes) queue instead of failing mid-transaction.

A write transaction knows the generation it writes (``tx.gen``); rows it inserts carry
that number. The counter in ``meta`` only moves when the transaction says it changed
something retrieval reads (``tx.visible``) or removed something (``tx.destructive``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphmem.store.base import ReadOnlyStore, StoreError
from graphmem.store.sqlite.schema import connect

PARAM_CHUNK = 900  # below SQLite's bound-parameter limit


def chunks(items: list[Any], size: int = PARAM_CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass
class Tx:
    """An open write transaction."""

    c: sqlite3.Connection
    gen: int
    """The generation this transaction's rows carry (current + 1)."""
    visible: bool = False
    destructive: bool = False


class Database:
    """Per-thread connections to one database file."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def conn(self) -> sqlite3.Connection:
        c = getattr(self._local, "conn", None)
        if c is None:
            if self._closed:
                raise StoreError(f"store {self.path.parent} is closed")
            c = connect(self.path, self.read_only)
            with self._lock:
                self._all.append(c)
            self._local.conn = c
        return c

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for c in self._all:
                with suppress(sqlite3.Error):
                    c.close()
            self._all.clear()

    # --- reads ----------------------------------------------------------------------
    def q(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        return self.conn().execute(sql, tuple(params)).fetchall()

    def one(self, sql: str, params: Iterable[Any] = ()) -> tuple | None:
        return self.conn().execute(sql, tuple(params)).fetchone()

    def q_in(self, sql: str, ids: Iterable[Any], extra: tuple = ()) -> list[tuple]:
        """Run ``sql`` (with ``{}`` for the placeholders) over ids in chunks."""
        out: list[tuple] = []
        c = self.conn()
        for part in chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(part))
            out.extend(c.execute(sql.format(marks), (*part, *extra)).fetchall())
        return out

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement inside sees the same committed state."""
        c = self.conn()
        if c.in_transaction:  # nested inside a write on this thread: already consistent
            yield c
            return
        c.execute("BEGIN")
        try:
            yield c
        finally:
            if c.in_transaction:
                c.execute("COMMIT")

    # --- writes ---------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Tx]:
        """One write transaction; the generation moves only if it changed what retrieval
        reads (``tx.visible``) or removed something (``tx.destructive``)."""
        if self.read_only:
            raise ReadOnlyStore(f"store {self.path.parent} is open read-only; this command "
                                "needs to write (check the directory's permissions)")
        c = self.conn()
        c.execute("BEGIN IMMEDIATE")
        try:
            row = c.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
            tx = Tx(c, int(row[0]) + 1 if row else 1)
            yield tx
            if tx.visible or tx.destructive:
                c.execute("UPDATE meta SET value=? WHERE key='generation'", (str(tx.gen),))
            if tx.destructive:
                c.execute("INSERT INTO meta(key, value) VALUES('destructive_gen', ?) "
                          "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (str(tx.gen),))
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise

    def in_ids(self, c: sqlite3.Connection, sql: str, ids: Iterable[Any]) -> list[tuple]:
        """Like :meth:`q_in` but on a given connection (inside a transaction)."""
        out: list[tuple] = []
        for part in chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(part))
            out.extend(c.execute(sql.format(marks), part).fetchall())
        return out
