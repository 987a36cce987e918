"""Read a Notion "Markdown & CSV" export (a folder or the .zip Notion sends) into pages and databases.

What Notion writes, and what this module keeps:

* every page is ``Title <32-hex id>.md``; its sub-pages live in the folder ``Title <id>/`` beside it,
  so the folder tree is the page hierarchy (kept as ``parent_id`` and ``breadcrumbs``);
* the first line is ``# Title`` (the real title: file names lose characters such as ``:``);
* a database is ``Name <id>.csv`` (the current view; ``Name <id>_all.csv`` holds every row and is
  preferred when present) and its rows are pages in the folder ``Name <id>/``; a row page repeats the
  row's properties as ``Key: value`` lines under its title (kept as ``properties``);
* links between pages are relative, URL-encoded paths (``[On-call](../On-call%20137c....md)``) or
  ``https://www.notion.so/...<id>`` URLs; both are resolved to page ids (kept as ``links``);
* relation properties read ``Title (relative%20path.md)``; the values keep the titles only and the
  targets become links.

Example::

    >>> from curriculum.connectors.notion import load_export
    >>> export = load_export(DATA_DIR / "notion-export")
    >>> page = export.page("Escalation Policy")
    >>> page.breadcrumbs
    ('Larkspur Wiki', 'Engineering', 'On-call')
    >>> [export.pages[link.page_id].title for link in page.links if link.page_id][:1]
    ['Severity Levels']

Files without a Notion id in their name (a README next to the export, say) are listed in
``NotionExport.skipped`` and otherwise ignored.

Why one module of this size: file naming, CSV databases, row pages and link resolution are the one format of a
Notion export, and learners read this file as a worked example of a connector.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = [
    "NotionLink",
    "NotionPage",
    "NotionDatabase",
    "NotionExport",
    "load_export",
    "split_notion_name",
    "strip_links",
]

_NAME = re.compile(r"^(?P<title>.*?)\s*(?P<id>[0-9a-f]{32})(?P<all>_all)?$")
_URL_ID = re.compile(r"([0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12})$")
# [text](target) with one level of parentheses allowed inside the target
_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(((?:[^()\s]|\([^()\s]*\))+)\)")
_RELATION = re.compile(r"\s*(?P<title>[^,]+?) \((?P<target>[^()]+?\.md)\)\s*(?:,|$)")
_PROPERTY = re.compile(r"^(?P<key>[^:\n]{1,60}?):\s(?P<value>.*)$")


@dataclass(frozen=True)
class NotionLink:
    """A link found in a page: its text, the target as written, and the page it resolves to (if any)."""

    text: str
    target: str
    page_id: str | None = None
    image: bool = False

    @property
    def internal(self) -> bool:
        """True when the link points at a page of this export."""
        return self.page_id is not None


@dataclass
class NotionPage:
    """One page of the export (a database row is a page too)."""

    id: str
    title: str
    path: str
    parent_id: str | None
    breadcrumbs: tuple[str, ...]
    body: str
    properties: dict[str, str] = field(default_factory=dict)
    database_id: str | None = None
    links: list[NotionLink] = field(default_factory=list)

    def text(self, *, breadcrumbs: bool = False) -> str:
        """The page as plain Markdown: title, properties, body with links reduced to their text.

        With ``breadcrumbs=True`` the hierarchy comes first (``Larkspur Wiki > Engineering``), which
        helps retrieval tell apart pages with similar bodies.
        """
        parts = []
        if breadcrumbs and self.breadcrumbs:
            parts.append(" > ".join(self.breadcrumbs))
        parts.append(f"# {self.title}")
        if self.properties:
            parts.append("\n".join(f"{k}: {v}" for k, v in self.properties.items() if v))
        if self.body:
            parts.append(strip_links(self.body))
        return "\n\n".join(p for p in parts if p)


@dataclass
class NotionDatabase:
    """A database: its columns, its rows (as in the CSV) and the ids of its row pages."""

    id: str
    title: str
    path: str
    parent_id: str | None
    columns: list[str]
    rows: list[dict[str, str]]
    page_ids: list[str] = field(default_factory=list)


@dataclass
class NotionExport:
    """A parsed export: pages and databases by id, plus the files that were not Notion pages."""

    source: str
    pages: dict[str, NotionPage]
    databases: dict[str, NotionDatabase]
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.pages)

    def __iter__(self) -> Iterator[NotionPage]:
        return iter(self.pages.values())

    def page(self, key: str) -> NotionPage:
        """The page with this id, or the only page with this title."""
        if key in self.pages:
            return self.pages[key]
        found = [p for p in self.pages.values() if p.title == key]
        if len(found) == 1:
            return found[0]
        if not found:
            raise KeyError(f"no page with id or title {key!r} in {self.source}")
        raise KeyError(f"{len(found)} pages are titled {key!r}; use an id: {[p.id for p in found]}")

    def database(self, key: str) -> NotionDatabase:
        """The database with this id, or the only one with this title."""
        if key in self.databases:
            return self.databases[key]
        found = [d for d in self.databases.values() if d.title == key]
        if len(found) != 1:
            raise KeyError(f"no single database with id or title {key!r} in {self.source}")
        return found[0]

    def children(self, page_id: str) -> list[NotionPage]:
        """Pages directly under ``page_id`` (rows of its inline databases included)."""
        return [p for p in self.pages.values() if p.parent_id == page_id]

    def backlinks(self, page_id: str) -> list[NotionPage]:
        """Pages that link to ``page_id``."""
        return [p for p in self.pages.values() if p.id != page_id and any(l.page_id == page_id for l in p.links)]


def split_notion_name(name: str) -> tuple[str, str | None]:
    """Title and id from a Notion file or folder name.

    ``split_notion_name("Paid Time Off 16efe4de35eca7bdae865372de8c68a8.md") ==
    ("Paid Time Off", "16efe4de35eca7bdae865372de8c68a8")``; names without an id give ``(stem, None)``.
    The ``_all`` suffix of a database's full CSV is dropped.
    """
    stem = posixpath.basename(name.rstrip("/"))
    for ext in (".md", ".csv"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
    m = _NAME.match(stem)
    if not m:
        return stem, None
    return m.group("title"), m.group("id")


def strip_links(markdown: str) -> str:
    """Replace ``[text](target)`` by ``text`` and drop images: ``strip_links("[a](b.md)") == "a"``."""
    return _LINK.sub(lambda m: "" if m.group(1) else m.group(2), markdown)


# ----------------------------------------------------------------------------- reading files


def _read_files(source: Path) -> dict[str, bytes]:
    """Relative POSIX path -> bytes of every .md and .csv file in a folder or zip (nested zips included)."""
    if not source.exists():
        raise FileNotFoundError(f"no Notion export at {source}")
    if source.is_dir():
        return {
            p.relative_to(source).as_posix(): p.read_bytes()
            for p in sorted(source.rglob("*"))
            if p.is_file() and p.suffix.lower() in (".md", ".csv")
        }
    if zipfile.is_zipfile(source):
        return _read_zip(source.read_bytes(), source.name)
    raise ValueError(f"{source} is neither a folder nor a .zip file: export from Notion as 'Markdown & CSV'")


def _read_zip(data: bytes, label: str, depth: int = 0) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{label} is not a readable zip file: {exc}") from None
    files: dict[str, bytes] = {}
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = info.filename.replace("\\", "/")
            lower = name.lower()
            if lower.endswith((".md", ".csv")):
                files[name] = archive.read(info)
            elif lower.endswith(".zip") and depth == 0:  # large exports arrive as a zip of zips
                files.update(_read_zip(archive.read(info), f"{label}!{name}", depth + 1))
    return files


def _decode(path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text ({exc}); is this a Notion export?") from None


# ----------------------------------------------------------------------------- parsing


def _split_title(text: str) -> tuple[str | None, str]:
    lines = text.splitlines()
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and lines[i].startswith("# "):
        return lines[i][2:].strip(), "\n".join(lines[i + 1 :])
    return None, "\n".join(lines[i:])


def _split_properties(body: str, columns: list[str] | None) -> tuple[dict[str, str], str]:
    """``Key: value`` lines at the top of a row page; with known columns only those keys count."""
    lines = body.splitlines()
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    props: dict[str, str] = {}
    while i < len(lines):
        m = _PROPERTY.match(lines[i])
        if not m or (columns is not None and m.group("key") not in columns):
            break
        props[m.group("key")] = m.group("value").strip()
        i += 1
    return props, "\n".join(lines[i:]).strip("\n")


def _parse_csv(path: str, text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(f"database file {path} is empty (no header row)") from None
    rows = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        cells = cells + [""] * (len(header) - len(cells))
        rows.append(dict(zip(header, cells)))
    return header, rows


def _relation_links(value: str) -> tuple[str, list[tuple[str, str]]] | None:
    """``"A (a%20id.md), B (b%20id.md)"`` -> ``("A, B", [("A", "a%20id.md"), ...])``; None if not a relation."""
    pos, found = 0, []
    while pos < len(value):
        m = _RELATION.match(value, pos)
        if not m:
            return None
        found.append((m.group("title").strip(), m.group("target")))
        pos = m.end()
    if not found:
        return None
    return ", ".join(t for t, _ in found), found


def load_export(path: str | Path) -> NotionExport:
    """Parse a Notion Markdown & CSV export (folder or .zip) into a :class:`NotionExport`.

    Raises ``FileNotFoundError`` for a missing path and ``ValueError`` for something that is not an
    export (no ``Title <id>.md`` file, a broken zip, non-UTF-8 text, two files with the same id).
    """
    source = Path(path)
    files = _read_files(source)

    md: dict[str, tuple[str, str]] = {}  # rel path -> (id, title from file name)
    csvs: dict[str, tuple[str, str, bool]] = {}  # rel path -> (id, title, is _all)
    skipped: list[str] = []
    for rel in files:
        title, nid = split_notion_name(rel)
        if nid is None:
            skipped.append(rel)
        elif rel.lower().endswith(".md"):
            md[rel] = (nid, title)
        else:
            csvs[rel] = (nid, title, rel[:-4].endswith("_all"))
    if not md:
        raise ValueError(
            f"{source} contains no Notion pages (files named 'Title <32-hex id>.md'); "
            "export from Notion with the 'Markdown & CSV' format"
        )
    seen: dict[str, str] = {}
    for rel, (nid, _) in md.items():
        if nid in seen:
            raise ValueError(f"two pages share the Notion id {nid}: {seen[nid]!r} and {rel!r}")
        seen[nid] = rel

    # folder (without extension) -> what owns it
    page_folder = {rel[:-3]: nid for rel, (nid, _) in md.items()}
    db_folder: dict[str, str] = {}
    databases: dict[str, NotionDatabase] = {}
    for rel, (nid, title, is_all) in sorted(csvs.items(), key=lambda kv: kv[1][2]):  # _all last, so it wins
        folder = rel[: -len("_all.csv")] if is_all else rel[:-4]
        columns, rows = _parse_csv(rel, _decode(rel, files[rel]))
        if nid in databases and not is_all:
            continue
        databases[nid] = NotionDatabase(id=nid, title=title, path=rel, parent_id=None, columns=columns, rows=rows)
        db_folder[folder] = nid

    def owner(rel_dir: str) -> tuple[str | None, str | None]:
        """(parent page id, database id) of a file in ``rel_dir``, walking up past plain folders."""
        database_id = None
        d = rel_dir
        while d not in ("", "."):
            if d in page_folder:
                return page_folder[d], database_id
            if d in db_folder and database_id is None:
                database_id = db_folder[d]
            d = posixpath.dirname(d)
        return None, database_id

    for db in databases.values():
        db.parent_id, _ = owner(posixpath.dirname(db.path))

    raw: dict[str, dict] = {}
    for rel, (nid, name_title) in sorted(md.items()):
        text = _decode(rel, files[rel])
        heading, rest = _split_title(text)
        parent_id, database_id = owner(posixpath.dirname(rel))
        properties: dict[str, str] = {}
        body = rest.strip("\n")
        if database_id is not None:
            db = databases[database_id]
            block, body = _split_properties(rest, db.columns[1:] if db.columns else None)
            title = heading or name_title
            row = next((r for r in db.rows if db.columns and r.get(db.columns[0], "").strip() == title), None)
            properties = {k: v for k, v in (row or {}).items() if k != (db.columns[0] if db.columns else None)}
            for k, v in block.items():
                if not properties.get(k):
                    properties[k] = v
            db.page_ids.append(nid)
        raw[nid] = dict(
            rel=rel,
            title=heading or name_title,
            parent_id=parent_id,
            database_id=database_id,
            body=body,
            properties=properties,
        )

    by_path = {info["rel"]: nid for nid, info in raw.items()}

    def resolve(target: str, rel_dir: str) -> str | None:
        parts = urlsplit(target)
        if parts.scheme in ("http", "https"):
            if parts.netloc.endswith("notion.so") or parts.netloc.endswith("notion.site"):
                m = _URL_ID.search(parts.path.rstrip("/"))
                if m:
                    nid = m.group(1).replace("-", "")
                    return nid if nid in raw else None
            return None
        if parts.scheme or not parts.path:
            return None
        rel = posixpath.normpath(posixpath.join(rel_dir, unquote(parts.path)))
        if rel in by_path:
            return by_path[rel]
        _, nid = split_notion_name(rel)  # a moved or renamed folder: fall back to the id in the name
        return nid if nid in raw else None

    pages: dict[str, NotionPage] = {}
    for nid, info in raw.items():
        rel_dir = posixpath.dirname(info["rel"])
        links = [
            NotionLink(text=m.group(2), target=m.group(3), page_id=resolve(m.group(3), rel_dir), image=bool(m.group(1)))
            for m in _LINK.finditer(info["body"])
        ]
        props = {}
        for key, value in info["properties"].items():
            relation = _relation_links(value)
            if relation is None:
                props[key] = value
                continue
            props[key] = relation[0]
            base = posixpath.dirname(databases[info["database_id"]].path) if info["database_id"] else rel_dir
            for title, target in relation[1]:
                # the CSV's targets are relative to the CSV, the page's own lines to the page
                page_id = resolve(target, base) or resolve(target, rel_dir)
                links.append(NotionLink(text=title, target=target, page_id=page_id))
        pages[nid] = NotionPage(
            id=nid,
            title=info["title"],
            path=info["rel"],
            parent_id=info["parent_id"],
            breadcrumbs=(),
            body=info["body"],
            properties=props,
            database_id=info["database_id"],
            links=links,
        )

    def trail(page: NotionPage) -> tuple[str, ...]:
        chain: list[str] = []
        current, guard = page, 0
        while current is not None and guard < 1000:
            if current.database_id is not None:
                chain.append(databases[current.database_id].title)
            parent = pages.get(current.parent_id) if current.parent_id else None
            if parent is not None:
                chain.append(parent.title)
            current, guard = parent, guard + 1
        return tuple(reversed(chain))

    for page in pages.values():
        page.breadcrumbs = trail(page)
    return NotionExport(source=str(source), pages=pages, databases=databases, skipped=sorted(skipped))
