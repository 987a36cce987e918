"""Build the roadmap site: the roadmap page generated from ``roadmap.toml`` plus the wiki pages.

The pure part (no file system, no network) turns the roadmap into chips and the chips into the
roadmap page's Markdown, rewrites notebook links and writes the mkdocs configuration.
:func:`build_site` stages everything in a temporary folder and runs mkdocs (material theme,
built-in search, web fonts off so nothing is fetched from the internet). :func:`link_problems`,
:func:`lab_link_problems` and :func:`coverage_problems` are the checks the tests and
``aie wiki build`` run.

Example::

    report = build_site(Path("site"), lab="http://127.0.0.1:8888")
    print(report.chips_to_pages, "chips lead to pages,", report.chips_to_backlog, "to the backlog")
    assert link_problems(report.out) == []
"""

from __future__ import annotations

import functools
import html
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import yaml

from curriculum.paths import REPO_ROOT, WIKI_DIR
from curriculum.roadmap import Roadmap, load_roadmap

__all__ = [
    "BACKLOG_PAGE",
    "DEFAULT_LAB_URL",
    "LAB_URL_ENV",
    "ROADMAP_PAGE",
    "BuildReport",
    "Chip",
    "WikiError",
    "WikiPage",
    "backlog_anchors",
    "find_katex",
    "build_site",
    "chip_problems",
    "chips",
    "coverage_problems",
    "lab_link_problems",
    "lab_url",
    "link_problems",
    "markdown_links",
    "notebook_lab_link",
    "notebook_problems",
    "page_problems",
    "read_pages",
    "rewrite_links",
    "roadmap_markdown",
    "serve_site",
]

DEFAULT_LAB_URL = "http://127.0.0.1:8888"
LAB_URL_ENV = "AIE_LAB_URL"
ROADMAP_PAGE = "index.md"  # the generated roadmap page is the site's home page
BACKLOG_PAGE = "backlog.md"
CSS_PATH = "assets/aie-roadmap.css"
MATH_JS_PATH = "assets/aie-math.js"
KATEX_ASSETS = "assets/katex"
KATEX_ENV = "AIE_KATEX_DIR"
KATEX_DIRS = (Path("/usr/share/javascript/katex"),)  # Debian package libjs-katex
CAPSTONE_SECTION = "capstone"

# ../<phase>/<notebook>.ipynb as a link target in Markdown ("](", "]: ") or HTML (href=").
_NOTEBOOK_LINK = re.compile(
    r"""(?P<lead>\]\(\s*<?|^\[[^\]]+\]:\s*<?|href=["'])\.\./(?P<path>\d\d_[a-z]+/[A-Za-z0-9_.-]+\.ipynb)(?P<frag>#[^\s)"'>]*)?""",
    re.M)
# ../wiki/<page> from a wiki page is the same folder.
_WIKI_LINK = re.compile(r"""(?P<lead>\]\(\s*<?|^\[[^\]]+\]:\s*<?|href=["'])\.\./wiki/""", re.M)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?P<yaml>.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_ANCHOR_ID = re.compile(r"""<a\s+[^>]*\b(?:id|name)\s*=\s*["']([^"']+)["']""", re.I)


class WikiError(ValueError):
    """The wiki or the site cannot be built as asked; the message names the file and the reason."""


# ---------------------------------------------------------------------------------------------
# Pure part: pages, chips, Markdown
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WikiPage:
    """One Markdown file of ``wiki/``: its front matter and its body."""

    slug: str
    meta: dict
    body: str
    text: str

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.slug)

    @property
    def heading(self) -> str:
        """The page's first ``# `` heading (what a reader sees on top of the page), else its title."""
        for line in self.body.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
        return self.title


