"""Token-window chunking with overlap, in the embedding model's own tokens, streamed.

Why the model's tokenizer: a chunk must fit the embedding window (256 word pieces for
MiniLM) or its tail is silently ignored; counting characters or words only guesses.
Chunks are cut at token offsets mapped back to the original characters, so every chunk
is an exact substring of the document and nothing is paraphrased or lost.

Why streamed: a 50 MB text file tokenized at once makes ~12 million offset tuples
(gigabytes). :func:`iter_chunks` tokenizes ~20 kB segments one after another and yields
each window as soon as it is complete, so memory stays flat whatever the document size.
A chunk is also bounded in *characters* (``max_chars``): a 5 MB run of text with no
space is a single "token" to the tokenizer, and would reach the extractor whole; such a
chunk is cut on characters (at a space when there is one).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from graphmem.embeddings import resolve_model_dir

SEGMENT_CHARS = 20_000
MAX_CHUNK_CHARS = 4_000


@lru_cache(maxsize=4)
def _tokenizer(model_name: str):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(resolve_model_dir(model_name)) / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def _segments(text: str) -> Iterator[tuple[int, int]]:
    """Consecutive spans of about SEGMENT_CHARS, cut at whitespace where possible."""
    start = 0
    while len(text) - start > SEGMENT_CHARS:
        cut = text.rfind(" ", start + SEGMENT_CHARS // 2, start + SEGMENT_CHARS)
        cut = cut if cut > start else start + SEGMENT_CHARS
        yield start, cut
        start = cut
    yield start, len(text)


def _token_offsets(text: str, model_name: str) -> Iterator[tuple[int, int]]:
    """Character spans of every token, segment by segment (a few segments per call)."""
    tok = _tokenizer(model_name)
    spans = _segments(text)
    while True:
        group = [s for _, s in zip(range(8), spans, strict=False)]
        if not group:
            return
        encs = tok.encode_batch([text[a:b] for a, b in group], add_special_tokens=False)
        for (a, _), enc in zip(group, encs, strict=True):
            for x, y in enc.offsets:
                yield a + x, a + y


def _bounded(piece: str, max_chars: int) -> Iterator[str]:
    """``piece`` cut into parts of at most ``max_chars`` characters (at spaces if any)."""
    while len(piece) > max_chars:
        cut = piece.rfind(" ", max_chars // 2, max_chars)
        cut = cut if cut > 0 else max_chars
        head = piece[:cut].strip()
        if head:
            yield head
        piece = piece[cut:].lstrip()
    if piece.strip():
        yield piece.strip()


def iter_chunks(text: str, chunk_tokens: int = 200, overlap: int = 40,
                model_name: str = "all-MiniLM-L6-v2",
                max_chars: int = MAX_CHUNK_CHARS) -> Iterator[str]:
    """Windows of at most ``chunk_tokens`` tokens, ``overlap`` shared, in order.

    Short texts come back whole (stripped). Each later window starts ``chunk_tokens -
    overlap`` tokens after the previous one; a window ends at a token boundary; no chunk
    is longer than ``max_chars`` characters.
    """
    text = text.strip()
    if not text:
        return
    if len(text) <= chunk_tokens:  # a token covers at least one character
        yield from _bounded(text, max_chars)
        return
    step = chunk_tokens - overlap
    buf: deque[tuple[int, int]] = deque()
    for off in _token_offsets(text, model_name):
        buf.append(off)
        if len(buf) > chunk_tokens:  # a full window with more to come: emit, then slide
            yield from _bounded(text[buf[0][0]:buf[chunk_tokens - 1][1]], max_chars)
            for _ in range(step):
                buf.popleft()
    if buf:
        yield from _bounded(text[buf[0][0]:buf[-1][1]], max_chars)


def chunk_text(text: str, chunk_tokens: int = 200, overlap: int = 40,
               model_name: str = "all-MiniLM-L6-v2",
               max_chars: int = MAX_CHUNK_CHARS) -> list[str]:
    """All chunks of ``text`` as a list (see :func:`iter_chunks`).

    >>> chunk_text("A short note.")
    ['A short note.']
    """
    return list(iter_chunks(text, chunk_tokens, overlap, model_name, max_chars))
