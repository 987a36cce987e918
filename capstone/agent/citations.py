"""Inline citations: resolve every ``[n]`` marker to a quote that is really in passage ``n``.

The model's answer is split into claims, each ending with its markers. For each marker:

1. the claim itself is looked up in the passage (whitespace-insensitive); found -> that text
   is the quote;
2. otherwise the passage sentence sharing the most words with the claim is the quote, if it
   shares at least half of the claim's words (a paraphrase);
3. otherwise the marker is invalid and removed; a claim left with no valid marker is removed
   from the answer (it claimed support it does not have).

Markers are then renumbered 1, 2, ... in order of appearance, one citation per distinct quote.

Example::

    >>> ev = {1: Evidence(1, "python-reference/pass#0", "python-reference/pass", "pass is a null operation.")}
    >>> out = resolve("pass is a null operation. [1] Cats can fly. [7]", ev)
    >>> out.answer, [c["quote"] for c in out.citations], out.dropped
    ('pass is a null operation. [1]', ['pass is a null operation.'], ['Cats can fly. [7]'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from capstone.agent.evidence import Evidence
from capstone.rag.chunking import normalize_ws

__all__ = ["Resolved", "resolve", "find_quote", "check_citations", "MARKER"]

MARKER = re.compile(r"\[(\d{1,3})\]")
_GROUP = re.compile(r"(?:\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\])+")
_WORD = re.compile(r"\w+")


@dataclass
class Resolved:
    answer: str
    citations: list[dict] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    repaired: int = 0


def find_quote(claim: str, passage: str) -> str | None:
    """The passage's own text for ``claim`` (exact modulo whitespace), else None."""
    words = claim.split()
    if not words:
        return None
    pattern = r"\s+".join(re.escape(w) for w in words)
    match = re.search(pattern, passage)
    return match.group(0) if match else None


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?:])\s+(?=[A-Z\"'(`])|\n\s*\n", text) if s.strip()]


def _best_sentence(claim: str, passage: str) -> str | None:
    claim_words = {w.lower() for w in _WORD.findall(claim) if len(w) > 2}
    if not claim_words:
        return None
    best, best_share = None, 0.0
    for sentence in _sentences(passage):
        share = len(claim_words & {w.lower() for w in _WORD.findall(sentence)}) / len(claim_words)
        if share > best_share:
            best, best_share = sentence, share
    return best if best_share >= 0.5 else None


def _claims(answer: str) -> list[tuple[str, list[int], str]]:
    """(claim text, marker numbers, original segment) in order; trailing text without markers too."""
    out = []
    pos = 0
    for match in _GROUP.finditer(answer):
        claim = answer[pos : match.start()]
        numbers = [int(n) for n in re.findall(r"\d{1,3}", match.group(0))]
        out.append((claim, numbers, answer[pos : match.end()]))
        pos = match.end()
    if answer[pos:].strip():
        out.append((answer[pos:], [], answer[pos:]))
    return out


def _claim_core(claim: str) -> str:
    """The last sentence of a claim (a marker supports the sentence it ends)."""
    claim = claim.strip()
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z\"'“‘(\[`*])", claim)
    core = parts[-1] if parts else claim
    return core.strip(" \n-*") or claim


def resolve(answer: str, evidence: dict[int, Evidence]) -> Resolved:
    """Validate, repair or drop every marker of ``answer`` against ``evidence`` (number -> passage)."""
    result = Resolved(answer="")
    numbering: dict[tuple[str, str], int] = {}
    pieces: list[str] = []
    for claim, numbers, segment in _claims(answer):
        if not numbers:
            pieces.append(claim)
            continue
        new_markers = []
        for n in dict.fromkeys(numbers):
            item = evidence.get(n)
            if item is None:
                continue
            core = _claim_core(claim)
            quote = find_quote(core, item.text)
            if quote is None:
                quote = _best_sentence(core, item.text)
                if quote is None:
                    continue
                result.repaired += 1
            key = (item.chunk_id, quote)
            if key not in numbering:
                numbering[key] = len(numbering) + 1
                result.citations.append(
                    {"marker": f"[{numbering[key]}]", "source": item.source, "chunk_id": item.chunk_id, "quote": quote}
                )
            new_markers.append(f"[{numbering[key]}]")
        if new_markers:
            pieces.append(claim.rstrip() + " " + "".join(new_markers))
        else:
            result.dropped.append(segment.strip())
    text = "".join(p if i == 0 or p.startswith((" ", "\n")) else " " + p for i, p in enumerate(pieces))
    result.answer = re.sub(r"[ \t]+\n", "\n", text).strip()
    return result


def check_citations(answer: str, citations: list[dict], chunk_text: dict[str, str]) -> list[str]:
    """Problems with a response's citations (empty when valid): the check the eval suite runs.

    Every marker in ``answer`` must have a citation, every citation's quote must be in the
    text of its chunk (``chunk_text`` maps chunk id -> text; whitespace-insensitive).
    """
    problems = []
    by_marker = {c["marker"]: c for c in citations}
    for marker in dict.fromkeys(MARKER.findall(answer)):
        citation = by_marker.get(f"[{marker}]")
        if citation is None:
            problems.append(f"marker [{marker}] has no citation")
            continue
        text = chunk_text.get(citation["chunk_id"])
        if text is None:
            problems.append(f"[{marker}] cites unknown chunk {citation['chunk_id']}")
        elif not citation["quote"].strip() or normalize_ws(citation["quote"]) not in normalize_ws(text):
            problems.append(f"[{marker}] quote is not in {citation['chunk_id']}: {citation['quote'][:60]!r}")
    for citation in citations:
        if citation["marker"] not in answer:
            problems.append(f"citation {citation['marker']} is not used in the answer")
    return problems