def parse_page(slug: str, text: str) -> WikiPage:
    """Split a wiki page into YAML front matter and body; raise :class:`WikiError` on bad YAML."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return WikiPage(slug=slug, meta={}, body=text, text=text)
    try:
        meta = yaml.safe_load(match.group("yaml")) or {}
    except yaml.YAMLError as exc:
        raise WikiError(f"wiki/{slug}.md: front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise WikiError(f"wiki/{slug}.md: front matter must be a mapping of keys to values")
    return WikiPage(slug=slug, meta=meta, body=text[match.end():], text=text)


def read_pages(wiki_dir: Path = WIKI_DIR) -> dict[str, WikiPage]:
    """Every ``*.md`` page directly in ``wiki_dir``, by slug (file name without ``.md``)."""
    wiki_dir = Path(wiki_dir)
    if not wiki_dir.is_dir():
        raise WikiError(f"wiki folder {wiki_dir} does not exist")
    pages = {}
    for path in sorted(wiki_dir.glob("*.md")):
        pages[path.stem] = parse_page(path.stem, path.read_text(encoding="utf-8"))
    return pages


def lab_url(value: str | None = None) -> str:
    """The JupyterLab base URL: ``value``, else ``$AIE_LAB_URL``, else ``http://127.0.0.1:8888``."""
    raw = (value or os.environ.get(LAB_URL_ENV) or DEFAULT_LAB_URL).strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise WikiError(f"the JupyterLab URL (--lab-url or {LAB_URL_ENV}) must look like {DEFAULT_LAB_URL}, got {raw!r}")
    return raw.rstrip("/")


def notebook_lab_link(lab: str, notebook_path: str) -> str:
    """Link that opens ``<phase>/<notebook>.ipynb`` of the learner workspace in a running JupyterLab."""
    return f"{lab.rstrip('/')}/lab/tree/{quote(notebook_path, safe='/')}"


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
            id=ident, text=text, kind=kind, section=section, hands_on=hands_on, wiki=wiki,
            target="page" if to_page else "backlog",
            href=f"{wiki}.md" if to_page else f"{BACKLOG_PAGE}#{ident}",
            notebook=notebook if ready else None,
        )

    out = [make(i.id, i.text, i.kind, i.phase, i.hands_on, i.wiki, i.ready, i.notebook_path) for i in roadmap.items]
    out.append(make(roadmap.capstone_id, roadmap.capstone_text, "capstone", CAPSTONE_SECTION, False,
                    roadmap.capstone_wiki, roadmap.capstone_status == "ready", None))
    out += [make(c.id, c.text, "criterion", CAPSTONE_SECTION, False, c.wiki, c.status == "ready", None)
            for c in roadmap.criteria]
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
    attrs = (f'class="{" ".join(classes)}" data-roadmap-id="{html.escape(chip.id)}" '
             f'data-kind="{chip.kind}" data-target="{chip.target}"')
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
        f'inside its notebook. <em>notebook ↗</em> opens the notebook in your running JupyterLab ({html.escape(lab)}, '
        'started with <code>make lab</code>).</p>',
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


def rewrite_links(markdown: str, lab: str, notebooks: set[str] | None = None,
                  coming: dict[str, str] | None = None) -> str:
    """Make a wiki page's links work inside the site.

    ``../<phase>/<notebook>.ipynb`` becomes the JupyterLab link to that notebook in the learner
    workspace (which mirrors the phase folders). When ``notebooks`` (the notebooks that exist) is
    given and lacks it, the link goes to ``coming[path]`` instead (the backlog entry of the item
    the notebook is for), or stays as it is when there is none, for the link check to report.
    ``../wiki/<page>`` becomes ``<page>``.
    """
    def notebook(m: re.Match) -> str:
        path = m.group("path")
        if notebooks is None or path in notebooks:
            return m.group("lead") + notebook_lab_link(lab, path) + (m.group("frag") or "")
        if coming and path in coming:
            return m.group("lead") + coming[path]
        return m.group(0)

    markdown = _NOTEBOOK_LINK.sub(notebook, markdown)
    return _WIKI_LINK.sub(lambda m: m.group("lead"), markdown)


