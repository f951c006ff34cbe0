"""The SQLite store refuses to lie: damaged, foreign, missing and read-only stores, private
files, in-place upgrades of old stores, and the doctor."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from store_contract import DOC_A, DOC_B, T_A, batch_for, write_two

from graphmem.store import (
    ReadOnlyStore,
    SchemaMismatch,
    SQLiteStore,
    StoreDamaged,
    StoreError,
    StoreNotFound,
)
from graphmem.store.base import SCHEMA_VERSION
from graphmem.store.sqlite.doctor import examine
from graphmem.store.sqlite.schema import DB_NAME, IDENTITY_NAME

FIXTURE_V1 = Path(__file__).parent / "fixtures" / "store_v1"


def filled(path: Path) -> SQLiteStore:
    s = SQLiteStore(path, "m")
    write_two(s)
    return s


def test_schema_newer_than_this_graphmem_is_refused(tmp_path):
    filled(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(SchemaMismatch, match="schema version 99"):
        SQLiteStore(tmp_path, "m")


def test_embedding_model_mismatch_is_refused(tmp_path):
    SQLiteStore(tmp_path, "model-a").close()
    with pytest.raises(StoreError, match="model-a"):
        SQLiteStore(tmp_path, "model-b")


def test_not_a_sqlite_file_is_refused(tmp_path):
    (tmp_path / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreDamaged):
        SQLiteStore(tmp_path, "m")


def test_store_path_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(StoreError, match="not a directory"):
        SQLiteStore(f, "m")


def test_zero_byte_database_is_refused_not_opened_empty(tmp_path):
    filled(tmp_path).close()
    (tmp_path / DB_NAME).write_bytes(b"")
    with pytest.raises(StoreDamaged, match="empty"):
        SQLiteStore(tmp_path, "m")
    assert (tmp_path / DB_NAME).stat().st_size == 0  # nothing was written into it


def test_truncated_database_is_refused(tmp_path):
    s = SQLiteStore(tmp_path, "m")
    for i in range(40):
        d = DOC_A.__class__(f"Doc {i}", f"{DOC_A.text} Copy number {i}. " * 20)
        s.write_batch(batch_for(d, [d.text], T_A))
    s.close()
    db = tmp_path / DB_NAME
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreDamaged, match="damaged"):
        SQLiteStore(tmp_path, "m")


def test_deleted_write_ahead_log_is_refused(tmp_path):
    live = filled(tmp_path / "live")  # open: recent commits sit in the -wal file
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in (tmp_path / "live").iterdir():
        if not f.name.endswith("-wal"):
            shutil.copy(f, copy / f.name)
    live.close()
    with pytest.raises(StoreDamaged, match="write-ahead log"):
        SQLiteStore(copy, "m")


def test_database_without_tables_in_a_known_store_is_refused(tmp_path):
    filled(tmp_path).close()
    (tmp_path / DB_NAME).unlink()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:  # someone else's database in its place
        conn.execute("CREATE TABLE other(x)")
    with pytest.raises(StoreDamaged, match="holds no graphmem tables"):
        SQLiteStore(tmp_path, "m")
    (tmp_path / DB_NAME).unlink()
    with pytest.raises(StoreDamaged, match="deleted or moved"):
        SQLiteStore(tmp_path, "m")


@pytest.mark.parametrize("table", ["triples", "notes", "vectors"])
def test_dropped_data_table_is_refused_not_recreated(tmp_path, table):
    filled(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute(f"DROP TABLE {table}")
    with pytest.raises(StoreDamaged, match=table):
        SQLiteStore(tmp_path, "m")
    with sqlite3.connect(tmp_path / DB_NAME) as conn:  # and it was not re-created
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert table not in names


def test_dropped_bookkeeping_table_is_refused_then_repaired_by_the_doctor(tmp_path):
    filled(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("DROP TABLE llm_cache")
        conn.execute("INSERT INTO mentions(passage_id, entity_id, gen) VALUES('p:gone', "
                     "'e:gone', 0)")
    with pytest.raises(StoreDamaged, match="doctor --repair"):
        SQLiteStore(tmp_path, "m")
    rep = examine(tmp_path)
    assert rep.ok and any("llm_cache" in r for r in rep.repairable)
    assert any("mentions of missing passages" in r for r in rep.repairable)
    assert rep.counts["passages"] == 2
    fixed = examine(tmp_path, repair=True)
    assert any("re-created table llm_cache" in r for r in fixed.repaired)
    assert fixed.backup and Path(fixed.backup).exists()
    s = SQLiteStore(tmp_path, "m")
    assert s.stats()["passages"] == 2 and s.kv.cache_get("x") is None
    s.close()
    assert examine(tmp_path).repairable == []


def test_doctor_reports_a_lost_table_as_a_problem(tmp_path):
    filled(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("DROP TABLE passages")
    rep = examine(tmp_path, repair=True)
    assert not rep.ok and any("passages is missing" in p for p in rep.problems)
    assert rep.repaired == []


def test_read_commands_never_create_a_store(tmp_path):
    where = tmp_path / "nothing-here"
    with pytest.raises(StoreNotFound, match="no graphmem memory"):
        SQLiteStore(where, "m", create=False)
    assert not where.exists()


def test_read_only_store_serves_reads_and_refuses_writes_clearly(tmp_path):
    filled(tmp_path).close()
    s = SQLiteStore(tmp_path, "m", read_only=True)
    assert s.read_only and len(s.read_delta(None).passage_ids) == 2
    with pytest.raises(ReadOnlyStore, match="read-only"):
        s.write_batch(batch_for(DOC_B, ["another text"], []))
    s.close()


def test_files_are_private(tmp_path):
    s = filled(tmp_path / "p")
    root = tmp_path / "p"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", IDENTITY_NAME):
        assert stat.S_IMODE((root / name).stat().st_mode) == 0o600, name
    s.close()


def test_v1_store_is_upgraded_in_place_with_a_backup(tmp_path):
    where = tmp_path / "old"
    shutil.copytree(FIXTURE_V1, where)
    with sqlite3.connect(where / DB_NAME) as conn:
        before = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                  for t in ("documents", "passages", "entities", "triples", "notes",
                            "note_versions", "events", "links", "llm_cache", "vectors")}
    with pytest.raises(SchemaMismatch, match="read-only"):
        SQLiteStore(where, "all-MiniLM-L6-v2", read_only=True)
    s = SQLiteStore(where, "all-MiniLM-L6-v2")
    backups = list(where.glob(f"{DB_NAME}.v1-*.bak"))
    assert len(backups) == 1
    with sqlite3.connect(backups[0]) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'"
                            ).fetchone()[0] == "1"
    with sqlite3.connect(where / DB_NAME) as conn:
        after = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in before}
    assert after == before  # nothing the user paid for is lost
    assert s.get_meta("schema_version") == str(SCHEMA_VERSION) and s.uuid
    assert len(s.time.passages_in_window(None, None)) == before["passages"]  # event times
    d = s.read_delta(None)
    assert len(d.passage_ids) == before["passages"] and len(d.fact_ids) == before["triples"]
    rewritten = [n for n in s.graph.passage_ids() if len(s.notes.history(n)) > 1]
    assert rewritten and s.notes.events()
    assert s.kv.cache_get("k" * 64) is not None
    s.close()


def test_v2_store_is_upgraded_to_event_times(tmp_path, embedder):
    """A store written by the release before event times (schema 2) gains them on open."""
    from graphmem import Memory

    where = tmp_path / "v2"
    with Memory(where, embedder=embedder) as mem:
        mem.add("Bob works at Google.", timestamp="2023-05-08")
        mem.index([{"title": "Orrin Theatre", "text": "The Orrin Theatre was designed by "
                    "Ada Quill."}])
    with sqlite3.connect(where / DB_NAME) as conn:  # what a schema-2 store looks like
        conn.execute("DROP INDEX documents_event_at")
        conn.execute("ALTER TABLE documents DROP COLUMN event_at")
        conn.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    with pytest.raises(SchemaMismatch, match="read-only"):
        SQLiteStore(where, "all-MiniLM-L6-v2", read_only=True)
    with Memory(where, embedder=embedder) as mem:
        assert mem.store.get_meta("schema_version") == str(SCHEMA_VERSION)
        hits = mem.search("Where does Bob work?", k=2, until="2023-12")
        assert [h.times for h in hits] == [["2023-05-08T00:00:00"]]
        assert mem.search("Orrin Theatre designer", k=1)[0].title == "Orrin Theatre"
    assert len(list(where.glob(f"{DB_NAME}.v2-*.bak"))) == 1


def test_v1_store_works_end_to_end_after_upgrade(tmp_path, embedder):
    from graphmem import Memory

    where = tmp_path / "old"
    shutil.copytree(FIXTURE_V1, where)
    with Memory(where, embedder=embedder) as mem:
        hits = mem.search("Who designed the Orrin Theatre?", k=2)
        assert hits and hits[0].title == "Orrin Theatre"
        ev = mem.store.notes.events()[-1]
        assert mem.revert(ev.id)
        assert mem.add("Caroline adopted a child in 2024.").notes


def test_graph_cache_belongs_to_one_store(tmp_path, embedder):
    """A store replaced by another with the same generation must not get the old graph."""
    from graphmem import Memory

    a = Memory(tmp_path / "a", embedder=embedder)
    a.index([{"title": "Alpha", "text": "Alpha the river runs through Norden."}])
    assert a.search("Norden river")[0].title == "Alpha"
    assert list((tmp_path / "a" / "cache").iterdir())
    gen = a.store.generation
    a.close()
    b = Memory(tmp_path / "b", embedder=embedder)
    b.index([{"title": "Beta", "text": "Beta the mountain stands over Sudra."}])
    assert b.store.generation == gen
    b.close()
    shutil.copy(tmp_path / "b" / DB_NAME, tmp_path / "a" / DB_NAME)
    with pytest.raises(StoreDamaged, match="replaced"):
        Memory(tmp_path / "a", embedder=embedder)
    (tmp_path / "a" / IDENTITY_NAME).unlink()  # the user adopts the new database
    with Memory(tmp_path / "a", embedder=embedder) as again:
        assert [h.title for h in again.search("Norden river", k=5)] == ["Beta"]


def test_damaged_graph_cache_is_a_miss_not_a_crash(tmp_path, embedder):
    from graphmem import Memory

    with Memory(tmp_path / "s", embedder=embedder) as mem:
        mem.index([{"title": "Alpha", "text": "Alpha the river runs through Norden."}])
        mem.search("Norden")
    (snap,) = [p for p in (tmp_path / "s" / "cache").iterdir() if p.is_dir()]
    (snap / "passages.npy").write_bytes(b"\x93NUMPY garbage")
    (snap / "strings.json").write_text("{not json")
    with Memory(tmp_path / "s", embedder=embedder) as mem:
        assert mem.search("Norden")[0].title == "Alpha"


def test_concurrent_cache_saves_do_not_collide(tmp_path, embedder):
    import threading

    from graphmem import Memory
    from graphmem.retrieval.snapcache import SnapshotCache

    with Memory(tmp_path / "s", embedder=embedder) as mem:
        mem.index([{"title": "Alpha", "text": "Alpha the river runs through Norden."}])
        snap = mem.snapshot()
        errors = []

        def save() -> None:
            try:
                SnapshotCache(tmp_path / "s" / "cache2").save(snap)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=save) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert SnapshotCache(tmp_path / "s" / "cache2").load(snap.store_uuid) is not None


@contextlib.contextmanager
def read_only_view(path: Path):
    """``path`` as the user cannot write it: the write bit off, or (as root, whom permission
    bits do not stop) a read-only bind mount of it."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
        return
    view = path.parent / (path.name + "-ro")
    view.mkdir()
    ok = subprocess.run(["mount", "--bind", str(path), str(view)], capture_output=True)
    if ok.returncode != 0:
        pytest.skip("cannot make a read-only view here (not root-capable of mounts)")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True,
                       capture_output=True)
        yield view
    finally:
        subprocess.run(["umount", str(view)], capture_output=True)


def test_search_on_a_store_the_user_cannot_write(tmp_path, embedder):
    """`graphmem search` on a store it cannot write works read-only; a write command says
    so in one line."""
    from graphmem import Memory

    store = tmp_path / "ro"
    with Memory(store, embedder=embedder) as mem:
        mem.index([{"title": "Alpha", "text": "Alpha the river runs through Norden."}])
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with read_only_view(store) as view:
        r = subprocess.run([sys.executable, "-m", "graphmem", "search", "Norden river",
                            "--store", str(view), "--json"], capture_output=True, text=True,
                           env=env, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        assert '"title": "Alpha"' in r.stdout
        r = subprocess.run([sys.executable, "-m", "graphmem", "add", "Beta was here.",
                            "--store", str(view)], capture_output=True, text=True, env=env,
                           timeout=120)
        assert r.returncode == 1 and "read-only" in r.stderr, r.stderr[-2000:]
        assert "Traceback" not in r.stderr
