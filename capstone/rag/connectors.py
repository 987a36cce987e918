"""Connectors: turn a corpus on disk (or one uploaded file) into :class:`Document` objects.

* :func:`python_reference` -- CPython's language reference shipped as ``pydoc_data.topics``,
  one document per topic, named ``python-reference/<topic>``.
* :func:`wiki_pages` -- the project's ``wiki/*.md`` pages, ``wiki/<slug>`` (front matter dropped).
* :func:`markdown_folder` -- every ``*.md`` / ``*.markdown`` / ``*.txt`` below a folder.
* :func:`notion_export` -- a Notion "Markdown & CSV" export, folder or .zip (via ``curriculum.connectors.notion``).
* :func:`confluence_export` -- a Confluence HTML space export (``#main-content`` of every page).
* :func:`parse_upload` -- one uploaded file, by extension (Markdown, text, HTML, PDF); raises
  :class:`UnsupportedDocument` (type not accepted) or :class:`UnreadableDocument` (content unusable).
* :func:`pdf_to_text` -- a PDF's text layer, page by page (pypdf), each page under a ``## Page N`` heading.

Front matter is read by :func:`curriculum.frontmatter.split_front_matter` (python-frontmatter) and
Notion file names by :func:`curriculum.connectors.notion.split_notion_name`.

:func:`documents_from_path` picks the connector for a path, which is what ``aie ingest PATH`` does.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

from capstone.rag.chunking import Document
from curriculum.connectors.notion import split_notion_name
from curriculum.frontmatter import FrontMatterError, split_front_matter

__all__ = [
    "UPLOAD_TYPES",
    "UnsupportedDocument",
    "UnreadableDocument",
    "python_reference",
    "wiki_pages",
    "markdown_folder",
    "notion_export",
    "confluence_export",
    "html_to_text",
    "pdf_to_text",
    "parse_upload",
    "documents_from_path",
]

#: Extensions accepted by ``POST /v1/documents`` and the format each is read as.
UPLOAD_TYPES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".rst": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
#: A PDF with more pages than this is refused (an upload is a document, not a library).
MAX_PDF_PAGES = 2000


class UnsupportedDocument(ValueError):
    """The file cannot be ingested: its type is not supported (HTTP 415); the message says why."""

    status_code = 415


class UnreadableDocument(UnsupportedDocument):
    """The file has a supported type but its content is empty, binary, undecodable or corrupt (HTTP 422)."""

    status_code = 422


def python_reference() -> list[Document]:
    """One document per topic of the Python language reference that ships with CPython."""
    from pydoc_data.topics import topics

    docs = []
    for name in sorted(topics):
        text = topics[name].strip()
        title = text.splitlines()[0].strip() if text else name
        docs.append(Document(source=f"python-reference/{name}", title=title, text=text, connector="python-reference"))
    return docs


def _front_matter(text: str, name: str) -> tuple[dict, str]:
    """(metadata, body) of a Markdown file; broken front matter is an :class:`UnreadableDocument` naming it."""
    try:
        return split_front_matter(text)
    except FrontMatterError as exc:
        raise UnreadableDocument(f"{name}: {exc}") from None


def _markdown_title(text: str, fallback: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return fallback


def wiki_pages(wiki_dir: Path) -> list[Document]:
    """The project's wiki pages (``wiki/<slug>``), without ``backlog.md``."""
    docs = []
    for path in sorted(Path(wiki_dir).glob("*.md")):
        if path.stem == "backlog":
            continue
        meta, body = _front_matter(path.read_text(encoding="utf-8"), path.name)
        if not body.strip():
            continue
        title = str(meta.get("title") or "").strip() or _markdown_title(body, path.stem)
        docs.append(Document(source=f"wiki/{path.stem}", title=title, text=body.strip(), connector="wiki"))
    return docs


def markdown_folder(folder: Path, prefix: str = "markdown") -> list[Document]:
    """Every Markdown or text file below ``folder``, named ``<prefix>/<relative path>``."""
    folder = Path(folder)
    docs = []
    for path in sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in (".md", ".markdown", ".txt")
    ):
        rel = path.relative_to(folder).as_posix()
        _, body = _front_matter(_read_text(path), rel)
        if body.strip():
            docs.append(
                Document(
                    source=f"{prefix}/{rel}",
                    title=_markdown_title(body, path.stem),
                    text=body.strip(),
                    connector="markdown",
                )
            )
    return docs


