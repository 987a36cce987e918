"""Connectors: Notion export, Confluence HTML export, Markdown folder, PDF, single uploads (and what they refuse)."""

from __future__ import annotations

import io
import zipfile

import pytest

from capstone.rag.chunking import chunk_document
from capstone.rag.connectors import (
    UnreadableDocument,
    UnsupportedDocument,
    confluence_export,
    documents_from_path,
    notion_export,
    parse_upload,
    pdf_to_text,
    python_reference,
    wiki_pages,
)
from curriculum.paths import DATA_DIR, WIKI_DIR


def make_pdf(pages: list[str], *, title: str | None = None, password: str | None = None) -> bytes:
    """A real PDF written by pypdf: one page per string, each line a text-layer line in Helvetica."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    for text in pages:
        page = writer.add_blank_page(612, 792)
        escaped = [line.replace("(", "\\(").replace(")", "\\)") for line in text.splitlines()]
        stream = DecodedStreamObject()
        stream.set_data(
            ("BT /F1 12 Tf 14 TL 72 720 Td " + "".join(f"({line}) Tj T* " for line in escaped) + "ET").encode("latin-1")
        )
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
    if title:
        writer.add_metadata({"/Title": title})
    if password is not None:
        writer.encrypt(user_password=password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_default_corpus_sources():
    reference = python_reference()
    assert len(reference) > 70
    assert "python-reference/assert" in {d.source for d in reference}
    wiki = wiki_pages(WIKI_DIR)
    assert "wiki/cosine-similarity" in {d.source for d in wiki}
    assert all(not d.text.startswith("---") for d in wiki)  # front matter dropped
    assert "wiki/backlog" not in {d.source for d in wiki}


def test_notion_export_folder_and_zip(tmp_path):
    folder = DATA_DIR / "notion-export"
    docs = notion_export(folder)
    by_source = {d.source: d for d in docs}
    pto = by_source["notion/Larkspur Wiki/Employee Handbook/Paid Time Off"]
    assert "27 working days" in pto.text and "Larkspur Wiki > Employee Handbook" in pto.text
    assert not any("%20" in d.text or ".md)" in d.text for d in docs)  # links reduced to their text
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in folder.rglob("*"):
            if path.is_file():
                zf.write(path, path.relative_to(folder))
    assert {d.source for d in documents_from_path(archive)} == set(by_source)


def test_confluence_export():
    docs = confluence_export(DATA_DIR / "capstone" / "confluence-export")
    assert [d.title for d in docs] == ["Incident Severity Levels", "Release Checklist", "Search Service Architecture"]
    sev = docs[0]
    assert sev.source == "confluence/confluence-export/DOCS/Incident-Severity-Levels"
    assert "### SEV1" in sev.text and "within 15 minutes" in sev.text
    assert "analytics" not in sev.text  # scripts are not content
    release = docs[1]
    assert "- Freeze the main branch" in release.text and "make publish VERSION=2026.3" in release.text
    assert "Announce the release | Release captain" in release.text


def test_markdown_folder_and_connector_choice(tmp_path):
    (tmp_path / "guides").mkdir()
    (tmp_path / "guides" / "setup.md").write_text("---\ntitle: x\n---\n# Setup\n\nRun make setup first.\n")
    (tmp_path / "notes.txt").write_text("Plain notes.\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    docs = list(documents_from_path(tmp_path, visibility="private", owner_id=7))
    assert [(d.source, d.title) for d in docs] == [
        ("markdown/guides/setup.md", "Setup"),
        ("markdown/notes.txt", "notes"),
    ]
    assert all(d.visibility == "private" and d.owner_id == 7 for d in docs)
    assert docs[0].text.startswith("# Setup")
    assert {d.connector for d in documents_from_path(DATA_DIR / "capstone" / "confluence-export")} == {"confluence"}
    assert {d.connector for d in documents_from_path(DATA_DIR / "notion-export")} == {"notion"}
    with pytest.raises(FileNotFoundError):
        list(documents_from_path(tmp_path / "missing"))


@pytest.mark.parametrize(
    "name, data, error, status",
    [
        ("report.pdf", b"%PDF-1.7 broken", UnreadableDocument, 422),
        ("scan.pdf", b"GIF89a not a pdf", UnreadableDocument, 422),
        ("bad-front-matter.md", b"---\ntitle: [unclosed\n---\n# Body\n", UnreadableDocument, 422),
        ("tool.exe", b"MZ\x90\x00", UnsupportedDocument, 415),
        ("noext", b"hello", UnsupportedDocument, 415),
        ("empty.md", b"   \n", UnreadableDocument, 422),
        ("latin1.txt", "café".encode("latin-1"), UnreadableDocument, 422),
        ("binary.md", b"abc\x00\x01\x02", UnreadableDocument, 422),
        ("page.html", b"no markup at all", UnreadableDocument, 422),
        ("page.html", b"<html><body><script>x()</script></body></html>", UnreadableDocument, 422),
    ],
)
def test_bad_uploads_are_refused_with_a_reason(name, data, error, status):
    with pytest.raises(error) as exc:
        parse_upload(name, data, source=f"upload/u/{name}")
    assert exc.value.status_code == status
    assert name in str(exc.value)


def test_good_uploads():
    md = parse_upload("guide.md", b"# Guide\n\nText.", source="upload/u/guide.md", visibility="private", owner_id=3)
    assert (md.title, md.visibility, md.owner_id) == ("Guide", "private", 3)
    html = parse_upload(
        "p.html",
        b"<html><head><title>T</title></head><body><h1>Title</h1><p>Body <b>text</b>.</p></body></html>",
        source="upload/u/p.html",
    )
    assert html.title == "Title" and "Body text" in html.text
    broken = parse_upload("broken.html", b"<html><body><p>unclosed <div>still text", source="upload/u/broken.html")
    assert "unclosed" in broken.text


def test_pdf_upload_keeps_each_page_under_its_number():
    data = make_pdf(
        ["Release checklist\nFreeze the main branch (no merges).", "Tag the release.\nAnnounce it."], title="Runbook"
    )
    doc = parse_upload("runbook.pdf", data, source="upload/u/runbook.pdf", visibility="private", owner_id=3)
    assert (doc.title, doc.connector, doc.visibility, doc.owner_id) == ("Runbook", "upload", "private", 3)
    chunks = chunk_document(doc, 200)
    assert [(c.heading, c.text) for c in chunks] == [
        ("Page 1", "Release checklist\nFreeze the main branch (no merges)."),
        ("Page 2", "Tag the release.\nAnnounce it."),
    ]
    untitled = pdf_to_text(make_pdf(["", "Second page opens here\nand goes on."]), "notes.pdf")
    assert untitled == ("Second page opens here", "## Page 2\n\nSecond page opens here\nand goes on.")
    assert pdf_to_text(make_pdf(["Readable without a password."], password=""), "open.pdf")[1].endswith(
        "without a password."
    )


@pytest.mark.parametrize(
    "case, reason",
    [
        ("encrypted", "encrypted with a password"),
        ("no text layer", "no text layer"),
        ("no pages", "no pages"),
        ("truncated", "damaged"),
    ],
)
def test_unusable_pdfs_are_refused_with_the_reason(case, reason):
    good = make_pdf(["Some text on a page.", "More text."])
    data = {
        "encrypted": make_pdf(["Secret text."], password="s3cret"),
        "no text layer": make_pdf(["", ""]),
        "no pages": make_pdf([]),
        "truncated": good[: len(good) // 2],
    }[case]
    with pytest.raises(UnreadableDocument, match=reason) as exc:
        parse_upload("file.pdf", data, source="upload/u/file.pdf")
    assert exc.value.status_code == 422 and "file.pdf" in str(exc.value)
