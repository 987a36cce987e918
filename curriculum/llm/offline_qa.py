"""Extractive question answering with citations: the reading half of the offline reference model.

Source formats (in any system or user message)
----------------------------------------------
1. Numbered lines::

       [1] (source: python-reference/assert) Assert statements are a convenient way ...
       [2] (source: python-reference/pass) pass is a null operation ...

   A passage starts at a line ``[n]`` (the ``(source: NAME)`` part is optional) and runs over
   the following non-blank lines; a blank line, the next ``[m]`` line or a ``Question:`` line
   ends it.
2. Tags, for passages with blank lines inside::

       <source id="1" name="python-reference/assert">...</source>

The question
------------
The last user message, without its sources: the text after its last ``Question:`` (or
``Q:``) label; otherwise, when that message held sources, its last paragraph; otherwise the
whole message.

How the answer is chosen
------------------------
Every passage is split into sentences. Each sentence gets

* ``lexical`` -- the IDF-weighted share of the question's content terms (:func:`curriculum.llm.text.content_terms`:
  stop words removed, Snowball stems) that the sentence contains; IDF is computed over the prompt's sentences, so
  a question term found nowhere in the sources weighs most;
* ``semantic`` -- the cosine similarity of all-MiniLM-L6-v2 embeddings of question and
  sentence (only the ``CANDIDATES`` sentences with the highest lexical score are embedded,
  which keeps a call fast);
* ``score = SEMANTIC_WEIGHT * semantic + LEXICAL_WEIGHT * lexical``.

When no sentence reaches ``THRESHOLD`` the answer abstains: it starts with ``ABSTAIN_PREFIX``.
Otherwise the best sentence and up to two more within ``MARGIN`` of it (``ADJACENT_MARGIN`` for
a sentence next to one already chosen in the same passage, so that answers read as contiguous
extracts), all above the threshold, are quoted verbatim, in source order, each followed by the marker ``[n]`` of the
passage it was taken from. A passage that was not quoted is never cited.

The weights and the threshold were calibrated on the question set in
``tests/llm/test_llm_offline_qa.py``: out-of-scope questions there score at most 0.30 and
answerable ones at least 0.44, and ``THRESHOLD`` sits between the two (see
``curriculum/llm/README.md``). Weighting meaning over word overlap (0.75 / 0.25) gave the
widest gap; the source name's last part (``assert`` in ``python-reference/assert``) is put
before each sentence that does not already name it when it is embedded, so a sentence that says "It terminates the loop"
still reads as being about ``break``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from curriculum.embeddings import EmbedFn

from .text import content_terms, split_sentences

__all__ = [
    "ABSTAIN_PREFIX",
    "THRESHOLD",
    "Source",
    "ScoredSentence",
    "Answer",
    "parse_sources",
    "find_sources_and_question",
    "score_sentences",
    "answer_from_sources",
]

ABSTAIN_PREFIX = "The sources do not say"
SEMANTIC_WEIGHT = 0.75
LEXICAL_WEIGHT = 0.25
THRESHOLD = 0.375
MARGIN = 0.08
ADJACENT_MARGIN = 0.2
MAX_SENTENCES = 3
CANDIDATES = 5
MIN_WORDS = 3

_SOURCE_LINE = re.compile(r"^\s*\[(\d+)\]\s*(?:\(source:\s*([^)]*)\)\s*)?(.*)$")
_SOURCE_TAG = re.compile(r"<source\b([^>]*)>(.*?)</source>", re.S | re.I)
_ATTRIBUTE = re.compile(r"""(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_QUESTION_LABEL = re.compile(r"^\s*(?:question|q)\s*:\s*", re.I)


@dataclass(frozen=True)
class Source:
    """One numbered passage of the prompt."""

    number: int
    name: str
    text: str


@dataclass(frozen=True)
class ScoredSentence:
    source: int
    position: int
    sentence: str
    lexical: float
    semantic: float
    score: float


@dataclass(frozen=True)
class Answer:
    """The reply text plus what it was built from (for tests and notebooks)."""

    text: str
    abstained: bool
    quoted: list[ScoredSentence]
    best_score: float


def parse_sources(text: str) -> tuple[list[Source], str]:
    """Sources found in ``text`` and the text that is left once they are removed."""
    sources: list[Source] = []

    def take_tag(match: re.Match[str]) -> str:
        attrs = {
            m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
            for m in _ATTRIBUTE.finditer(match.group(1))
        }
        if not (attrs.get("id") or "").strip().isdigit():
            return match.group(0)
        sources.append(Source(int(attrs["id"]), attrs.get("name", "").strip(), match.group(2).strip()))
        return "\n"

    remaining = _SOURCE_TAG.sub(take_tag, text)
    rest: list[str] = []
    current: list[Any] | None = None  # [number, name, lines]
    for line in remaining.splitlines():
        match = _SOURCE_LINE.match(line)
        if match:
            if current:
                sources.append(Source(current[0], current[1], " ".join(current[2]).strip()))
            current = [int(match.group(1)), (match.group(2) or "").strip(), [match.group(3).strip()]]
            continue
        if current is not None and line.strip() and not _QUESTION_LABEL.match(line):
            current[2].append(line.strip())
            continue
        if current is not None:
            sources.append(Source(current[0], current[1], " ".join(current[2]).strip()))
            current = None
        rest.append(line)
    if current:
        sources.append(Source(current[0], current[1], " ".join(current[2]).strip()))
    return sources, "\n".join(rest).strip()


def _question_from(text: str, had_sources: bool) -> str:
    lines = text.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if _QUESTION_LABEL.match(lines[i]):
            tail = [_QUESTION_LABEL.sub("", lines[i], count=1)]
            for line in lines[i + 1 :]:
                if not line.strip():
                    break
                tail.append(line)
            return " ".join(part.strip() for part in tail).strip()
    if had_sources:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        return paragraphs[-1] if paragraphs else ""
    return text.strip()


def find_sources_and_question(messages: Sequence[dict[str, Any]]) -> tuple[list[Source], str]:
    """All sources of the system and user messages, and the question of the last user message."""
    sources: list[Source] = []
    question = ""
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
    for i, message in enumerate(messages):
        if message["role"] not in ("system", "user"):
            continue
        found, rest = parse_sources(message.get("content") or "")
        sources.extend(found)
        if i == last_user:
            question = _question_from(rest, bool(found))
    return sources, question


def _topic(source: Source) -> str:
    """The last part of a source name, as words: ``python-reference/assert#2`` -> ``assert``."""
    parts = [p for p in re.split(r"[/\\:]", source.name.split("#")[0].strip()) if p]
    last = re.sub(r"\.(md|txt|html?|rst)$", "", parts[-1]) if parts else ""
    topic = re.sub(r"[-_.]+", " ", last).strip()
    return "" if topic.isdigit() else topic


def _sentences(sources: Sequence[Source]) -> list[tuple[int, int, str, str]]:
    out = []
    for source in sources:
        topic = _topic(source)
        for position, sentence in enumerate(split_sentences(source.text)):
            if len(sentence.split()) >= MIN_WORDS:
                out.append((source.number, position, sentence, topic))
    return out


def _with_topic(sentence: str, topic: str) -> str:
    return f"{topic}: {sentence}" if topic and topic.lower() not in sentence.lower() else sentence


def score_sentences(question: str, sources: Sequence[Source], embed: EmbedFn) -> list[ScoredSentence]:
    """Every sentence of the sources with its lexical, semantic and blended score, best first.

    Sentences outside the ``CANDIDATES`` best by lexical score keep ``semantic = 0``.
    """
    sentences = _sentences(sources)
    if not sentences:
        return []
    q_terms = set(content_terms(question))
    s_terms = [set(content_terms(text)) for _, _, text, _ in sentences]
    n = len(sentences)
    idf = {t: math.log(1 + (n + 1) / (1 + sum(t in terms for terms in s_terms))) for t in q_terms}
    total = sum(idf.values())
    lexical = [sum(idf[t] for t in q_terms & terms) / total if total else 0.0 for terms in s_terms]
    order = sorted(range(n), key=lambda i: (-lexical[i], i))[:CANDIDATES]
    semantic = [0.0] * n
    if question.strip():
        vectors = embed([question] + [_with_topic(sentences[i][2], sentences[i][3]) for i in order])
        sims = vectors[1:] @ vectors[0]
        for i, sim in zip(order, sims):
            semantic[i] = float(sim)
    scored = [
        ScoredSentence(
            src, pos, text, lexical[i], semantic[i], SEMANTIC_WEIGHT * semantic[i] + LEXICAL_WEIGHT * lexical[i]
        )
        for i, (src, pos, text, _) in enumerate(sentences)
    ]
    return sorted(scored, key=lambda s: -s.score)


def _near_duplicate(a: str, b: str) -> bool:
    ta, tb = set(content_terms(a)), set(content_terms(b))
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) > 0.8


