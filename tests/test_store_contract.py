"""Every store backend runs every contract suite (SQLite always; Bolt servers when present).

The ``store`` and ``reopen`` fixtures come from ``conftest.py``, parametrised over the
backends this machine can run (ArcadeDB from PyPI, a real Neo4j when
``GRAPHMEM_TEST_NEO4J_URI`` is set).
"""

from __future__ import annotations

from store_contract import (
    GraphContract,
    KVContract,
    NoteContract,
    NoteTagsContract,
    StoreContract,
    TimelineContract,
    VectorContract,
)


class TestGraph(GraphContract):
    pass


class TestVectors(VectorContract):
    pass


class TestNotes(NoteContract):
    pass


class TestNoteTags(NoteTagsContract):
    pass


class TestKV(KVContract):
    pass


class TestStore(StoreContract):
    pass


class TestTimeline(TimelineContract):
    pass