def notion_export(path: Path) -> list[Document]:
    """A Notion "Markdown & CSV" export (folder or .zip), read by :mod:`curriculum.connectors.notion`.

    Each page (database rows included) becomes ``notion/<breadcrumbs>/<title>``; the text keeps the
    breadcrumbs and the row properties, with links reduced to their text. Each database (its CSV)
    also becomes one document, ``notion/<breadcrumbs>/<name> (database)``, one line per row.
    """
    from curriculum.connectors.notion import load_export

    export = load_export(path)
    docs: list[Document] = []
    seen: set[str] = set()
    for page in export:
        text = page.text(breadcrumbs=True).strip()
        if not text:
            continue
        source = "notion/" + "/".join((*page.breadcrumbs, page.title))
        if source in seen:
            source = f"{source} ({page.id[:8]})"
        seen.add(source)
        docs.append(Document(source=source, title=page.title, text=text, connector="notion"))
    for db in export.databases.values():  # the CSV itself: one line per row, an overview of the table
        parent = export.pages.get(db.parent_id) if db.parent_id else None
        trail = (*parent.breadcrumbs, parent.title) if parent else ()
        lines = [f"# {db.title} (database)", ""]
        for row in db.rows:
            fields = [f"{k}: {_relation_titles(str(v))}" for k, v in row.items() if k and v and str(v).strip()]
            if fields:
                lines += [". ".join(fields) + ".", ""]
        if len(lines) > 2:
            source = "notion/" + "/".join((*trail, f"{db.title} (database)"))
            docs.append(
                Document(
                    source=source, title=f"{db.title} (database)", text="\n".join(lines).strip(), connector="notion"
                )
            )
    return docs


def _relation_titles(value: str) -> str:
    """Notion relation cells read ``Title (path%20with%20id.md), ...``; keep the titles."""
    return re.sub(r"\s*\([^()]*\.md\)", "", value).strip()


