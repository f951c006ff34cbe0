"""Answering questions from retrieved passages, in one step or iteratively (IRCoT style).

Why the answer is a structure and not a string: a memory engine must show what an answer
rests on. :class:`Answer` carries the passages the model cited (validated against what it
was shown), every passage it saw, and the trace of reasoning steps and retrievals. With
no LLM configured the same call returns the evidence and says plainly that a written
answer needs an LLM endpoint; a model answer that cannot be parsed is reported, not
raised.

Multi-hop mode: retrieve for the question, ask the model for the next reasoning step,
retrieve again with that thought, and stop when the model states an answer or after
``max_steps``; a final call writes the answer with citations over everything gathered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from graphmem.llm import prompts
from graphmem.llm.client import LLMClient
from graphmem.llm.errors import LLMOutputError
from graphmem.types import Hit

log = logging.getLogger(__name__)

NO_LLM = ("No LLM endpoint is configured, so there is no written answer; these are the "
          "passages the memory found. Set GRAPHMEM_LLM_MODEL and GRAPHMEM_LLM_BASE_URL (or "
          "OPENAI_API_KEY) to get answers.")
UNKNOWN = {"", "unknown", "none", "null", "n/a", "not known", "i don't know"}


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


Search = Callable[[str, int], list[Hit]]


def _shown(hits: list[Hit]) -> list[tuple[str, str]]:
    return [(h.title, h.text) for h in hits]


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
        for step in range(1, max_steps + 1):
            try:
                out = client.chat_json("step", prompts.step_prompt(
                    question, _shown(ans.evidence), thoughts), prompts.STEP_SCHEMA)
            except LLMOutputError as exc:
                ans.trace.append(f"step {step}: unusable answer from the model ({exc})")
                break
            thought = str(out.get("thought", "")).strip()
            thoughts.append(thought)
            ans.trace.append(f"step {step}: {thought}")
            found = out.get("answer")
            if isinstance(found, str) and found.strip().lower() not in UNKNOWN:
                ans.trace.append(f"step {step}: the model has an answer: {found.strip()}")
                break
            if step == max_steps:
                break
            seen = {h.passage_id for h in ans.evidence}
            new = [h for h in search(f"{question} {thought}", k) if h.passage_id not in seen]
            ans.evidence.extend(new)
            ans.trace.append(f"step {step}: retrieved {len(new)} new passages for the thought")
    try:
        out = client.chat_json("answer", prompts.answer_prompt(
            question, _shown(ans.evidence), thoughts), prompts.ANSWER_SCHEMA)
    except LLMOutputError as exc:
        ans.message = f"the model's answer could not be used: {exc}"
        ans.trace.append(ans.message)
        ans.cited = list(ans.evidence)
        return ans
    text = str(out.get("answer", "")).strip()
    ans.answer = None if text.lower() in UNKNOWN else text
    if ans.answer is None:
        ans.message = "the model found no answer in the retrieved passages"
    ans.reasoning = str(out.get("reasoning", "")).strip()
    bad = []
    for c in out.get("citations", []):
        if 1 <= c <= len(ans.evidence):
            hit = ans.evidence[c - 1]
            if hit not in ans.cited:
                ans.cited.append(hit)
        else:
            bad.append(c)
    if bad:
        ans.trace.append(f"ignored citations of passages that were not shown: {bad}")
    if not ans.cited and ans.answer is not None:
        ans.trace.append("the model cited no passage")
    return ans
