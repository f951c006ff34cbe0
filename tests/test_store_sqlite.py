"""The SQLite backend passes the store contract, plus checks of its own file format."""

from __future__ import annotations

import sqlite3

import pytest
from store_contract import DOC_A, T_A, StoreContract, batch_for

from graphmem.store import SchemaMismatch, SQLiteStore, StoreError
from graphmem.store.schema import DB_NAME


class TestSQLiteStore(StoreContract):
    def open_store(self, path):
        return SQLiteStore(path, embedding_model="test-model")


def test_schema_version_mismatch_is_a_clear_error(tmp_path):
    SQLiteStore(tmp_path, "m").close()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(SchemaMismatch, match="schema version 99"):
        SQLiteStore(tmp_path, "m")


def test_embedding_model_mismatch_is_refused(tmp_path):
    SQLiteStore(tmp_path, "model-a").close()
    with pytest.raises(StoreError, match="model-a"):
        SQLiteStore(tmp_path, "model-b")


def test_not_a_store(tmp_path):
    (tmp_path / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        SQLiteStore(tmp_path, "m")


def test_store_path_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(StoreError, match="not a directory"):
        SQLiteStore(f, "m")


def test_wal_mode(tmp_path):
    s = SQLiteStore(tmp_path, "m")
    s.write_batch(batch_for(DOC_A, [DOC_A.text], T_A))
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()
