"""Reading inputs into :class:`Document` objects, reporting everything that is skipped.

Why a stream of documents *and* problems: a bad file in a large corpus must not stop
the run, and must not vanish either. Each reader yields either a Document or an
:class:`IngestProblem` saying exactly what was wrong (empty, binary, not UTF-8, too
large, malformed JSON line ...), and the indexer counts and logs the problems.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from graphmem.types import Document, IngestProblem

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
JSON_SUFFIXES = {".json"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
TEXT_KEYS = ("text", "paragraph_text", "content", "body", "passage")

Item = Document | IngestProblem


class IngestError(ValueError):
    """The input as a whole cannot be read (missing path, unparseable JSON file)."""


def read_source(source: str | os.PathLike[str], max_bytes: int) -> Iterator[Item]:
    """Documents from a directory of text files, a text file, or a JSON/JSONL corpus."""
    path = Path(source).expanduser()
    if not path.exists():
        raise IngestError(f"{path} does not exist")
    if path.is_dir():
        yield from _read_dir(path, max_bytes)
        return
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES:
        yield from read_json(path, max_bytes)
    elif suffix in JSONL_SUFFIXES:
        yield from read_jsonl(path, max_bytes)
    else:
        yield _read_text_file(path, path.stem, max_bytes)


def _read_dir(root: Path, max_bytes: int) -> Iterator[Item]:
    seen: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.suffix.lower() not in TEXT_SUFFIXES:
                yield IngestProblem(rel, f"unsupported file type {path.suffix or '(none)'}; "
                                         "graphmem reads .txt and .md files in a directory")
                continue
            item = _read_text_file(path, str(Path(rel).with_suffix("")), max_bytes, rel)
            if isinstance(item, Document):
                first = seen.setdefault(item.text, rel)
                if first != rel:
                    yield IngestProblem(rel, f"same content as {first}", status="duplicate")
                    continue
            yield item


def decode_bytes(data: bytes) -> tuple[str, str | None]:
    """UTF-8 (with or without BOM), else Windows-1252; returns (text, warning)."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        where = exc.start
    try:
        return data.decode("cp1252"), f"not valid UTF-8 (byte {where}); decoded as Windows-1252"
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        return text, f"not valid UTF-8 (byte {where}); undecodable bytes replaced with U+FFFD"


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return bool(head) and control / len(head) > 0.1


def _read_text_file(path: Path, title: str, max_bytes: int, source: str | None = None) -> Item:
    source = source or str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return IngestProblem(source, f"file is {size:,} bytes, above max_document_bytes "
                                         f"({max_bytes:,}); raise the limit to index it")
        data = path.read_bytes()
    except OSError as exc:
        return IngestProblem(source, f"cannot read: {exc.strerror or exc}", status="error")
    if _looks_binary(data):
        return IngestProblem(source, "binary file (NUL or control bytes), not text")
    text, warning = decode_bytes(data)
    if not text.strip():
        return IngestProblem(source, "empty file")
    meta: dict[str, Any] = {"path": source}
    if warning:
        meta["encoding_warning"] = warning
    return Document(title=title, text=text, source=source, metadata=meta)


def record_to_document(rec: Any, where: str) -> Item:
    """One corpus record (``{title, text}``, or a bare string) to a Document."""
    if isinstance(rec, str):
        rec = {"text": rec}
    if not isinstance(rec, dict):
        return IngestProblem(where, f"record is a {type(rec).__name__}, expected an object "
                                    "with 'text' (and optionally 'title')")
    text = next((rec[k] for k in TEXT_KEYS if k in rec), None)
    if text is None:
        return IngestProblem(where, f"record has no text field (one of {', '.join(TEXT_KEYS)})")
    if not isinstance(text, str):
        return IngestProblem(where, f"'text' is a {type(text).__name__}, expected a string")
    if not text.strip():
        return IngestProblem(where, "empty text")
    title = rec.get("title") or ""
    if not isinstance(title, str):
        title = str(title)
    meta = {k: v for k, v in rec.items() if k not in TEXT_KEYS and k != "title"}
    ts = rec.get("timestamp")
    return Document(title=title, text=text, source=where, metadata=meta,
                    timestamp=str(ts) if ts is not None else None)


def read_json(path: Path, max_bytes: int) -> Iterator[Item]:
    """A JSON corpus: a list of records, or an object holding such a list."""
    size = path.stat().st_size
    if size > max_bytes * 64:
        raise IngestError(f"{path} is {size:,} bytes; split it or use JSONL")
    raw, warning = decode_bytes(path.read_bytes())
    if warning:
        yield IngestProblem(str(path), warning, status="warning")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise IngestError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} "
                          f"column {exc.colno} (use .jsonl for one record per line)") from exc
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if "text" in data or "title" in data:
            data = [data]
        elif len(lists) == 1:
            data = lists[0]
        else:
            raise IngestError(f"{path}: expected a list of {{title, text}} records")
    if not isinstance(data, list):
        raise IngestError(f"{path}: expected a list of {{title, text}} records")
    yield from _dedupe(record_to_document(rec, f"{path.name}[{i}]") for i, rec in enumerate(data))


def read_jsonl(path: Path, max_bytes: int) -> Iterator[Item]:
    """One JSON record per line; a malformed line is reported and skipped."""
    def records() -> Iterator[Item]:
        with path.open("rb") as fh:
            for n, line in enumerate(fh, start=1):
                where = f"{path.name}:{n}"
                if not line.strip():
                    continue
                if len(line) > max_bytes:
                    yield IngestProblem(where, f"line is {len(line):,} bytes, above "
                                               "max_document_bytes")
                    continue
                text, warning = decode_bytes(line)
                try:
                    rec = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield IngestProblem(where, f"invalid JSON: {exc.msg} at column {exc.colno}")
                    continue
                item = record_to_document(rec, where)
                if warning and isinstance(item, Document):
                    item.metadata["encoding_warning"] = warning
                yield item
    yield from _dedupe(records())


def read_items(items: Iterable[Any], source: str = "python") -> Iterator[Item]:
    """Python inputs: strings, dicts, or Documents."""
    def convert() -> Iterator[Item]:
        for i, it in enumerate(items):
            if isinstance(it, Document | IngestProblem):
                yield it
            else:
                yield record_to_document(it, f"{source}[{i}]")
    yield from _dedupe(convert())


def _dedupe(items: Iterable[Item]) -> Iterator[Item]:
    """Report the second and later copies of a document (same title and text)."""
    seen: dict[str, str] = {}
    for item in items:
        if isinstance(item, Document):
            first = seen.setdefault(item.id, item.source)
            if first != item.source:
                yield IngestProblem(item.source, f"duplicate of {first}", status="duplicate")
                continue
        yield item
