"""Import OpenIE output in HippoRAG's format, so a graph can be built from a peer's run.

Why: HippoRAG publishes ``openie_<model>.json`` files (``{"docs": [{title, text, passage,
extracted_entities, extracted_triples}]}``). Importing them builds our graph exactly as an
LLM would have, with no LLM here, which makes graph-versus-graph comparisons fair.
Malformed triples (wrong arity, empty or non-string parts) are dropped and counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from graphmem.indexing.extractor import clean_entities, clean_triples
from graphmem.indexing.ingest import IngestError, decode_bytes, record_to_document
from graphmem.types import Document, Extraction, IngestProblem, Passage


def read_openie(path: str | Path) -> Iterator[tuple[Document, Extraction] | IngestProblem]:
    """Yield (document, extraction) per record; each document becomes one passage."""
    path = Path(path).expanduser()
    if not path.exists():
        raise IngestError(f"{path} does not exist")
    text, _ = decode_bytes(path.read_bytes())
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    docs = data.get("docs") if isinstance(data, dict) else data
    if not isinstance(docs, list):
        raise IngestError(f"{path}: expected HippoRAG OpenIE output with a 'docs' list")
    for i, rec in enumerate(docs):
        where = f"{path.name}[{i}]"
        if isinstance(rec, dict) and "text" not in rec and isinstance(rec.get("passage"), str):
            title, _, body = rec["passage"].partition("\n")
            rec = {**rec, "title": title if body else "", "text": body or title}
        doc = record_to_document(
            {k: v for k, v in rec.items() if k in ("title", "text")} if isinstance(rec, dict)
            else rec, where)
        if isinstance(doc, IngestProblem):
            yield doc
            continue
        problems: list[str] = []
        ents = rec.get("extracted_entities") or []
        triples_raw = rec.get("extracted_triples") or []
        if not isinstance(ents, list):
            problems.append("extracted_entities is not a list")
            ents = []
        if not isinstance(triples_raw, list):
            problems.append("extracted_triples is not a list")
            triples_raw = []
        triples = clean_triples(triples_raw, problems)
        entities = clean_entities(ents, problems)
        passage = Passage(title=doc.title, text=doc.text.strip(), doc_id=doc.id)
        yield doc, Extraction(passage_id=passage.id, entities=entities, triples=triples,
                              problems=problems, extractor=f"openie:{path.name}")
