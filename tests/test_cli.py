"""The CLI end to end: every command, JSON output, clean errors, and text that looks like
markup printed exactly as it is."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from fake_llm import FakeLLM, Step
from typer.testing import CliRunner

from graphmem.cli import app

runner = CliRunner()

MARKUP = [
    {"title": "[/]", "text": "The Orrin Theatre was designed by Paul Dreyer [citation needed]."},
    {"title": "[bold]Loud[/bold] title", "text": "Night Tide [red]premiered[/red] at the Orrin "
     "Theatre in 1987, an opera by Lena Varga."},
]


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def flat(text: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture
def store_dir(tmp_path, demo_corpus):
    store = str(tmp_path / "s")
    corpus = tmp_path / "c.json"
    corpus.write_text(json.dumps(demo_corpus[:12] + MARKUP))
    r = invoke("index", str(corpus), "--store", store)
    assert r.exit_code == 0, r.output
    assert "passages added" in r.output and "offline spaCy" in r.output
    return store


def test_index_search_stats_docs_delete_export(store_dir, tmp_path):
    r = invoke("search", "Who designed the Orrin Theatre?", "--store", store_dir, "-k", "2",
               "--json")
    hits = json.loads(r.output)
    assert r.exit_code == 0 and len(hits) == 2 and hits[0]["title"]
    assert {"passage_id", "score", "why"} <= set(hits[0])
    assert json.loads(invoke("search", "Orrin", "--store", store_dir, "--json", "--recipe",
                             "dense").output)[0]["why"]["method"] == "dense"
    r = invoke("stats", "--store", store_dir)
    assert r.exit_code == 0 and "mention edges" in r.output
    s = json.loads(invoke("stats", "--store", store_dir, "--json").output)
    assert s["documents"] == 14 and s["edges"]["mention"] > 0
    docs = json.loads(invoke("docs", "--store", store_dir, "--json").output)
    doc_id = next(d["id"] for d in docs if d["title"] == "[/]")
    r = invoke("delete", doc_id, "--store", store_dir)
    assert r.exit_code == 0 and "deleted" in r.output
    out = tmp_path / "g.graphml"
    r = invoke("export", str(out), "--format", "graphml", "--store", store_dir)
    assert r.exit_code == 0 and out.exists()


def test_markup_like_text_is_printed_verbatim(store_dir, tmp_path):
    r = invoke("search", "Orrin Theatre Paul Dreyer citation", "--store", store_dir, "-k", "3")
    assert r.exit_code == 0, r.output
    assert "[citation needed]" in r.output and "[/]" in r.output
    r = invoke("search", "Night Tide premiered opera Lena Varga", "--store", store_dir, "-k", "2")
    assert "[red]premiered[/red]" in flat(r.output)
    assert "[bold]Loud[/bold]" in flat(r.output)
    r = invoke("docs", "--store", store_dir, "--limit", "100")
    assert r.exit_code == 0 and "[/]" in r.output and "[bold]" in r.output  # table cells
    r = invoke("delete", "d:[/]oops[red]", "--store", store_dir)
    assert r.exit_code == 1 and "d:[/]oops[red]" in flat(r.output)
    folder = tmp_path / "docs" / "[notes]"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text("Marguerite Olsen was born on Ystrand [sic].")
    r = invoke("index", str(tmp_path / "docs"), "--store", store_dir)
    assert r.exit_code == 0, r.output
    r = invoke("docs", "--store", store_dir, "--limit", "100")
    assert "[notes]/a" in r.output
    r = invoke("entities", "--store", store_dir, "--contains", "orrin")
    assert r.exit_code == 0 and "orrin theatre" in r.output
    r = invoke("facts", "--store", store_dir, "--entity", "Orrin Theatre", "--json")
    assert r.exit_code == 0 and json.loads(r.output)


def test_read_commands_on_a_path_without_a_memory_create_nothing(tmp_path):
    where = tmp_path / "nothing"
    for args in (["search", "q"], ["ask", "q"], ["stats"], ["docs"], ["history", "p:x"],
                 ["export", str(tmp_path / "o.graphml")], ["entities"], ["events"]):
        r = invoke(*args, "--store", str(where))
        assert r.exit_code == 1, args
        assert "no graphmem memory" in flat(r.output) and "Traceback" not in r.output
        assert not where.exists(), args


def test_clean_errors_without_stack_traces(tmp_path, store_dir):
    r = invoke("index", str(tmp_path / "missing.json"), "--store", str(tmp_path / "s2"))
    assert r.exit_code == 1 and "does not exist" in flat(r.output)
    assert "Traceback" not in r.output
    r = invoke("delete", "d:nothing", "--store", store_dir)
    assert r.exit_code == 1 and "no document" in flat(r.output)
    r = invoke("search", "   ", "--store", store_dir)
    assert r.exit_code == 1 and "non-empty query" in flat(r.output)
    r = invoke("search", "x", "--store", store_dir, "--recipe", "magic")
    assert r.exit_code == 1 and "unknown retrieval recipe" in flat(r.output)
    r = invoke("export", str(tmp_path / "x"), "--format", "pdf", "--store", store_dir)
    assert r.exit_code != 0


def test_add_history_events_links_revert(tmp_path, monkeypatch):
    store = str(tmp_path / "mem")
    monkeypatch.setenv("GRAPHMEM_LINK_THRESHOLD", "0.3")
    for text in ("Caroline went to an LGBTQ support group and found it powerful.",
                 "Caroline's support group meets every Tuesday at the community centre."):
        assert invoke("add", text, "--store", store, "--timestamp", "2023-05-01").exit_code == 0
    r = invoke("add", "Caroline told the support group she plans to adopt.", "--store", store)
    assert r.exit_code == 0 and "linked to" in r.output
    added = json.loads(invoke("add", "Caroline [told] the [/] group about adoption.",
                              "--store", store, "--json").output)
    assert added["notes"][0]["content"] == "Caroline [told] the [/] group about adoption."
    ev = added["evolution"][0]
    assert ev["event_id"] and ev["linked"]
    events = json.loads(invoke("events", "--store", store, "--json").output)
    assert ev["event_id"] in {e["id"] for e in events}
    links = json.loads(invoke("links", "--store", store, "--json").output)
    assert links and {"src", "dst", "reason"} <= set(links[0])
    notes = json.loads(invoke("notes", "--store", store, "--json", "--contains", "adoption"
                              ).output)
    assert notes and notes[0]["content"].startswith("Caroline [told]")
    note_id = added["notes"][0]["id"]
    h = json.loads(invoke("history", note_id, "--store", store, "--json").output)
    assert h["versions"][0]["version"] == 1
    r = invoke("history", note_id, "--store", store)
    assert "Caroline [told] the [/] group" in flat(r.output)
    r = invoke("revert", ev["event_id"], "--store", store)
    assert r.exit_code == 0 and "reverted" in r.output
    r = invoke("revert", ev["event_id"], "--store", store)
    assert r.exit_code == 1 and "already reverted" in flat(r.output)
    r = invoke("history", "p:none", "--store", store)
    assert r.exit_code == 1 and "no note" in flat(r.output)


def test_ask_prints_model_text_plainly_and_fast(store_dir, monkeypatch):
    r = invoke("ask", "Who designed the Orrin Theatre?", "--store", store_dir)
    assert r.exit_code == 0 and "No LLM endpoint" in flat(r.output)
    thought = "[red]because[/red]" + " and so on" * 550_000  # ~5 MB of model text
    reply = f"Thought: {thought}\nAnswer: [/] Paul [bold]Dreyer\nPassages used: 1"
    with FakeLLM([Step(200, content=reply)]) as fake:
        monkeypatch.setenv("GRAPHMEM_LLM_MODEL", "fake")
        monkeypatch.setenv("GRAPHMEM_LLM_BASE_URL", fake.base_url)
        monkeypatch.setenv("GRAPHMEM_LLM_MAX_REPLY_CHARS", "10000000")
        t0 = time.perf_counter()
        r = invoke("ask", "Who designed the Orrin Theatre?", "--store", store_dir)
        assert time.perf_counter() - t0 < 30
    assert r.exit_code == 0, r.output
    assert "[/] Paul [bold]Dreyer" in r.output and "more characters not shown" in r.output
    assert "[red]because[/red]" in r.output and len(r.output) < 100_000


def test_config_command_shows_sources_and_hides_secrets(monkeypatch):
    monkeypatch.setenv("GRAPHMEM_LLM_API_KEY", "sk-do-not-print")
    monkeypatch.setenv("GRAPHMEM_TOP_FACTS", "7")
    rows = {r["field"]: r for r in json.loads(invoke("config", "--json").output)}
    assert rows["top_facts"]["value"] == "7"
    assert rows["top_facts"]["source"] == "env GRAPHMEM_TOP_FACTS"
    assert rows["ppr_tol"]["source"] == "default" and rows["ppr_tol"]["help"]
    r = invoke("config")
    assert "sk-do-not-print" not in r.output and "***" in r.output


def test_doctor_and_cache_commands(store_dir):
    r = invoke("doctor", "--store", store_dir)
    assert r.exit_code == 0 and "passages" in r.output
    r = invoke("cache", "clear", "--store", store_dir)
    assert r.exit_code == 0 and "removed 0 cached" in r.output


def test_help_explains_every_command():
    r = subprocess.run([sys.executable, "-m", "graphmem", "--help"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0
    for cmd in ("index", "search", "ask", "add", "stats", "delete", "export", "entities",
                "facts", "notes", "events", "links", "history", "revert", "config", "doctor",
                "cache", "eval"):
        assert cmd in r.stdout
    r = invoke("index", "--help")
    assert "--openie" in r.output and "--store" in r.output and "--sync" in r.output