def answer_from_sources(question: str, sources: Sequence[Source], embed: EmbedFn) -> Answer:
    """Quote the best supported sentences with their ``[n]`` markers, or abstain."""
    if not question.strip():
        return Answer(f"{ABSTAIN_PREFIX}: no question was found after the sources.", True, [], 0.0)
    scored = score_sentences(question, sources, embed)
    best = scored[0].score if scored else 0.0
    if not scored or best < THRESHOLD:
        return Answer(
            f"{ABSTAIN_PREFIX} anything that answers this question "
            f"({len(sources)} source{'s' if len(sources) != 1 else ''} checked).",
            True,
            [],
            best,
        )
    chosen = [scored[0]]
    while len(chosen) < MAX_SENTENCES:
        added = False
        for candidate in scored[1:]:
            if candidate.score < THRESHOLD:
                break
            if candidate in chosen or any(_near_duplicate(candidate.sentence, c.sentence) for c in chosen):
                continue
            adjacent = any(c.source == candidate.source and abs(c.position - candidate.position) == 1 for c in chosen)
            if candidate.score >= best - (ADJACENT_MARGIN if adjacent else MARGIN):
                chosen.append(candidate)
                added = True
                break
        if not added:
            break
    order = {s.number: i for i, s in enumerate(sources)}
    chosen.sort(key=lambda s: (order.get(s.source, 0), s.position))
    text = " ".join(f"{c.sentence} [{c.source}]" for c in chosen)
    return Answer(text, False, chosen, best)
