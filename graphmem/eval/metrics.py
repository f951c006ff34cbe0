"""Metrics shared by the evaluations: recall@k, latency percentiles, answer matching."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

KS = (1, 2, 5, 10, 20)


def recall_at(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    """Fraction of the gold items found among the first k ranked ones."""
    gold = set(gold)
    if not gold:
        return 0.0
    return len(gold & set(ranked[:k])) / len(gold)


def mean_recall(rankings: Sequence[Sequence[str]], golds: Sequence[Iterable[str]],
                ks: Iterable[int] = KS) -> dict[str, float]:
    return {f"R@{k}": float(np.mean([recall_at(r, g, k) for r, g in zip(rankings, golds,
                                                                        strict=True)]))
            if rankings else 0.0 for k in ks}


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    if not seconds:
        return {"p50": 0.0, "p95": 0.0}
    ms = np.asarray(seconds) * 1000.0
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95))}


def normalize_answer(text: str) -> str:
    """SQuAD-style: lower case, no punctuation, no articles, single spaces."""
    text = str(text).lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, answers: Iterable[str]) -> float:
    p = normalize_answer(prediction)
    return float(any(p == normalize_answer(a) for a in answers))


def token_f1(prediction: str, answers: Iterable[str]) -> float:
    """Best token-overlap F1 of the prediction against any of the answers."""
    best = 0.0
    p_toks = normalize_answer(prediction).split()
    for a in answers:
        a_toks = normalize_answer(a).split()
        common = Counter(p_toks) & Counter(a_toks)
        same = sum(common.values())
        if not p_toks or not a_toks or same == 0:
            continue
        prec, rec = same / len(p_toks), same / len(a_toks)
        best = max(best, 2 * prec * rec / (prec + rec))
    return best