def mkdocs_config(roadmap: Roadmap, pages: dict[str, WikiPage], docs_dir: Path, site_dir: Path,
                  katex: bool = False) -> dict:
    """The mkdocs configuration: material theme without web fonts, built-in search, nav in roadmap order.

    With ``katex`` the formulas are typeset by a local copy of KaTeX; without it they show as TeX source.
    """
    nav: list = [{"Roadmap": ROADMAP_PAGE}]
    placed = {"backlog"}
    for phase in roadmap.phases:
        slugs = [s for s in dict.fromkeys(i.wiki for i in phase.items) if s in pages]
        if slugs:
            nav.append({phase.title: [f"{s}.md" for s in slugs]})
            placed.update(slugs)
    cap = [s for s in dict.fromkeys([roadmap.capstone_wiki, *(c.wiki for c in roadmap.criteria)]) if s in pages]
    if cap:
        nav.append({roadmap.capstone_title: [f"{s}.md" for s in cap]})
        placed.update(cap)
    others = [f"{s}.md" for s in pages if s not in placed]
    if others:
        nav.append({"More": others})
    if "backlog" in pages:
        nav.append({"Backlog": BACKLOG_PAGE})
    return {
        "site_name": f"{roadmap.title} Track" if roadmap.title else "Roadmap",
        "site_description": roadmap.tagline,
        "docs_dir": str(docs_dir),
        "site_dir": str(site_dir),
        "use_directory_urls": False,  # x.md -> x.html: works from a static server and from file://
        "theme": {
            "name": "material",
            "font": False,  # no Google Fonts: the site is built and read offline
            "features": ["navigation.sections", "navigation.top", "search.highlight", "content.code.copy"],
            "palette": {"primary": "indigo", "accent": "indigo"},
        },
        "plugins": ["search"],
        "markdown_extensions": [
            "attr_list",
            "md_in_html",
            "admonition",
            "tables",
            "footnotes",
            {"toc": {"permalink": True}},
            "pymdownx.superfences",
            {"pymdownx.highlight": {"use_pygments": True}},
            {"pymdownx.arithmatex": {"generic": True}},
        ],
        "extra_css": [CSS_PATH, *([f"{KATEX_ASSETS}/katex.min.css"] if katex else [])],
        "extra_javascript": [f"{KATEX_ASSETS}/katex.min.js", MATH_JS_PATH] if katex else [],
        "extra": {"generator": False},
        "nav": nav,
        "validation": {
            "omitted_files": "warn",
            "absolute_links": "warn",
            "unrecognized_links": "warn",
            "anchors": "warn",
        },
    }


CSS = """\
.aie-tagline { font-size: .9rem; color: var(--md-default-fg-color--light); }
.aie-legend { font-size: .7rem; color: var(--md-default-fg-color--light); }
.aie-chips { display: flex; flex-wrap: wrap; gap: .5rem; margin: .6rem 0 1.6rem; }
.aie-chip { display: inline-flex; align-items: center; gap: .4rem; max-width: 100%; padding: .35rem .8rem;
  border: 1px solid var(--md-primary-fg-color); border-radius: 1.2rem; background: var(--md-code-bg-color);
  font-size: .72rem; line-height: 1.35; }
.aie-chip--question { border-style: dashed; background: transparent; font-style: italic; }
.aie-chip--backlog { border-color: var(--md-default-fg-color--lighter); }
.aie-chip--capstone { border-width: 2px; font-weight: 700; }
.aie-chip__link { color: var(--md-typeset-color) !important; }
.aie-chip__link:hover { color: var(--md-accent-fg-color) !important; text-decoration: underline; }
.aie-chip__kind { display: inline-block; min-width: 1.1em; padding: 0 .3em; border-radius: .6em; font-style: normal;
  font-weight: 700; text-align: center; color: var(--md-primary-bg-color); background: var(--md-primary-fg-color); }
.aie-chip__badge { display: inline-block; padding: 0 .4em; border-radius: .6em; font-size: .6rem; font-style: normal;
  background: var(--md-default-fg-color--lightest); color: var(--md-default-fg-color--light); }
.aie-chip__lab { font-size: .6rem; font-style: normal; white-space: nowrap; }
.aie-footer { margin-top: 2rem; font-size: .7rem; color: var(--md-default-fg-color--light); }
.arithmatex:not(:has(.katex)) { font-family: var(--md-code-font-family); font-size: .85em; }
div.arithmatex:not(:has(.katex)) { padding: .4rem .8rem; overflow-x: auto; background: var(--md-code-bg-color); }
"""

