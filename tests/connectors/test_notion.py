"""The Notion export reader: the shipped Larkspur export, plus small exports built in tmp_path."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from curriculum.connectors.notion import NotionExport, load_export, split_notion_name, strip_links
from curriculum.paths import DATA_DIR

EXPORT = DATA_DIR / "notion-export"
GOLDEN = DATA_DIR / "notion-export-golden.jsonl"

A = "a" * 32
B = "b" * 32
C = "c" * 32
D = "d" * 32
E = "e" * 32


@pytest.fixture(scope="module")
def larkspur() -> NotionExport:
    return load_export(EXPORT)


def write(root: Path, rel: str, text: str, bom: bool = False) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")


def small_export(root: Path) -> Path:
    """Root page A with a child page B, a database D (rows C, E) and links of every kind."""
    write(
        root,
        f"Home {A}.md",
        f"# Home\n\nSee [Child](Home%20{A}/Child%20{B}.md) and [gone](https://www.notion.so/x/Old-{'f' * 32}).\n"
        f"![logo](Home%20{A}/logo.png)\n",
    )
    write(
        root,
        f"Home {A}/Child {B}.md",
        f"# Child: the real title\n\nBack to [Home](../Home%20{A}.md).\n"
        f"Web: [docs](https://example.com/page). Same page by URL: [home](https://www.notion.so/ws/Home-{A}).\n",
    )
    write(
        root,
        f"Home {A}/Tasks {D}.csv",
        f"Name,Status,Blocks\nWrite docs,Done,Fix bug (Tasks%20{D}/Fix%20bug%20{E}.md)\nFix bug,Open,\n",
        bom=True,
    )
    write(
        root,
        f"Home {A}/Tasks {D}/Write docs {C}.md",
        f"# Write docs\n\nStatus: Done\nBlocks: Fix bug (Fix%20bug%20{E}.md)\n\nNote: this line is body text.\n",
    )
    write(root, f"Home {A}/Tasks {D}/Fix bug {E}.md", "# Fix bug\n\nStatus: Open\n\nSteps go here.\n")
    write(root, "README.md", "# not a Notion page\n")
    return root


# ----------------------------------------------------------------------------- the shipped export


def test_shipped_export_shape(larkspur: NotionExport) -> None:
    assert len(larkspur) >= 40
    assert len(larkspur) == 54
    assert {d.title for d in larkspur.databases.values()} == {"Runbooks", "Product Specs", "Meeting Notes"}
    assert larkspur.skipped == ["README.md"]
    total = sum(p.stat().st_size for p in EXPORT.rglob("*") if p.is_file())
    assert total < 1_000_000


def test_shipped_hierarchy_and_titles(larkspur: NotionExport) -> None:
    roots = [p for p in larkspur if p.parent_id is None]
    assert [p.title for p in roots] == ["Larkspur Wiki"]
    esc = larkspur.page("Escalation Policy")
    assert esc.breadcrumbs == ("Larkspur Wiki", "Engineering", "On-call")
    assert larkspur.pages[esc.parent_id].title == "On-call"
    # the heading keeps the colon that the file name lost
    review = larkspur.page("Incident Review: Bank Feed Sync Outage")
    assert ":" not in Path(review.path).name
    assert review.breadcrumbs == ("Larkspur Wiki", "Meeting Notes")
    runbook = larkspur.page("Postgres Primary Failover")
    assert runbook.breadcrumbs == ("Larkspur Wiki", "Engineering", "On-call", "Runbooks")
    assert larkspur.pages[runbook.parent_id].title == "On-call"
    assert {p.title for p in larkspur.children(larkspur.page("On-call").id)} >= {
        "Severity Levels",
        "Postgres Primary Failover",
    }


def test_shipped_links_resolve(larkspur: NotionExport) -> None:
    unresolved = [(p.title, link.target) for p in larkspur for link in p.links if not link.internal]
    assert unresolved == [("Larkspur Wiki", "https://www.notion.so/larkspur/Archive-0f3b2c1d9e8a4b7c6d5e4f3a2b1c0d9e")]
    esc = larkspur.page("Escalation Policy")
    assert [larkspur.pages[l.page_id].title for l in esc.links] == ["Severity Levels", "Postmortem Process"]
    backlinks = {p.title for p in larkspur.backlinks(larkspur.page("Severity Levels").id)}
    assert {"On-call", "Escalation Policy", "Smart Match v2"} <= backlinks


def test_shipped_databases(larkspur: NotionExport) -> None:
    meetings = larkspur.database("Meeting Notes")
    assert meetings.path.endswith("_all.csv")  # the full view wins over the filtered one
    assert len(meetings.rows) == len(meetings.page_ids) == 10
    assert meetings.columns[0] == "Name"
    plan = larkspur.page("Q2 Planning 2026")
    assert plan.database_id == meetings.id
    assert plan.properties["Date"] == "March 27, 2026"
    assert plan.properties["Related specs"] == "Multi-currency Ledger, Smart Match v2"
    linked = {larkspur.pages[l.page_id].title for l in plan.links if l.internal}
    assert linked == {"Multi-currency Ledger", "Smart Match v2"}
    assert not plan.body.startswith("Date:")
    spec = larkspur.page("Smart Match v2")
    assert spec.properties == {
        "Status": "In progress",
        "Owner": "Mei Lin Chen",
        "Target release": "May 2026",
        "Priority": "P0",
    }
    assert "Status: In progress" in spec.text()
    assert spec.text(breadcrumbs=True).startswith("Larkspur Wiki > Product > Product Specs\n\n# Smart Match v2")


def test_golden_questions_point_at_real_text(larkspur: NotionExport) -> None:
    rows = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 40
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert [larkspur.pages[i].title for i in row["page_ids"]] == row["pages"]
        if row["reference"] is None:
            assert row["pages"] == [] and row["answer"] is None
            continue
        page = larkspur.pages[row["page_ids"][0]]
        plain = " ".join(strip_links(page.text()).replace("**", "").replace("`", "").split())
        assert row["reference"] in plain, row["id"]


# ----------------------------------------------------------------------------- small exports


def test_split_notion_name() -> None:
    assert split_notion_name(f"Paid Time Off {A}.md") == ("Paid Time Off", A)
    assert split_notion_name(f"a/b/Meeting Notes {A}_all.csv") == ("Meeting Notes", A)
    assert split_notion_name(f"Folder {A}/") == ("Folder", A)
    assert split_notion_name("README.md") == ("README", None)
    assert split_notion_name(f"Short {'a' * 31}.md")[1] is None


def test_strip_links() -> None:
    assert strip_links("see [On-call](On-call%20x.md) now") == "see On-call now"
    assert strip_links("![img](a.png)text") == "text"
    assert strip_links("[a](b%20(c)%20x.md)") == "a"


def test_small_folder_export(tmp_path: Path) -> None:
    export = load_export(small_export(tmp_path))
    assert set(export.pages) == {A, B, C, E}
    assert export.skipped == ["README.md"]
    home, child = export.pages[A], export.pages[B]
    assert child.title == "Child: the real title" and child.parent_id == A
    assert child.breadcrumbs == ("Home",)
    # relative, ../ and notion.so links resolve; web links and unknown pages do not
    assert [(l.text, l.page_id) for l in home.links] == [("Child", B), ("gone", None), ("logo", None)]
    assert home.links[2].image
    assert [(l.text, l.page_id) for l in child.links] == [("Home", A), ("docs", None), ("home", A)]
    db = export.database("Tasks")
    assert db.parent_id == A and db.columns == ["Name", "Status", "Blocks"]  # BOM stripped
    row = export.pages[C]
    assert row.database_id == D and row.parent_id == A
    assert row.breadcrumbs == ("Home", "Tasks")
    assert row.properties == {"Status": "Done", "Blocks": "Fix bug"}
    assert row.body == "Note: this line is body text."  # not a column: stays in the body
    assert [l.page_id for l in row.links] == [E]
    assert export.backlinks(E) == [row]


def test_zip_and_nested_zip(tmp_path: Path) -> None:
    folder = small_export(tmp_path / "src")
    flat = load_export(folder)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, "Export-1234/" + p.relative_to(folder).as_posix())
    (tmp_path / "export.zip").write_bytes(buf.getvalue())
    zipped = load_export(tmp_path / "export.zip")
    assert {i: p.title for i, p in zipped.pages.items()} == {i: p.title for i, p in flat.pages.items()}
    assert zipped.pages[C].properties == flat.pages[C].properties
    assert zipped.pages[B].breadcrumbs == ("Home",)  # the wrapping folder is not a page
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as zf:
        zf.writestr("Export-1234-Part-1.zip", buf.getvalue())
    (tmp_path / "outer.zip").write_bytes(outer.getvalue())
    assert set(load_export(tmp_path / "outer.zip").pages) == set(flat.pages)


def test_heading_missing_falls_back_to_file_name(tmp_path: Path) -> None:
    write(tmp_path, f"Plain {A}.md", "no heading here\n")
    page = load_export(tmp_path).pages[A]
    assert page.title == "Plain" and page.body == "no heading here"


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no Notion export"):
        load_export(tmp_path / "missing")
    write(tmp_path / "empty", "notes.md", "# hello\n")
    with pytest.raises(ValueError, match="contains no Notion pages"):
        load_export(tmp_path / "empty")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="neither a folder nor a .zip"):
        load_export(tmp_path / "file.txt")
    bad = tmp_path / "latin"
    bad.mkdir()
    (bad / f"Page {A}.md").write_bytes("# Caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        load_export(bad)
    dup = tmp_path / "dup"
    write(dup, f"One {A}.md", "# One\n")
    write(dup, f"sub/Two {A}.md", "# Two\n")
    with pytest.raises(ValueError, match="share the Notion id"):
        load_export(dup)
    export = load_export(dup / "sub")
    with pytest.raises(KeyError, match="no page"):
        export.page("Three")
