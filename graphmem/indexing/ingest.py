"""Reading inputs into :class:`Document` objects, reporting everything that is skipped.

Why a stream of documents *and* problems: a bad file in a large corpus must not stop
the run, and must not vanish either. Each reader yields either a Document or an
:class:`IngestProblem` saying exactly what was wrong (empty, binary, not UTF-8, too
large, malformed JSON line ...), and the indexer counts and logs the problems.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from graphmem.types import Document, IngestProblem

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
JSON_SUFFIXES = {".json"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
TEXT_KEYS = ("text", "content", "body", "passage")

Item = Document | IngestProblem
MAX_JSON_BYTES = 256 * 1024 * 1024


class IngestError(ValueError):
    """The input as a whole cannot be read (missing path, unparseable JSON file)."""


def read_source(source: str | os.PathLike[str], max_bytes: int,
                namespace: str = "") -> Iterator[Item]:
    """Documents from a directory of text files, a text file, or a JSON/JSONL corpus."""
    path = Path(source).expanduser()
    if not path.exists():
        raise IngestError(f"{path} does not exist")
    if path.is_dir():
        items: Iterator[Item] = _read_dir(path, max_bytes)
    else:
        suffix = path.suffix.lower()
        if suffix in JSON_SUFFIXES:
            items = read_json(path, max_bytes)
        elif suffix in JSONL_SUFFIXES:
            items = read_jsonl(path, max_bytes)
        else:
            items = iter(_with_repairs(_read_text_file(path, path.stem, max_bytes)))
    yield from _in_namespace(items, namespace)


def _in_namespace(items: Iterable[Item], namespace: str) -> Iterator[Item]:
    for item in items:
        if namespace and isinstance(item, Document):
            item = Document(item.title, item.text, item.source, item.metadata, item.timestamp,
                            namespace)
        yield item


def _with_repairs(item: Item) -> list[Item]:
    """A document read after a repair, preceded by the problem that reports the repair."""
    if isinstance(item, Document) and item.metadata.get("encoding_warning"):
        return [IngestProblem(item.source, item.metadata["encoding_warning"] + "; indexed "
                              "as repaired", status="repaired"), item]
    return [item]


def _read_dir(root: Path, max_bytes: int) -> Iterator[Item]:
    seen: dict[bytes, str] = {}  # a digest of each file's text: same content, reported once
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
                digest = hashlib.blake2b(item.text.encode("utf-8"), digest_size=10).digest()
                first = seen.setdefault(digest, rel)
                if first != rel:
                    yield IngestProblem(rel, f"same content as {first}", status="duplicate")
                    continue
            yield from _with_repairs(item)


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
    meta: dict[str, Any] = {"path": source, "source_key": str(path.resolve())}
    if warning:
        meta["encoding_warning"] = warning
    return Document(title=title, text=text, source=source, metadata=meta)


def record_to_document(rec: Any, where: str, key_base: str | None = None) -> Item:
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
    if key_base and isinstance(rec.get("id"), str | int):
        meta["source_key"] = f"{key_base}#{rec['id']}"
    return Document(title=title, text=text, source=where, metadata=meta,
                    timestamp=str(ts) if ts is not None else None)


def read_json(path: Path, max_bytes: int) -> Iterator[Item]:
    """A JSON corpus: a list of records, or an object holding such a list."""
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise IngestError(f"{path} is {size:,} bytes, too large to read as one JSON value; "
                          "use JSONL (one record per line), which is read as a stream")
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
    base = str(path.resolve())
    yield from _dedupe(record_to_document(rec, f"{path.name}[{i}]", base)
                       for i, rec in enumerate(data))


def read_jsonl(path: Path, max_bytes: int) -> Iterator[Item]:
    """One JSON record per line; a malformed line is reported and skipped."""
    base = str(path.resolve())

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
                item = record_to_document(rec, where, base)
                if warning and isinstance(item, Document):
                    item.metadata["encoding_warning"] = warning
                    yield IngestProblem(where, f"{warning}; indexed as repaired",
                                        status="repaired")
                yield item
    yield from _dedupe(records())


def read_items(items: Iterable[Any], source: str = "python",
               namespace: str = "") -> Iterator[Item]:
    """Python inputs: strings, dicts, or Documents."""
    def convert() -> Iterator[Item]:
        for i, it in enumerate(items):
            if isinstance(it, Document | IngestProblem):
                yield it
            else:
                yield record_to_document(it, f"{source}[{i}]")
    yield from _in_namespace(_dedupe(convert()), namespace)


def _dedupe(items: Iterable[Item]) -> Iterator[Item]:
    """Report the second and later copies of a document (same title and text). Only a
    10-byte digest per document is kept, so a long stream costs little memory."""
    seen: dict[bytes, str] = {}
    for item in items:
        if isinstance(item, Document):
            key = bytes.fromhex(item.id[2:])
            first = seen.setdefault(key, item.source)
            if first != item.source:
                yield IngestProblem(item.source, f"duplicate of {first}", status="duplicate")
                continue
        yield item