# Typesets pymdownx.arithmatex's generic output (\(..\) and \[..\]) with the local KaTeX copy.
MATH_JS = r"""document.addEventListener("DOMContentLoaded", function () {
  if (typeof katex === "undefined") return;
  document.querySelectorAll(".arithmatex").forEach(function (el) {
    var tex = el.textContent.trim().replace(/^\\[\(\[]/, "").replace(/\\[\)\]]$/, "");
    try { katex.render(tex, el, {displayMode: el.tagName === "DIV", throwOnError: false}); } catch (e) {}
  });
});
"""


def find_katex() -> Path | None:
    """A local KaTeX (``$AIE_KATEX_DIR``, else Debian's libjs-katex) to typeset formulas offline, or None."""
    explicit = os.environ.get(KATEX_ENV)
    for folder in [Path(explicit)] if explicit else KATEX_DIRS:
        if (folder / "katex.min.js").is_file() and (folder / "katex.min.css").is_file():
            return folder
    return None


def _copy_katex(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in ("katex.min.js", "katex.min.css"):
        shutil.copyfile(source / name, target / name)
    fonts = source / "fonts"
    if fonts.is_dir():
        (target / "fonts").mkdir(exist_ok=True)
        for font in fonts.glob("*.woff2"):  # every browser the site targets reads woff2
            shutil.copyfile(font, target / "fonts" / font.name)


# ---------------------------------------------------------------------------------------------
# Building (file system) and serving
# ---------------------------------------------------------------------------------------------


@dataclass
class BuildReport:
    """What :func:`build_site` did."""

    out: Path
    wiki_pages: list[str]  # slugs of the wiki's own pages (backlog excluded)
    html_pages: int
    chips: list[Chip]
    seconds: float
    warnings: list[str] = field(default_factory=list)
    math: str = "tex"  # "katex" when formulas are typeset, "tex" when they show as TeX source

    @property
    def chips_to_pages(self) -> int:
        return sum(c.target == "page" for c in self.chips)

    @property
    def chips_to_backlog(self) -> int:
        return sum(c.target == "backlog" for c in self.chips)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _looks_like_site(path: Path) -> bool:
    return (path / "search" / "search_index.json").is_file() or (path / "sitemap.xml").is_file()


def _replace_dir(new: Path, out: Path, protected: list[Path]) -> None:
    out = out.resolve()
    for p in protected:
        p = p.resolve()
        if out == p or out in p.parents:
            raise WikiError(f"refusing to build into {out}: it would replace {p}")
    if out.exists():
        if not out.is_dir():
            raise WikiError(f"{out} exists and is not a folder")
        if any(out.iterdir()) and not _looks_like_site(out):
            raise WikiError(f"refusing to replace {out}: it is not empty and is not a built site")
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(new), str(out))


