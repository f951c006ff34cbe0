"""Answering questions from retrieved passages, in one step or iteratively (IRCoT style).

Why the answer is a structure and not a string: a memory engine must show what an answer
rests on. :class:`Answer` carries the passages cited (validated against what the model
was shown), every passage it saw, and the trace of reasoning steps and retrievals. With
no LLM configured the same call returns the evidence and says plainly that a written
answer needs an LLM endpoint.

Why plain text and a worked example: small local models (0.5-1.5B) copy the placeholder
text of a JSON template back as their answer. The reader shows one real two-hop example
(question, passages, ``Thought:`` / ``Answer:`` / ``Passages used:``) and parses those
lines. The answer is normalised to a short span (first line, no "The answer is", no
trailing full stop). An answer that repeats the prompt's own text, or that cites
passages that were not shown, is rejected and asked for once more with a note saying why;
a second failure is reported as no answer, with the reason. When the model names no
usable passage, the passages containing the answer are cited (and the trace says so).

Multi-hop mode: retrieve for the question, ask for the next reasoning step, retrieve
again with that thought, and stop when a step states an answer or after ``max_steps``;
a final call writes the answer with citations over everything gathered.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from graphmem.llm import prompts
from graphmem.llm.client import LLMClient
from graphmem.llm.errors import LLMOutputError
from graphmem.types import Hit

log = logging.getLogger(__name__)

NO_LLM = ("No LLM endpoint is configured, so there is no written answer; these are the "
          "passages the memory found. Set GRAPHMEM_LLM_MODEL and GRAPHMEM_LLM_BASE_URL (or "
          "OPENAI_API_KEY) to get answers.")
UNKNOWN = {"", "unknown", "none", "null", "n/a", "not known", "i don't know", "not yet",
           "unknown.", "not mentioned", "no answer"}
MAX_ANSWER_CHARS = 200
_LINE = re.compile(r"^\s*\**\s*(thought|answer|passages used|passages|cited)\s*\**\s*[:：]"
                   r"\s*(.*)$", re.IGNORECASE)
_LEADS = re.compile(r"^(the answer is|answer is|it is|it was|so the answer is)\s+",
                    re.IGNORECASE)


@dataclass
class Answer:
    question: str
    answer: str | None
    cited: list[Hit] = field(default_factory=list)
    evidence: list[Hit] = field(default_factory=list)
    reasoning: str = ""
    trace: list[str] = field(default_factory=list)
    llm_used: bool = False
    message: str = ""
    rejected: list[str] = field(default_factory=list)
    """Why answers of the model were refused (each led to one more try, or no answer)."""


Search = Callable[[str, int], list[Hit]]


@dataclass
class _Parsed:
    thought: str = ""
    answer: str = ""
    cites: list[int] = field(default_factory=list)


def parse_reply(text: str) -> _Parsed:
    """The Thought / Answer / Passages used lines of a reply (missing lines are empty)."""
    out = _Parsed()
    key = None
    for raw in text.splitlines():
        m = _LINE.match(raw)
        if m:
            key, value = m.group(1).lower(), m.group(2).strip()
        elif key in ("thought",) and raw.strip():
            value = raw.strip()
        else:
            continue
        if key == "thought":
            out.thought = (out.thought + " " + value).strip()
        elif key == "answer" and not out.answer:
            out.answer = value
        elif key in ("passages used", "passages", "cited"):
            out.cites = [int(n) for n in re.findall(r"\d+", value)]
    if not out.answer and not _LINE.search(text):  # no structure at all: the text itself
        out.answer = text.strip().splitlines()[0] if text.strip() else ""
    return out


def normalise(answer: str) -> str:
    """A short span: first line, no lead-in, no trailing full stop or quotes."""
    a = answer.strip().splitlines()[0] if answer.strip() else ""
    a = _LEADS.sub("", a).strip().strip('"“”\'`*').strip()
    if a.endswith(".") and not re.search(r"\b[A-Z]\.$", a):
        a = a[:-1].strip()
    return a[:MAX_ANSWER_CHARS]


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def problem_with(answer: str, cites: list[int], shown: list[Hit]) -> str | None:
    """Why an answer must be refused, or None."""
    low = _words(answer)
    instructions = _words(prompts.READER_SYSTEM + " " + prompts.STEP_SYSTEM)
    if len(low) >= 12 and low in instructions:
        return f"the answer {answer!r} repeats the instructions of the prompt"
    if "<" in answer and ">" in answer:
        return f"the answer {answer!r} is a template placeholder"
    example = _words(prompts.EXAMPLE_ANSWER)
    if low == example and not any(example in _words(h.text) for h in shown):
        return f"the answer {answer!r} is copied from the prompt's worked example"
    bad = [c for c in cites if not 1 <= c <= len(shown)]
    if bad:
        return (f"it cites passage(s) {bad}, but only passages 1-{len(shown)} were shown")
    return None


def answer_question(question: str, search: Search, client: LLMClient | None, k: int = 5,
                    multi_hop: bool = False, max_steps: int = 3) -> Answer:
    """Retrieve, (optionally) reason step by step, and answer with cited passages."""
    hits = search(question, k)
    ans = Answer(question=question, answer=None, evidence=list(hits),
                 trace=[f"retrieved {len(hits)} passages for the question"])
    if client is None:
        ans.message = NO_LLM
        ans.cited = list(hits)
        return ans
    ans.llm_used = True
    thoughts: list[str] = []
    if multi_hop:
        _iterate(question, search, client, k, max_steps, ans, thoughts)
    _final_answer(question, client, ans, thoughts)
    return ans


def _shown(hits: list[Hit]) -> list[tuple[str, str]]:
    """What the reader sees of each hit: its title, and when it happened if it was dated
    (so "yesterday" in a memory can be turned into a date)."""
    return [(_dated(h), h.text) for h in hits]


def _dated(h: Hit) -> str:
    if not h.times:
        return h.title
    day = datetime.fromisoformat(h.times[0])
    when = f"{day.day} {day:%B %Y}" + (f", {day:%H:%M}" if (day.hour, day.minute) != (0, 0)
                                       else "")
    return f"{h.title} ({when})" if h.title else f"({when})"


def _refs(hits: list[Hit]) -> list[str]:
    return [h.passage_id for h in hits]


def _iterate(question: str, search: Search, client: LLMClient, k: int, max_steps: int,
             ans: Answer, thoughts: list[str]) -> None:
    for step in range(1, max_steps + 1):
        try:
            reply = client.chat("step", prompts.step_prompt(question, _shown(ans.evidence),
                                                            thoughts),
                                refs=_refs(ans.evidence))
        except LLMOutputError as exc:
            ans.trace.append(f"step {step}: unusable answer from the model ({exc})")
            return
        parsed = parse_reply(reply)
        first = reply.strip().splitlines()[0][:300] if reply.strip() else ""
        thought = parsed.thought or first
        thoughts.append(thought)
        ans.trace.append(f"step {step}: {thought}")
        found = normalise(parsed.answer)
        if found.lower() not in UNKNOWN and not problem_with(found, [], ans.evidence):
            ans.trace.append(f"step {step}: the model has an answer: {found}")
            return
        if step == max_steps:
            return
        seen = {h.passage_id for h in ans.evidence}
        new = [h for h in search(f"{question} {thought}", k) if h.passage_id not in seen]
        ans.evidence.extend(new)
        ans.trace.append(f"step {step}: retrieved {len(new)} new passages for the thought")


def _final_answer(question: str, client: LLMClient, ans: Answer, thoughts: list[str]) -> None:
    correction = ""
    for attempt in (1, 2):
        try:
            reply = client.chat("answer", prompts.answer_prompt(
                question, _shown(ans.evidence), thoughts, correction),
                refs=_refs(ans.evidence))
        except LLMOutputError as exc:
            ans.rejected.append(str(exc))
            ans.message = f"the model's answer could not be used: {exc}"
            ans.trace.append(ans.message)
            ans.cited = list(ans.evidence)
            return
        parsed = parse_reply(reply)
        text = normalise(parsed.answer)
        why = problem_with(text, parsed.cites, ans.evidence)
        if why is None:
            break
        ans.rejected.append(why)
        ans.trace.append(f"answer {attempt} rejected: {why}")
        correction = (f"Your previous reply was not usable: {why}. Answer again from the "
                      "passages, in the same three lines.")
    else:
        ans.message = f"no usable answer: {ans.rejected[-1]}"
        return
    ans.reasoning = parsed.thought
    ans.answer = None if text.lower() in UNKNOWN else text
    if ans.answer is None:
        ans.message = "the model found no answer in the retrieved passages"
        return
    for c in parsed.cites:
        hit = ans.evidence[c - 1]
        if hit not in ans.cited:
            ans.cited.append(hit)
    key = _words(ans.answer)
    holding = [h for h in ans.evidence if key and key in _words(f"{h.title} {h.text}")]
    missing = [h for h in holding if h not in ans.cited]
    if missing:
        ans.cited.extend(missing)
        ans.trace.append("cited the passages that contain the answer: " +
                         ", ".join(str(ans.evidence.index(h) + 1) for h in missing))
    if not ans.cited:
        ans.trace.append("the model cited no passage")
