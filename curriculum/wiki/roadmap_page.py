"""The roadmap page: one chip per roadmap item, the capstone and its criteria, and the page's Markdown.

Each chip links to its wiki page when the item is ready and the page exists, and to its
``backlog.md`` entry otherwise; ready items also get a link that opens their notebook in JupyterLab.
Pure functions: no file system (except listing a wiki folder when one is given), no network.

Example::

    chip_list = chips(load_roadmap(), {"cosine-similarity"})
    markdown = roadmap_markdown(load_roadmap(), chip_list, lab="http://127.0.0.1:8888")
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from curriculum.paths import WIKI_DIR
from curriculum.roadmap import Roadmap
from curriculum.wiki.links import DEFAULT_LAB_URL, notebook_lab_link

__all__ = ["BACKLOG_PAGE", "CAPSTONE_SECTION", "ROADMAP_PAGE", "Chip", "chips", "roadmap_markdown"]

ROADMAP_PAGE = "index.md"  # the generated roadmap page is the site's home page
BACKLOG_PAGE = "backlog.md"
CAPSTONE_SECTION = "capstone"


@dataclass(frozen=True)
class Chip:
    """One chip of the roadmap page and where it leads."""

    id: str
    text: str
    kind: str  # task | question | capstone | criterion
    section: str  # phase id, or "capstone"
    hands_on: bool
    wiki: str
    target: str  # "page" or "backlog"
    href: str  # relative to the roadmap page, in source terms: "<slug>.md" or "backlog.md#<id>"
    notebook: str | None = None  # "<phase>/<file>.ipynb" for ready items

    @property
    def label(self) -> str:
        """The chip's text as the roadmap shows it (hands-on lines carry the arrow)."""
        return f"→ {self.text}" if self.hands_on else self.text


def chips(roadmap: Roadmap, existing_pages: set[str] | Path = WIKI_DIR) -> list[Chip]:
    """Every chip of the roadmap page in order: the phases' items, the capstone, its criteria.

    ``existing_pages`` is the set of wiki slugs that exist (or the wiki folder to look in). A chip
    links to its page when the item is ready and the page exists, and to its backlog entry otherwise.
    """
    if isinstance(existing_pages, Path):
        existing = {p.stem for p in existing_pages.glob("*.md")}
    else:
        existing = set(existing_pages)

    def make(ident, text, kind, section, hands_on, wiki, ready, notebook):
        to_page = ready and wiki in existing
        return Chip(
            id=ident,
            text=text,
            kind=kind,
            section=section,
            hands_on=hands_on,
            wiki=wiki,
            target="page" if to_page else "backlog",
            href=f"{wiki}.md" if to_page else f"{BACKLOG_PAGE}#{ident}",
            notebook=notebook if ready else None,
        )

    out = [make(i.id, i.text, i.kind, i.phase, i.hands_on, i.wiki, i.ready, i.notebook_path) for i in roadmap.items]
    out.append(
        make(
            roadmap.capstone_id,
            roadmap.capstone_text,
            "capstone",
            CAPSTONE_SECTION,
            False,
            roadmap.capstone_wiki,
            roadmap.capstone_status == "ready",
            None,
        )
    )
    out += [
        make(c.id, c.text, "criterion", CAPSTONE_SECTION, False, c.wiki, c.status == "ready", None)
        for c in roadmap.criteria
    ]
    return out


def _md_text(text: str) -> str:
    """Escape text for a Markdown link label."""
    text = html.escape(text, quote=False)
    return re.sub(r"([\\`*_{}\[\]])", r"\\\1", text)


def _chip_markdown(chip: Chip, lab: str) -> str:
    classes = ["aie-chip", f"aie-chip--{chip.kind}", f"aie-chip--{chip.target}"]
    if chip.hands_on:
        classes.append("aie-chip--hands-on")
    inner = []
    if chip.kind == "question":
        inner.append('<span class="aie-chip__kind" title="question">?</span>')
    inner.append(f"[{_md_text(chip.label)}]({chip.href}){{ .aie-chip__link }}")
    if chip.target == "backlog":
        inner.append('<span class="aie-chip__badge">coming</span>')
    if chip.notebook:
        link = notebook_lab_link(lab, chip.notebook)
        inner.append(f'[notebook ↗]({link}){{ .aie-chip__lab title="Open {chip.notebook} in JupyterLab" }}')
    attrs = (
        f'class="{" ".join(classes)}" data-roadmap-id="{html.escape(chip.id)}" '
        f'data-kind="{chip.kind}" data-target="{chip.target}"'
    )
    return f'<div {attrs} markdown="span">{" ".join(inner)}</div>'


def _chip_block(chip_list: list[Chip], lab: str) -> list[str]:
    return ['<div class="aie-chips" markdown>', *(_chip_markdown(c, lab) for c in chip_list), "</div>", ""]


def roadmap_markdown(roadmap: Roadmap, chip_list: list[Chip], lab: str = DEFAULT_LAB_URL) -> str:
    """The roadmap page's Markdown: role intro, four phases of chips, the capstone and its criteria, footer."""
    by_section: dict[str, list[Chip]] = {}
    for chip in chip_list:
        by_section.setdefault(chip.section, []).append(chip)
    lines = [
        "---",
        f"title: {json.dumps(roadmap.title + ' roadmap', ensure_ascii=False)}",
        "---",
        "",
        f"# {roadmap.title}",
        "",
        f'<p class="aie-tagline">{html.escape(roadmap.tagline)}</p>',
        "",
        '<p class="aie-legend">Each chip opens the wiki entry for its topic, or the backlog entry when the entry is '
        'still to come (marked <span class="aie-chip__badge">coming</span>). '
        'Lines marked → are hands-on; <span class="aie-chip__kind">?</span> marks a question, answered in writing '
        f"inside its notebook. <em>notebook ↗</em> opens the notebook in your running JupyterLab ({html.escape(lab)}, "
        "started with <code>make lab</code>).</p>",
        "",
    ]
    for phase in roadmap.phases:
        lines += [f"## {phase.title} {{ #{phase.id} }}", "", html.escape(phase.summary, quote=False), ""]
        lines += _chip_block(by_section.get(phase.id, []), lab)
    lines += [f"## {roadmap.capstone_title} {{ #{CAPSTONE_SECTION} }}", ""]
    capstone = [c for c in by_section.get(CAPSTONE_SECTION, []) if c.kind == "capstone"]
    criteria = [c for c in by_section.get(CAPSTONE_SECTION, []) if c.kind == "criterion"]
    lines += _chip_block(capstone, lab)
    lines += [f"The capstone is done when it meets all {len(criteria)} criteria:", ""]
    lines += _chip_block(criteria, lab)
    lines += [f'<p class="aie-footer">{html.escape(roadmap.footer)}</p>', ""]
    return "\n".join(lines)
