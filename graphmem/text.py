"""Small text helpers shared by the rooms.

Why ``cut_words``: cutting a passage at a character count splits a word ("Tarant") and a
reader or a model then sees a token that does not exist in the text. Every place that
shortens text for display or for a prompt cuts at a word boundary and marks the cut.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def cut_words(text: str, limit: int, mark: str = " ...") -> str:
    """``text`` shortened to at most ``limit`` characters at a word boundary (plus ``mark``
    when something was cut). A single word longer than the limit is cut inside."""
    if len(text) <= limit:
        return text
    head = text[:limit + 1]
    space = head.rfind(" ")
    head = head[:space] if space > limit // 2 else text[:limit]
    return head.rstrip(" ,;:") + mark


def strip_control(text: str) -> str:
    """Remove C0 control characters (except tab and newlines) that XML cannot carry."""
    return _CONTROL.sub("", text)
