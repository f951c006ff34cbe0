"""Helpers shared by the benchmarks: where the shared data lives, JSON output."""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("GRAPHMEM_BENCH_DATA", ROOT.parent / "shared" / "data"))
MUSIQUE = DATA / "musique100"
LOCOMO = DATA / "locomo" / "locomo_dev2.json"


def require(path: Path) -> Path:
    if not path.exists():
        raise SystemExit(f"benchmark data not found at {path}; set GRAPHMEM_BENCH_DATA to the "
                         "directory holding musique100/ and locomo/")
    return path


def write_json(path: str | None, data: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2))
