"""The CLI end to end: index, search, stats, docs, delete, export, clean errors."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from graphmem.cli import app
from graphmem.cli import extra as _extra  # noqa: F401  (registers the extra commands)

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def flat(text: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


def test_index_search_stats_delete_export(tmp_path, demo_corpus):
    store = str(tmp_path / "s")
    corpus = tmp_path / "c.json"
    corpus.write_text(json.dumps(demo_corpus[:12]))
    r = invoke("index", str(corpus), "--store", store)
    assert r.exit_code == 0, r.output
    assert "passages added" in r.output and "offline spaCy" in r.output
    r = invoke("search", "Who designed the Orrin Theatre?", "--store", store, "-k", "2",
               "--json")
    assert r.exit_code == 0
    hits = json.loads(r.output)
    assert len(hits) == 2 and hits[0]["title"]
    r = invoke("stats", "--store", store)
    assert r.exit_code == 0 and "mention edges" in r.output
    r = invoke("docs", "--store", store)
    doc_id = next(w.strip("│ ") for line in r.output.splitlines() for w in line.split()
                  if w.startswith("d:"))
    r = invoke("delete", doc_id, "--store", store)
    assert r.exit_code == 0 and "deleted" in r.output
    out = tmp_path / "g.graphml"
    r = invoke("export", str(out), "--format", "graphml", "--store", store)
    assert r.exit_code == 0 and out.exists()


def test_clean_errors_without_stack_traces(tmp_path):
    r = invoke("index", str(tmp_path / "missing.json"), "--store", str(tmp_path / "s"))
    assert r.exit_code == 1 and "does not exist" in flat(r.output)
    assert "Traceback" not in r.output
    r = invoke("delete", "d:nothing", "--store", str(tmp_path / "s"))
    assert r.exit_code == 1 and "no document" in flat(r.output)
    r = invoke("export", str(tmp_path / "x"), "--format", "pdf", "--store", str(tmp_path / "s"))
    assert r.exit_code != 0


def test_help_explains_every_command():
    r = subprocess.run([sys.executable, "-m", "graphmem", "--help"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0
    for cmd in ("index", "search", "stats", "delete", "export"):
        assert cmd in r.stdout
    r = invoke("index", "--help")
    assert "--openie" in r.output and "--store" in r.output
