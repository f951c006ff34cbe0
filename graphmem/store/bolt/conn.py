"""One Bolt connection pool (the official ``neo4j`` driver) and the transactions on it.

Why a thin wrapper: every statement is parameterised Cypher run inside an explicit
transaction. Writes go through ``execute_write`` (the driver retries transient errors
by running the whole transaction function again, so every write here is idempotent) and
begin by taking the store node's lock: writers from any process or machine then commit
one at a time, in generation order, which is what lets readers fetch "everything after
generation g" (see ``delta.py``). Errors never carry the password: the location shown is
the URI without credentials, and driver errors are re-worded.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from graphmem.store.base import ReadOnlyStore, StoreError

log = logging.getLogger(__name__)
T = TypeVar("T")

STORE_MATCH = "MATCH (s:GMStore {key: 'store'})"
CONFLICT_RETRIES = 8


def public_uri(uri: str) -> str:
    """The URI without any user or password in it (what logs and errors may show)."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass
class Tx:
    """An open write transaction and the generation its rows carry."""

    tx: Any
    gen: int
    visible: bool = False
    destructive: bool = False
    passages: set[str] = field(default_factory=set)
    """Passages whose edges (mentions, fact sources) this transaction added."""
    notes: set[str] = field(default_factory=set)
    """Notes whose outgoing links this transaction added."""
    entities: set[str] = field(default_factory=set)
    """Entities at the lower end of synonym edges this transaction added."""
    nodes: dict[str, set[str]] = field(default_factory=dict)
    """Label -> ids of nodes this transaction created or re-embedded."""

    def touched(self, label: str, ids: Iterable[str]) -> None:
        self.nodes.setdefault(label, set()).update(ids)

    def run(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        return self.tx.run(cypher, **params).data()


class Bolt:
    def __init__(self, uri: str, user: str | None, password: str | None, database: str,
                 read_only: bool = False) -> None:
        from neo4j import GraphDatabase

        self.uri = uri
        self.location = public_uri(uri)
        self.database = database
        self.read_only = read_only
        auth = (user or "neo4j", password) if password is not None else None
        try:
            self.driver = GraphDatabase.driver(uri, auth=auth, max_connection_pool_size=32)
            self.driver.verify_connectivity()
        except Exception as exc:  # noqa: BLE001 - re-worded without credentials
            raise StoreError(self._explain(exc, "cannot connect to")) from None

    def _explain(self, exc: Exception, what: str) -> str:
        name = type(exc).__name__
        hint = ""
        if "Auth" in name or "Unauthorized" in name:
            hint = ("; check GRAPHMEM_NEO4J_USER and GRAPHMEM_NEO4J_PASSWORD (the password "
                    "is never shown)")
        elif "ServiceUnavailable" in name:
            hint = "; is the server running and reachable?"
        msg = str(getattr(exc, "message", "") or "")
        if msg:
            msg = ": " + msg.replace(self.uri, self.location)[:200]
        return f"{what} the Bolt server at {self.location} (database {self.database!r}) " \
               f"({name}{msg}){hint}"

    def close(self) -> None:
        self.driver.close()

    def read(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(tx)`` in a read transaction."""
        try:
            with self.driver.session(database=self.database) as s:
                return s.execute_read(fn)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise StoreError(self._explain(exc, "a read failed on")) from exc

    def q(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        """One parameterised read statement."""
        return self.read(lambda tx: tx.run(cypher, **params).data())

    def write(self, fn: Callable[[Tx], T], lock: bool = True) -> T:
        """Run ``fn`` in a write transaction that holds the store lock and knows its
        generation; the counters move as the transaction says (``Tx.visible`` etc.)."""
        if self.read_only:
            raise ReadOnlyStore(f"store {self.location} is open read-only")

        def work(tx: Any) -> T:
            row = tx.run(f"{STORE_MATCH} SET s.lock = coalesce(s.lock, 0) + 1 "
                         "RETURN s.generation AS g").single()
            if row is None:
                raise StoreError(f"the graphmem store node is missing in {self.location}")
            t = Tx(tx, int(row["g"]) + 1)
            out = fn(t)
            if t.visible or t.destructive:
                tx.run(f"{STORE_MATCH} SET s.generation = $g" +
                       (", s.destructive_gen = $g" if t.destructive else ""), g=t.gen)
            if t.visible:
                # the change log: which nodes this generation created or re-embedded and
                # where its new edges hang, so a reader fetches them by id, not by scanning
                tx.run("CREATE (:GMChange {gen: $g, passages: $p, notes: $n, entities: $e, "
                       "new_passage: $np, new_entity: $ne, new_fact: $nf, new_note: $nn})",
                       g=t.gen, p=sorted(t.passages), n=sorted(t.notes), e=sorted(t.entities),
                       **{k: sorted(t.nodes.get(label, ())) for k, label in (
                           ("np", "Passage"), ("ne", "Entity"), ("nf", "Fact"),
                           ("nn", "Note"))})
            return out

        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                with self.driver.session(database=self.database) as s:
                    return s.execute_write(work)
            except (StoreError, KeyError):
                raise
            except Exception as exc:  # noqa: BLE001
                if type(exc).__name__ == "ConstraintError" and attempt < CONFLICT_RETRIES:
                    # two writers MERGEd the same new key at once (ArcadeDB checks unique
                    # indexes optimistically): every write here is idempotent, so run it
                    # again; it now finds the other writer's row
                    time.sleep(0.05 * (attempt + 1) + random.uniform(0, 0.05))
                    continue
                what = "a write was refused by" if type(exc).__name__ == "ConstraintError" \
                    else "a write failed on"
                raise StoreError(self._explain(exc, what)) from exc
        raise AssertionError("unreachable")
