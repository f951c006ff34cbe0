"""``python -m graphmem.prepare``: one-time set-up that would otherwise happen on first use.

Exports the default embedding model to ONNX (so the first index or search does not pay
~15 s for it) and, with ``--llm``, assembles and verifies the local test model.
"""

from __future__ import annotations

import argparse
import logging


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--llm", action="store_true", help="also assemble the local GGUF model")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from graphmem.embeddings import DEFAULT_MODEL, export_onnx, resolve_model_dir

    logging.info("ONNX embedding model: %s", export_onnx(resolve_model_dir(DEFAULT_MODEL)))
    if args.llm:
        from graphmem.llm.local import assemble

        logging.info("local LLM: %s (sha256 verified)", assemble())


if __name__ == "__main__":
    main()
