"""Waiting between retries: exponential backoff with jitter, and ``Retry-After``."""

from __future__ import annotations

import email.utils
import random
import time
from typing import Any

MAX_BACKOFF = 30.0
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
"""HTTP statuses worth another try (timeouts, conflicts, rate limits, server errors)."""


def backoff(attempt: int) -> float:
    return min(MAX_BACKOFF, 0.5 * 2 ** attempt) + random.uniform(0, 0.5)


def retry_after(response: Any) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), capped at 60."""
    value = getattr(response, "headers", {}).get("retry-after") if response is not None else None
    if not value:
        return None
    try:
        return min(60.0, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(60.0, max(0.0, when.timestamp() - time.time()))


def short_error(exc: Exception) -> str:
    text = str(getattr(exc, "message", "") or exc)
    return text.replace("\n", " ")[:200]
