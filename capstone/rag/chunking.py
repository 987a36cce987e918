"""Documents and chunks: split a document's text into heading-aware chunks of bounded size.

A chunk never crosses a section heading and holds whole paragraphs when they fit; a paragraph
longer than the target is split at sentence (then line, then word) boundaries. The chunk text is
the document's own text, verbatim, so a citation quote can always be checked against it.

Example::

    >>> doc = Document(source="wiki/x", title="X", text="# A\\n\\nOne. Two.\\n\\n# B\\n\\nThree.")
    >>> [(c.id, c.heading, c.text) for c in chunk_document(doc, 200)]
    [('wiki/x#0', 'A', 'One. Two.'), ('wiki/x#1', 'B', 'Three.')]
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

__all__ = ["Document", "Chunk", "chunk_document", "content_hash", "normalize_ws"]

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_UNDERLINE = re.compile(r"^([*=\-~^])\1{2,}\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[A-Z\"'(`\[])")


@dataclass(frozen=True)
class Document:
    """One source document as a connector produced it."""

    source: str  # unique name, e.g. "python-reference/assert" or "wiki/cosine-similarity"
    title: str
    text: str
    connector: str = "text"
    visibility: str = "public"
    owner_id: int | None = None
    metadata: dict = field(default_factory=dict, compare=False)

    @property
    def content_hash(self) -> str:
        return content_hash(f"{self.title}\n{self.text}\n{self.visibility}\n{self.owner_id}")


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of a document; ``id`` is ``<source>#<ordinal>``."""

    id: str
    source: str
    ordinal: int
    heading: str
    text: str
    title: str = ""

    def embedding_text(self) -> str:
        """What gets embedded: title and heading give a short chunk its context (BM25 reads them as a separate field)."""
        parts = [p for p in (self.title, self.heading) if p]
        head = " — ".join(dict.fromkeys(parts))
        return f"{head}\n{self.text}" if head else self.text


def content_hash(text: str) -> str:
    """SHA-256 hex digest of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalize_ws(text: str) -> str:
    """Collapse every run of whitespace to one space (how quotes are compared with chunks)."""
    return " ".join(text.split())


def _sections(text: str) -> list[tuple[str, str]]:
    """Split into (heading, body) pairs on Markdown headings and reST-style underlined headings."""
    lines = text.splitlines()
    sections: list[tuple[str, list[str]]] = [("", [])]
    i = 0
    while i < len(lines):
        line = lines[i]
        md = _MD_HEADING.match(line)
        if md:
            sections.append((md.group(2).strip(), []))
        elif (
            i + 1 < len(lines)
            and line.strip()
            and _UNDERLINE.match(lines[i + 1])
            and len(lines[i + 1].strip()) >= min(len(line.strip()), 3)
        ):
            sections.append((line.strip(), []))
            i += 1
        else:
            sections[-1][1].append(line)
        i += 1
    return [(h, "\n".join(body).strip()) for h, body in sections if "\n".join(body).strip() or h]


def _split_long(paragraph: str, limit: int) -> list[str]:
    """Cut a paragraph longer than ``limit`` at sentence, line or word boundaries (text kept verbatim)."""
    if len(paragraph) <= limit:
        return [paragraph]
    for pattern in (_SENTENCE_END, re.compile(r"\n+"), re.compile(r" +")):
        cuts = [m.end() for m in pattern.finditer(paragraph) if 0 < m.end() < len(paragraph)]
        if not cuts:
            continue
        out: list[str] = []
        start = 0
        last_ok = None
        for cut in cuts + [len(paragraph)]:
            if cut - start > limit and last_ok is not None:
                out.append(paragraph[start:last_ok])
                start = last_ok
            last_ok = cut
        out.append(paragraph[start:])
        pieces = [p.strip() for p in out if p.strip()]
        result: list[str] = []
        for piece in pieces:
            result.extend(_split_long(piece, limit) if len(piece) > limit and piece != paragraph.strip() else [piece])
        if all(len(p) <= limit for p in result):
            return result
    return [paragraph[i : i + limit] for i in range(0, len(paragraph), limit)]


def chunk_document(doc: Document, target_chars: int = 1000) -> list[Chunk]:
    """Heading-aware chunks of about ``target_chars`` characters (at most 1.5× for a whole paragraph)."""
    if target_chars < 50:
        raise ValueError("target_chars must be at least 50")
    pieces: list[tuple[str, str]] = []
    for heading, body in _sections(doc.text):
        paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", body) if p.strip()]
        current: list[str] = []
        size = 0
        for paragraph in paragraphs:
            for part in _split_long(paragraph, int(target_chars * 1.5)):
                if current and size + len(part) > target_chars:
                    pieces.append((heading, "\n\n".join(current)))
                    current, size = [], 0
                current.append(part)
                size += len(part) + 2
        if current:
            tail = "\n\n".join(current)
            if (
                pieces
                and pieces[-1][0] == heading
                and len(tail) < target_chars // 4
                and len(pieces[-1][1]) + len(tail) <= target_chars * 1.5
            ):
                pieces[-1] = (heading, pieces[-1][1] + "\n\n" + tail)  # a short tail joins its neighbour
            else:
                pieces.append((heading, tail))
    return [
        Chunk(
            id=f"{doc.source}#{i}",
            source=doc.source,
            ordinal=i,
            heading=heading or doc.title,
            text=text,
            title=doc.title,
        )
        for i, (heading, text) in enumerate(pieces)
        if text.strip()
    ]