def build_site(
    out: Path | str = REPO_ROOT / "site",
    *,
    wiki_dir: Path | str = WIKI_DIR,
    roadmap: Roadmap | None = None,
    lab: str | None = None,
    repo_root: Path = REPO_ROOT,
) -> BuildReport:
    """Render the roadmap page and the wiki into a static site in ``out`` (replaced if it is a built site).

    The wiki is copied to a temporary staging folder with the generated roadmap page as its
    home page; mkdocs never writes into the repository. Notebook links open the notebook in
    JupyterLab, or the backlog entry while the notebook (in ``repo_root``) does not exist yet.
    Warnings from mkdocs are returned.
    """
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    start = time.perf_counter()
    wiki_dir, out, repo_root = Path(wiki_dir), Path(out), Path(repo_root)
    if wiki_dir.resolve() in out.resolve().parents:
        raise WikiError(f"refusing to build into {out}: it is inside the wiki folder {wiki_dir}")
    roadmap = roadmap or load_roadmap()
    lab = lab_url(lab)
    pages = read_pages(wiki_dir)
    if "index" in pages:
        raise WikiError(f"{wiki_dir / ROADMAP_PAGE} would replace the roadmap page, which is generated from "
                        "roadmap.toml; rename that page")
    chip_list = chips(roadmap, set(pages))
    notebooks = {i.notebook_path for i in roadmap.items if (repo_root / i.notebook_path).is_file()}
    coming: dict[str, str] = {}
    for item in roadmap.items:
        coming.setdefault(item.notebook_path, f"{BACKLOG_PAGE}#{item.id}")
    with tempfile.TemporaryDirectory(prefix="aie-wiki-") as tmp:
        docs, staged_site = Path(tmp) / "docs", Path(tmp) / "site"
        shutil.copytree(wiki_dir, docs, ignore=shutil.ignore_patterns(".*", "__pycache__"))
        for slug, page in pages.items():
            (docs / f"{slug}.md").write_text(rewrite_links(page.text, lab, notebooks, coming), encoding="utf-8")
        (docs / ROADMAP_PAGE).write_text(roadmap_markdown(roadmap, chip_list, lab), encoding="utf-8")
        (docs / CSS_PATH).parent.mkdir(parents=True, exist_ok=True)
        (docs / CSS_PATH).write_text(CSS, encoding="utf-8")
        katex = find_katex()
        if katex:
            _copy_katex(katex, docs / KATEX_ASSETS)
            (docs / MATH_JS_PATH).write_text(MATH_JS, encoding="utf-8")
        config_file = Path(tmp) / "mkdocs.yml"
        config = mkdocs_config(roadmap, pages, docs, staged_site, katex=katex is not None)
        config_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        logger = logging.getLogger("mkdocs")
        collect, propagate = _Collect(), logger.propagate
        logger.addHandler(collect)
        logger.propagate = False
        try:
            build(load_config(config_file=str(config_file)))
        except MkDocsException as exc:
            raise WikiError(f"mkdocs could not build the site: {exc}") from None
        finally:
            logger.removeHandler(collect)
            logger.propagate = propagate
        _replace_dir(staged_site, out, protected=[REPO_ROOT, repo_root, wiki_dir])
    return BuildReport(
        out=out,
        wiki_pages=[s for s in pages if s != "backlog"],
        html_pages=sum(1 for _ in out.rglob("*.html")),
        chips=chip_list,
        seconds=time.perf_counter() - start,
        warnings=collect.messages,
        math="katex" if katex else "tex",
    )


class _Handler(SimpleHTTPRequestHandler):
    quiet = False

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        if not self.quiet:
            super().log_message(format, *args)


def serve_site(directory: Path | str, port: int = 8001, *, quiet: bool = False) -> ThreadingHTTPServer:
    """An HTTP server for the built site on 127.0.0.1 (call ``serve_forever``; port 0 picks a free one)."""
    directory = Path(directory)
    if not (directory / "index.html").is_file():
        raise WikiError(f"{directory} holds no built site (no index.html); run `aie wiki build` first")
    handler = type("Handler", (_Handler,), {"quiet": quiet})
    return ThreadingHTTPServer(("127.0.0.1", port), functools.partial(handler, directory=str(directory)))


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


def _soup(text: str):
    from bs4 import BeautifulSoup

    return BeautifulSoup(text, "lxml")


_URL_ATTRS = (("a", "href"), ("link", "href"), ("script", "src"), ("img", "src"), ("iframe", "src"), ("source", "src"))