def html_to_text(html: str) -> tuple[str, str]:
    """(title, Markdown-like text) of an HTML page; Confluence's ``#main-content`` when present."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = ""
    heading = soup.select_one("#title-text") or soup.find("h1")
    if heading is not None:
        title = heading.get_text(" ", strip=True)
    if not title and soup.title is not None:
        title = soup.title.get_text(" ", strip=True)
    title = re.sub(r"^[^:]{1,80} : ", "", title)  # "Space : Page" in Confluence exports
    root = soup.select_one("#main-content") or soup.body or soup
    blocks: list[str] = []
    for element in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "tr", "blockquote"]):
        if element.find_parent(["li", "pre", "blockquote"]) is not None and element.name != "li":
            continue
        if element.name == "li" and element.find_parent("li") is not None:
            continue
        if element.name == "pre":
            blocks.append(element.get_text().strip("\n"))
            continue
        text = " ".join(element.get_text(" ", strip=True).split())
        if not text:
            continue
        if element.name[0] == "h" and element.name[1:].isdigit():
            blocks.append("#" * int(element.name[1]) + " " + text)
        elif element.name == "li":
            blocks.append(f"- {text}")
        elif element.name == "tr":
            blocks.append(" | ".join(c.get_text(" ", strip=True) for c in element.find_all(["td", "th"])))
        else:
            blocks.append(text)
    if not blocks:
        loose = " ".join(root.get_text(" ", strip=True).split())
        if loose:
            blocks.append(loose)
    return title, "\n\n".join(blocks)


def confluence_export(folder: Path) -> list[Document]:
    """A Confluence HTML space export: one document per page (``index.html`` and attachments skipped)."""
    folder = Path(folder)
    docs = []
    for path in sorted(folder.rglob("*.htm*")):
        rel = path.relative_to(folder)
        if path.name == "index.html" or {"attachments", "images", "styles"} & set(rel.parts[:-1]):
            continue
        title, text = html_to_text(_read_text(path))
        if text.strip():
            name = re.sub(r"_\d+$", "", rel.with_suffix("").as_posix())  # Confluence appends the page id
            docs.append(
                Document(
                    source=f"confluence/{folder.name}/{name}",
                    title=title or path.stem,
                    text=text,
                    connector="confluence",
                )
            )
    return docs


def _read_text(path: Path) -> str:
    return decode_text(path.read_bytes(), path.name)


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 text of a file, or :class:`UnsupportedDocument` for binary or undecodable content."""
    if b"\x00" in data:
        raise UnreadableDocument(f"{name}: looks like a binary file, not text (it contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableDocument(f"{name}: not valid UTF-8 text (byte {exc.start})") from None


def parse_upload(
    filename: str, data: bytes, *, source: str, visibility: str = "public", owner_id: int | None = None
) -> Document:
    """One uploaded file as a document, or :class:`UnsupportedDocument` saying what is wrong with it."""
    suffix = Path(filename).suffix.lower()
    if suffix not in UPLOAD_TYPES:
        raise UnsupportedDocument(
            f"{filename}: unsupported file type {suffix or '(none)'}; accepted: {', '.join(sorted(UPLOAD_TYPES))}"
        )
    if not data.strip():
        raise UnreadableDocument(f"{filename}: the file is empty")
    kind = UPLOAD_TYPES[suffix]
    if kind == "pdf":
        title, text = pdf_to_text(data, filename)
        return Document(
            source=source, title=title, text=text, connector="upload", visibility=visibility, owner_id=owner_id
        )
    text = decode_text(data, filename)
    if kind == "html":
        if "<" not in text:
            raise UnreadableDocument(f"{filename}: not HTML (no markup found)")
        title, text = html_to_text(text)
    else:
        _, text = _front_matter(text, filename)
        title = _markdown_title(text, Path(filename).stem)
    if not text.strip():
        raise UnreadableDocument(f"{filename}: no text found in the file")
    return Document(
        source=source,
        title=title or Path(filename).stem,
        text=text.strip(),
        connector="upload",
        visibility=visibility,
        owner_id=owner_id,
    )


def pdf_to_text(data: bytes, name: str) -> tuple[str, str]:
    """(title, text) of a PDF: each page's text layer under a ``## Page N`` heading, so chunks name their page.

    The title is the document's metadata title, else its first line of text, else the file name.
    A file that is not a PDF, is damaged, is encrypted with a password, has no pages or has no
    text layer (a scan) raises :class:`UnreadableDocument` saying which.
    """
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PyPdfError

    if b"%PDF-" not in data[:1024]:
        raise UnreadableDocument(f"{name}: not a PDF file (no %PDF- header)")
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # repairs of small defects are not the caller's concern
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument(f"{name}: the PDF is encrypted with a password; upload a decrypted copy")
        if len(reader.pages) == 0:
            raise UnreadableDocument(f"{name}: the PDF has no pages")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise UnreadableDocument(
                f"{name}: the PDF has {len(reader.pages)} pages, more than the limit of {MAX_PDF_PAGES}"
            )
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        meta_title = str((reader.metadata or {}).get("/Title") or "").strip()
    except UnreadableDocument:
        raise
    except FileNotDecryptedError:
        raise UnreadableDocument(f"{name}: the PDF is encrypted with a password; upload a decrypted copy") from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError) as exc:
        raise UnreadableDocument(
            f"{name}: the PDF is damaged and cannot be read ({type(exc).__name__}: {exc})"
        ) from None
    if not any(pages):
        raise UnreadableDocument(f"{name}: the PDF has no text layer (a scan needs OCR first)")
    first_line = next((line.strip() for text in pages for line in text.splitlines() if line.strip()), "")
    title = meta_title or first_line[:200] or Path(name).stem
    text = "\n\n".join(f"## Page {number}\n\n{body}" for number, body in enumerate(pages, start=1) if body)
    return title, text


def _looks_like(folder: Path) -> str:
    if any(split_notion_name(p.name)[1] for p in folder.rglob("*") if p.suffix in (".md", ".csv")):
        return "notion"
    if any(folder.rglob("*.htm*")):
        return "confluence"
    return "markdown"


def documents_from_path(path: Path, *, visibility: str = "public", owner_id: int | None = None) -> Iterator[Document]:
    """Documents of a file or folder, choosing the connector from what the folder holds."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix.lower() == ".zip":
        docs = notion_export(path)
    elif path.is_file():
        docs = [
            parse_upload(
                path.name, path.read_bytes(), source=f"file/{path.name}", visibility=visibility, owner_id=owner_id
            )
        ]
    else:
        kind = _looks_like(path)
        docs = {"notion": notion_export, "confluence": confluence_export, "markdown": markdown_folder}[kind](path)
    for doc in docs:
        if visibility != doc.visibility or owner_id != doc.owner_id:
            doc = Document(doc.source, doc.title, doc.text, doc.connector, visibility, owner_id, doc.metadata)
        yield doc
