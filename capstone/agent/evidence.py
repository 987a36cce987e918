"""The numbered passages an answer may cite, and how they are shown to the model.

Evidence is numbered in the order it arrives: the first retrieval, then whatever the tools add
(more chunks, a whole page, a calculator result, a ticket receipt). The prompt shows each item as
a ``<source id="n">`` block; a passage cannot close its block or open a fake one (:func:`defuse`).

>>> book = EvidenceList()
>>> book.add_tool_output("calculate", "The Python expression 2**4 evaluates to 16.").number
1
>>> print(format_evidence(book.items))
<source id="1" name="tool/calculate">
The Python expression 2**4 evaluates to 16.
</source>
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capstone.rag.store import StoredChunk

__all__ = ["Evidence", "EvidenceList", "format_evidence", "unwrap", "defuse"]


@dataclass(frozen=True)
class Evidence:
    """A numbered passage the answer may cite: a chunk, or the output of a tool."""

    number: int
    chunk_id: str
    source: str
    text: str
    kind: str = "chunk"  # "chunk" or "tool"


@dataclass
class EvidenceList:
    """The evidence of one request, numbered 1, 2, ... without duplicates."""

    items: list[Evidence] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def by_number(self) -> dict[int, Evidence]:
        return {e.number: e for e in self.items}

    def add_chunks(self, chunks: Iterable[StoredChunk]) -> list[Evidence]:
        """Number the chunks not yet in the list (quarantined ones never) and append them; returns the new items."""
        known = {e.chunk_id for e in self.items}
        added = []
        for chunk in chunks:
            if chunk.id in known or chunk.flagged:
                continue
            item = Evidence(len(self.items) + 1, chunk.id, chunk.source, chunk.text)
            self.items.append(item)
            added.append(item)
            known.add(chunk.id)
        return added

    def add_tool_output(self, tool: str, text: str) -> Evidence:
        """A tool's result as a citable item (the same result twice is one item)."""
        for known in self.items:
            if known.kind == "tool" and known.source == f"tool/{tool}" and known.text == text:
                return known
        number = len(self.items) + 1
        item = Evidence(number, f"tool:{tool}:{number}", f"tool/{tool}", text, kind="tool")
        self.items.append(item)
        return item


def format_evidence(items: Iterable[Evidence]) -> str:
    """Evidence as source blocks, the format the prompt uses (hard-wrapped prose unwrapped, tags defused)."""
    return "\n".join(f'<source id="{e.number}" name="{e.source}">\n{defuse(unwrap(e.text))}\n</source>' for e in items)


_BLOCK_START = re.compile(r"^(?:\s|[-*+>#|]|\d+[.)]\s|```)")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S")


def unwrap(text: str) -> str:
    r"""Join hard-wrapped prose lines (so a sentence is one line); lists, headings, code and blank lines stay.

    An indented line right after a list item continues that item.

    >>> unwrap("Assert statements are a convenient way\nto insert assertions.\n\n- item one\n  continued\n- item")
    'Assert statements are a convenient way to insert assertions.\n\n- item one continued\n- item'
    """
    out: list[str] = []
    in_item = False
    for line in text.split("\n"):
        prev = out[-1] if out else ""
        if not line.strip():
            in_item = False
            out.append(line)
            continue
        if _ITEM.match(line):
            in_item = True
            out.append(line)
            continue
        continues_item = in_item and line[:1] in (" ", "\t")
        continues_prose = (
            prev.strip() and not _BLOCK_START.match(line) and not prev.startswith((" ", "\t", "#", "|", "```"))
        )
        if continues_item or (continues_prose and not in_item):
            out[-1] = prev.rstrip() + " " + line.strip()
        else:
            in_item = False
            out.append(line)
    return "\n".join(out)


def defuse(text: str) -> str:
    """Stop a passage from closing its source block or opening a fake one."""
    return re.sub(r"(?i)<(/?)\s*source", r"‹\1source", text)
