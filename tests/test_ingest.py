"""Ingest: every kind of bad input is a clear error or a counted, reported skip."""

from __future__ import annotations

import json

import pytest

from graphmem.indexing.chunking import chunk_text
from graphmem.indexing.ingest import IngestError, read_items, read_source
from graphmem.types import Document, IngestProblem

MB = 1024 * 1024


def split(items):
    docs = [i for i in items if isinstance(i, Document)]
    probs = [i for i in items if isinstance(i, IngestProblem)]
    return docs, probs


def test_directory_with_bad_files(tmp_path):
    (tmp_path / "good.txt").write_text("Ada Lovelace wrote programs.")
    (tmp_path / "notes.md").write_text("# Title\nCharles Babbage built engines.")
    (tmp_path / "empty.txt").write_text("   \n")
    (tmp_path / "latin1.txt").write_bytes("Café Müller in Göttingen".encode("latin-1"))
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02binary\x00" * 50)
    (tmp_path / "image.png").write_bytes(b"\x89PNG....")
    (tmp_path / "copy.txt").write_text("Ada Lovelace wrote programs.")
    (tmp_path / ".hidden.txt").write_text("ignored")
    docs, probs = split(list(read_source(tmp_path, 10 * MB)))
    by_source = {p.source: p for p in probs}
    # files are read in sorted order, so copy.txt comes first and good.txt is its duplicate
    assert {d.source for d in docs} == {"copy.txt", "notes.md", "latin1.txt"}
    assert by_source["empty.txt"].reason == "empty file"
    assert "binary" in by_source["blob.txt"].reason
    assert "unsupported file type .png" in by_source["image.png"].reason
    assert by_source["good.txt"].status == "duplicate"
    assert by_source["good.txt"].reason == "same content as copy.txt"
    latin = next(d for d in docs if d.source == "latin1.txt")
    assert latin.text == "Café Müller in Göttingen"
    assert "not valid UTF-8" in latin.metadata["encoding_warning"]


def test_file_above_size_limit_is_skipped(tmp_path):
    f = tmp_path / "big.txt"
    f.write_text("word " * 1000)
    docs, probs = split(list(read_source(f, 100)))
    assert not docs and "above max_document_bytes" in probs[0].reason


def test_jsonl_with_malformed_lines(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_text("\n".join([
        json.dumps({"title": "A", "text": "Alpha text."}),
        "{not json",
        json.dumps({"title": "B"}),
        json.dumps({"title": "C", "text": 42}),
        json.dumps(["a list"]),
        json.dumps({"title": "A", "text": "Alpha text."}),
        "",
        json.dumps({"title": "D", "text": "Delta text.", "timestamp": "2024-01-01"}),
    ]))
    docs, probs = split(list(read_source(f, MB)))
    assert [d.title for d in docs] == ["A", "D"]
    assert docs[1].timestamp == "2024-01-01"
    reasons = {p.source: p.reason for p in probs}
    assert "invalid JSON" in reasons["c.jsonl:2"]
    assert "no text field" in reasons["c.jsonl:3"]
    assert "expected a string" in reasons["c.jsonl:4"]
    assert "record is a list" in reasons["c.jsonl:5"]
    assert "duplicate of c.jsonl:1" in reasons["c.jsonl:6"]


def test_json_corpus_and_errors(tmp_path):
    good = tmp_path / "c.json"
    good.write_text(json.dumps([{"title": "A", "text": "x"}, {"title": "B", "text": "y"}]))
    docs, _ = split(list(read_source(good, MB)))
    assert len(docs) == 2
    bad = tmp_path / "bad.json"
    bad.write_text('[{"title": "A", "text": "x"},')
    with pytest.raises(IngestError, match="not valid JSON"):
        list(read_source(bad, MB))
    with pytest.raises(IngestError, match="does not exist"):
        list(read_source(tmp_path / "missing.json", MB))


def test_python_items():
    docs, probs = split(list(read_items(["plain string", {"title": "T", "text": "dict"}, 7,
                                        {"text": ""}])))
    assert [d.text for d in docs] == ["plain string", "dict"]
    assert len(probs) == 2


def test_ten_megabyte_document_is_chunked_completely(tmp_path):
    sentence = "The archive of Ystrand holds letters from the herring fleet in 1923. "
    text = sentence * (10 * MB // len(sentence))
    f = tmp_path / "huge.txt"
    f.write_text(text)
    (doc,) = list(read_source(f, 64 * MB))
    chunks = chunk_text(doc.text, 200, 40)
    assert len(chunks) > 10_000
    assert chunks[0].startswith("The archive") and text.strip().endswith(chunks[-1][-40:])
    # every chunk is an exact substring of the document
    assert all(c in text for c in chunks[:50])


def test_chunks_cover_the_text_in_bounded_overlapping_windows():
    from graphmem.indexing.chunking import _tokenizer

    text = " ".join(f"Ystrand{i} harbour log entry {i}, barrels of herring." for i in range(300))
    chunks = chunk_text(text, 64, 16)
    tok = _tokenizer("all-MiniLM-L6-v2")
    # re-tokenised alone, a window may differ by a word piece where it starts mid-word
    sizes = [len(tok.encode(c, add_special_tokens=False).ids) for c in chunks]
    assert len(chunks) > 10 and max(sizes) <= 66 and min(sizes[:-1]) >= 60
    pos = 0
    for c in chunks:  # exact substrings, in order, overlapping
        start = text.find(c, max(0, pos - len(c)))
        assert start >= 0 and start <= pos + 1
        pos = start + len(c)
    assert pos == len(text)  # nothing at the end is lost
    assert chunks[0].startswith("Ystrand0") and text.endswith(chunks[-1])
    tail = chunks[0].split()[-3:]
    assert " ".join(tail) in chunks[1]  # the overlap carries words over
    assert chunk_text("  short  ") == ["short"]
    assert chunk_text("   ") == []


def test_a_long_run_without_spaces_is_cut_on_characters():
    blob = "x" * 5_000_000
    chunks = chunk_text(f"Start. {blob} End.", 200, 40, max_chars=4000)
    assert max(len(c) for c in chunks) <= 4000
    assert sum(len(c) for c in chunks) >= 5_000_000
    assert chunks[0].startswith("Start") and chunks[-1].endswith("End.")


def test_invalid_utf8_is_reported_not_silently_repaired(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_bytes(b'{"title": "A", "text": "caf\xe9 au lait"}\n' +
                  json.dumps({"title": "B", "text": "fine"}).encode() + b"\n")
    docs, probs = split(list(read_source(f, MB)))
    assert [d.title for d in docs] == ["A", "B"]
    assert [(p.source, p.status) for p in probs] == [("c.jsonl:1", "repaired")]
    assert "not valid UTF-8" in probs[0].reason
