"""Parse and validate JSON from model output: strict parsing, careful repair, never eval.

Why this exists: even with structured-output modes, servers return JSON wrapped in code
fences, after a sentence of prose, with trailing commas, or with keys we did not ask for.
We locate the first complete JSON value (string-aware bracket matching), try it as is,
then after two textual repairs (trailing commas; smart quotes), and finally validate it
against a small JSON-Schema subset. Anything that still does not fit is rejected with an
:class:`LLMOutputError` saying what was wrong. Model output is data: it is never handed to
Python's evaluator; non-JSON (Python literals included) is rejected.
"""

from __future__ import annotations

import json
import re
from typing import Any

from graphmem.llm.errors import LLMOutputError

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([\]}])")
_SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


def _first_json_value(text: str) -> str | None:
    """The first balanced {...} or [...] in ``text``, respecting strings and escapes."""
    start = -1
    stack: list[str] = []
    in_str = False
    esc = False
    for i, ch in enumerate(text):
        if start < 0:
            if ch in "{[":
                start = i
                stack = ["}" if ch == "{" else "]"]
            continue
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]":
            if not stack or ch != stack[-1]:
                return None
            stack.pop()
            if not stack:
                return text[start:i + 1]
    return None


def extract_json(text: str) -> Any:
    """The JSON value in a model's answer, or LLMOutputError explaining why there is none."""
    if not isinstance(text, str) or not text.strip():
        raise LLMOutputError("the model returned an empty answer")
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for cand in candidates:
        cand = cand.strip()
        for attempt in (cand, _first_json_value(cand)):
            if not attempt:
                continue
            for repaired in (attempt, _TRAILING_COMMA.sub(r"\1", attempt),
                             _TRAILING_COMMA.sub(r"\1", attempt.translate(_SMART_QUOTES))):
                try:
                    return json.loads(repaired)
                except json.JSONDecodeError:
                    continue
    snippet = text.strip().replace("\n", " ")[:120]
    raise LLMOutputError(f"no valid JSON in the model's answer: {snippet!r}")


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int, float), "null": (type(None),),
}


def validate(value: Any, schema: dict[str, Any], path: str = "$") -> Any:
    """Check ``value`` against a JSON-Schema subset; return it with unknown keys dropped.

    Supported: ``type`` (one or a list), ``properties``, ``required``, ``items``,
    ``enum``, ``minItems``/``maxItems``. Booleans are not accepted as numbers.
    """
    types = schema.get("type")
    if types is not None:
        allowed = [types] if isinstance(types, str) else list(types)
        ok = False
        for t in allowed:
            py = _TYPES[t]
            if isinstance(value, py) and not (t in ("integer", "number")
                                               and isinstance(value, bool)):
                ok = True
                break
        if not ok:
            raise LLMOutputError(f"{path}: expected {' or '.join(allowed)}, got "
                                 f"{type(value).__name__}")
    if "enum" in schema and value not in schema["enum"]:
        raise LLMOutputError(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, dict) and "properties" in schema:
        props = schema["properties"]
        for key in schema.get("required", []):
            if key not in value:
                raise LLMOutputError(f"{path}: missing required key {key!r}")
        return {k: validate(v, props[k], f"{path}.{k}") for k, v in value.items() if k in props}
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            raise LLMOutputError(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise LLMOutputError(f"{path}: more than {schema['maxItems']} items")
        if "items" in schema:
            return [validate(v, schema["items"], f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def parse_json(text: str, schema: dict[str, Any] | None = None) -> Any:
    """Extract, then validate when a schema is given."""
    value = extract_json(text)
    return validate(value, schema) if schema else value