def link_problems(site_dir: Path | str) -> list[str]:
    """Broken internal links of a built site: every href/src of every HTML page must name a file of
    the site, and its ``#fragment`` an id on that page. External (http, mailto, ...) links are skipped."""
    site_dir = Path(site_dir).resolve()
    ids: dict[Path, set[str]] = {}

    def ids_of(path: Path) -> set[str]:
        if path not in ids:
            soup = _soup(path.read_text(encoding="utf-8", errors="replace"))
            ids[path] = {el.get("id") for el in soup.find_all(id=True)} | {el.get("name") for el in soup.find_all("a", attrs={"name": True})}
        return ids[path]

    problems = []
    for page in sorted(site_dir.rglob("*.html")):
        rel_page = page.relative_to(site_dir).as_posix()
        soup = _soup(page.read_text(encoding="utf-8", errors="replace"))
        for tag, attr in _URL_ATTRS:
            for el in soup.find_all(tag, attrs={attr: True}):
                url = el[attr].strip()
                parts = urlsplit(url)
                if parts.scheme or parts.netloc or url in ("", "#"):
                    continue
                if not parts.path:
                    target = page
                elif parts.path.startswith("/"):
                    target = (site_dir / unquote(parts.path).lstrip("/")).resolve()
                else:
                    target = (page.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
                if site_dir not in target.parents:
                    problems.append(f"{rel_page}: {tag} {url!r} points outside the site")
                elif not target.is_file():
                    problems.append(f"{rel_page}: {tag} {url!r}: no such file")
                elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in ids_of(target):
                    problems.append(f"{rel_page}: {tag} {url!r}: no element with id {unquote(parts.fragment)!r}")
    return problems


def lab_link_problems(site_dir: Path | str, lab: str, repo_root: Path = REPO_ROOT) -> list[str]:
    """JupyterLab links of a built site that name no notebook of the course (the workspace mirrors
    the phase folders, so ``<lab>/lab/tree/<phase>/<nb>.ipynb`` must exist as ``<phase>/<nb>.ipynb``)."""
    prefix = f"{lab.rstrip('/')}/lab/tree/"
    problems = []
    for page in sorted(Path(site_dir).rglob("*.html")):
        for el in _soup(page.read_text(encoding="utf-8", errors="replace")).find_all("a", href=True):
            href = el["href"]
            if href.startswith(prefix):
                rel = unquote(urlsplit(href).path[len(urlsplit(prefix).path):])
                if not (repo_root / rel).is_file():
                    problems.append(f"{page.relative_to(site_dir).as_posix()}: link to JupyterLab names {rel}, "
                                    "which is not a notebook of the course")
    return problems


def markdown_links(text: str) -> list[str]:
    """The link targets of a Markdown text (inline, reference-style and HTML links)."""
    import markdown

    rendered = markdown.markdown(text, extensions=["attr_list", "md_in_html", "tables", "footnotes"])
    return [a["href"] for a in _soup(rendered).find_all("a", href=True)]


def backlog_anchors(text: str) -> set[str]:
    """The ids of the ``<a id="...">`` anchors of ``wiki/backlog.md``."""
    return set(_ANCHOR_ID.findall(text))


def _notebook_markdown(path: Path) -> list[str]:
    """Sources of a notebook's cells in order; code cells count as empty (they hold no wiki links)."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise WikiError(f"{path}: not a valid notebook: {exc}") from None
    out = []
    for cell in nb.get("cells", []):
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        out.append(src if cell.get("cell_type") == "markdown" else "")
    return out


def chip_problems(roadmap: Roadmap, wiki_dir: Path | str = WIKI_DIR) -> list[str]:
    """Chips that lead nowhere: each must reach an existing page or an ``<a id>`` of ``wiki/backlog.md``."""
    pages = read_pages(wiki_dir)
    backlog = pages.get("backlog")
    anchors = backlog_anchors(backlog.text) if backlog else set()
    problems = []
    for chip in chips(roadmap, set(pages)):
        if chip.target == "page":
            continue
        if backlog is None:
            problems.append(f"chip {chip.id}: links to the backlog, but wiki/{BACKLOG_PAGE} does not exist")
        elif chip.id not in anchors:
            problems.append(f'chip {chip.id}: wiki/{BACKLOG_PAGE} has no anchor <a id="{chip.id}">')
    return problems


def page_problems(roadmap: Roadmap, wiki_dir: Path | str = WIKI_DIR) -> list[str]:
    """Wiki pages whose front matter or notebook link does not match the roadmap.

    Every page but the backlog has ``title`` and ``roadmap_id``; the id names a roadmap item, the
    capstone or a criterion whose ``wiki`` slug is this page. For items, ``phase`` and ``notebook``
    match the roadmap and the page links to its notebook as ``../<phase>/<notebook>.ipynb``.
    """
    problems: list[str] = []
    items = {i.id: i for i in roadmap.items}
    others = {roadmap.capstone_id: roadmap.capstone_wiki, **{c.id: c.wiki for c in roadmap.criteria}}
    for slug, page in read_pages(wiki_dir).items():
        if slug == "backlog":
            continue
        where = f"wiki/{slug}.md"
        rid = page.meta.get("roadmap_id")
        if not page.meta.get("title"):
            problems.append(f"{where}: front matter has no title")
        if not rid:
            problems.append(f"{where}: front matter has no roadmap_id")
            continue
        if rid in others:
            if others[rid] != slug:
                problems.append(f"{where}: roadmap_id {rid!r} belongs to wiki/{others[rid]}.md")
            continue
        item = items.get(rid)
        if item is None:
            problems.append(f"{where}: roadmap_id {rid!r} is not an item of roadmap.toml")
            continue
        if item.wiki != slug:
            problems.append(f"{where}: roadmap_id {rid!r} belongs to wiki/{item.wiki}.md")
        if page.meta.get("phase") != item.phase:
            problems.append(f"{where}: phase {page.meta.get('phase')!r} should be {item.phase!r}")
        if page.meta.get("notebook") != item.notebook_path:
            problems.append(f"{where}: notebook {page.meta.get('notebook')!r} should be {item.notebook_path!r}")
        if f"../{item.notebook_path}" not in {h.split("#")[0] for h in markdown_links(page.body)}:
            problems.append(f"{where}: does not link to its notebook as ../{item.notebook_path}")
    return problems


def notebook_problems(roadmap: Roadmap, wiki_dir: Path | str = WIKI_DIR, repo_root: Path = REPO_ROOT) -> list[str]:
    """Ready items whose page or notebook is missing, or whose notebook does not link to the page.

    A task's notebook links to the page as ``../wiki/<slug>.md`` from its first cell; a question,
    hosted by another item's notebook, from any Markdown cell of it.
    """
    wiki_dir = Path(wiki_dir)
    problems: list[str] = []
    for item in roadmap.items:
        if not item.ready:
            continue
        if not (wiki_dir / f"{item.wiki}.md").is_file():
            problems.append(f"{item.id}: ready, but wiki/{item.wiki}.md does not exist")
        nb_path = Path(repo_root) / item.notebook_path
        if not nb_path.is_file():
            problems.append(f"{item.id}: ready, but its notebook {item.notebook_path} does not exist")
            continue
        cells = _notebook_markdown(nb_path)
        searched = cells[:1] if item.kind == "task" else cells
        target = f"../wiki/{item.wiki}.md"
        if not any(target in {h.split("#")[0] for h in markdown_links(c)} for c in searched):
            where = "its first cell does not link" if item.kind == "task" else "no Markdown cell links"
            problems.append(f"{item.notebook_path}: {where} to the wiki page of {item.id} as {target}")
    return problems


def coverage_problems(roadmap: Roadmap, wiki_dir: Path | str = WIKI_DIR, repo_root: Path = REPO_ROOT) -> list[str]:
    """Everything that keeps the roadmap, the wiki and the notebooks from pointing at each other:
    :func:`chip_problems`, :func:`page_problems` and :func:`notebook_problems` together."""
    return (chip_problems(roadmap, wiki_dir) + page_problems(roadmap, wiki_dir)
            + notebook_problems(roadmap, wiki_dir, repo_root))
