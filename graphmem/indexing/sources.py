"""Documents tracked by where they came from, so an edited file replaces its old version.

Why: document IDs hash their content, so re-indexing an edited file would add a second
document beside the first and leave its stale facts live. Every document read from a
file (or a JSON record with an ``id``) carries a *source key* (the file's absolute path,
or ``path#id``). After a run, an older document with the same source key is deleted (the
deletion is recorded), and with ``sync`` documents whose files are gone from the indexed
directory are deleted too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from graphmem.store.base import Store
from graphmem.types import Document, IndexReport, IngestProblem


class SourceTracker:
    def __init__(self, store: Store, sync_root: Any | None = None) -> None:
        self.store = store
        self.seen: dict[str, str] = {}
        self.sync_root = None
        if isinstance(sync_root, str | os.PathLike):
            root = Path(sync_root).expanduser().resolve()
            self.sync_root = str(root) + (os.sep if root.is_dir() else "")

    def watch(self, items: Iterable[Document | IngestProblem]
              ) -> Iterator[Document | IngestProblem]:
        for item in items:
            if isinstance(item, Document):
                key = item.metadata.get("source_key") if isinstance(item.metadata, dict) \
                    else None
                if key:
                    self.seen[key] = item.id
            yield item

    def finish(self, report: IndexReport, delete: Callable[[str], Any]) -> None:
        for key, new_id in self.seen.items():
            done = self.store.graph.document_status([new_id]).get(new_id)
            if not done:
                continue  # keep the old version until the new one is whole
            for old in self.store.graph.documents(source=key):
                if old.id != new_id:
                    delete(old.id)
                    report.documents_replaced += 1
        if self.sync_root is None:
            return
        for doc in self.store.graph.documents():
            key = doc.metadata.get("source_key") if doc.metadata else None
            if key and key.startswith(self.sync_root) and key not in self.seen:
                delete(doc.id)
                report.documents_removed += 1
                report.problems.append(IngestProblem(key, "file is gone: document removed "
                                                          "(--sync)", status="removed"))
