"""Backends for the store contract: SQLite in a temporary directory, ArcadeDB (a real Bolt
server from PyPI, started here on free 127.0.0.1 ports), or a real Neo4j when
``GRAPHMEM_TEST_NEO4J_URI`` (+ ``_USER``, ``_PASSWORD``, ``_DATABASE``) is set.

ArcadeDB runs once per test session; every store gets a fresh database of its own
(created over ArcadeDB's HTTP API in ~0.1 s), so tests never see each other's data.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from graphmem.llm.local import free_port
from graphmem.store import SQLiteStore, Store

PASSWORD = "graphmem-test-pw"


def _package_dir() -> Path | None:
    try:
        import arcadedb_embedded
    except ImportError:
        return None
    pkg = Path(arcadedb_embedded.__file__).parent
    return pkg if (pkg / "jre" / "bin" / "java").exists() else None


def arcadedb_available() -> bool:
    if os.environ.get("GRAPHMEM_TEST_NO_ARCADEDB"):
        return False
    try:
        import neo4j  # noqa: F401
    except ImportError:
        return False
    return _package_dir() is not None


class ArcadeDB:
    """An ArcadeDB server with its Bolt plugin, bound to 127.0.0.1, stopped at exit."""

    def __init__(self) -> None:
        self.pkg = _package_dir()
        self.root = Path(tempfile.mkdtemp(prefix="graphmem-arcadedb-"))
        self.http, self.bolt = free_port(), free_port()
        self.uri = f"bolt://127.0.0.1:{self.bolt}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> ArcadeDB:
        log = (self.root / "server.log").open("wb")
        cmd = [str(self.pkg / "jre" / "bin" / "java"), "-Xmx1g",
               f"-Darcadedb.server.rootPath={self.root}",
               f"-Darcadedb.server.rootPassword={PASSWORD}",
               "-Darcadedb.server.httpIncomingHost=127.0.0.1",
               f"-Darcadedb.server.httpIncomingPort={self.http}",
               "-Darcadedb.server.plugins=Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
               "-Darcadedb.bolt.host=127.0.0.1", f"-Darcadedb.bolt.port={self.bolt}",
               "-Darcadedb.server.defaultDatabases=graphmem[root]",
               "-cp", f"{self.pkg / 'jars'}/*", "com.arcadedb.server.ArcadeDBServer"]
        self.proc = subprocess.Popen(cmd, cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        atexit.register(self.stop)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ArcadeDB exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/api/v1/ready",
                                            timeout=2) as r:
                    if r.status in (200, 204):
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"ArcadeDB did not start in 60 s: {self.log_tail()}")

    def log_tail(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"

    def create_database(self) -> str:
        name = f"t{uuid.uuid4().hex[:12]}"
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.http}/api/v1/server",
            data=json.dumps({"command": f"create database {name}"}).encode(),
            headers={"Authorization": "Basic " + base64.b64encode(
                f"root:{PASSWORD}".encode()).decode(), "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            if r.status != 200:
                raise RuntimeError(f"cannot create database {name}: HTTP {r.status}")
        return name

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None


_SERVER: ArcadeDB | None = None


def arcadedb() -> ArcadeDB:
    global _SERVER
    if _SERVER is None:
        _SERVER = ArcadeDB().start()
    return _SERVER


def bolt_params(backend: str) -> dict:
    """URI, credentials and a fresh database for a Bolt backend."""
    if backend == "arcadedb":
        server = arcadedb()
        return {"uri": server.uri, "user": "root", "password": PASSWORD,
                "database": server.create_database()}
    return {"uri": os.environ["GRAPHMEM_TEST_NEO4J_URI"],
            "user": os.environ.get("GRAPHMEM_TEST_NEO4J_USER", "neo4j"),
            "password": os.environ.get("GRAPHMEM_TEST_NEO4J_PASSWORD"),
            "database": os.environ.get("GRAPHMEM_TEST_NEO4J_DATABASE", "neo4j")}


def _wipe_neo4j(params: dict) -> None:
    from neo4j import GraphDatabase

    with GraphDatabase.driver(params["uri"], auth=(params["user"], params["password"])) as d, \
            d.session(database=params["database"]) as s:
        s.run("MATCH (n) DETACH DELETE n").consume()


def open_test_store(backend: str, path: Path, request) -> Store:
    if backend == "sqlite":
        return SQLiteStore(path, embedding_model="test-model")
    from graphmem.store.bolt import BoltStore

    params = bolt_params(backend)
    if backend == "neo4j":
        _wipe_neo4j(params)
    store = BoltStore(params["uri"], "test-model", user=params["user"],
                      password=params["password"], database=params["database"],
                      cache_root=path / "cache")
    store._test_params = params  # type: ignore[attr-defined]
    return store


def reopen_test_store(backend: str, store: Store, request) -> Store:
    if backend == "sqlite":
        return SQLiteStore(store.directory, embedding_model="test-model")  # type: ignore
    from graphmem.store.bolt import BoltStore

    p = store._test_params  # type: ignore[attr-defined]
    return BoltStore(p["uri"], "test-model", user=p["user"], password=p["password"],
                     database=p["database"])
