"""The roadmap site: chips, generated roadmap page, link rewriting, coverage and link checks.

The first half runs the checks on small hand-made inputs (so each check is seen to fail);
the second half runs them on the real roadmap, wiki and notebooks, and on the built site.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from typer.testing import CliRunner

from curriculum.paths import REPO_ROOT, WIKI_DIR
from curriculum.roadmap import parse_roadmap
from curriculum.wiki import (
    WikiError,
    build_site,
    chip_problems,
    chips,
    find_katex,
    lab_link_problems,
    lab_url,
    link_problems,
    notebook_lab_link,
    notebook_problems,
    page_problems,
    read_pages,
    rewrite_links,
    roadmap_markdown,
)

LAB = "http://127.0.0.1:8888"


def tiny_roadmap():
    return parse_roadmap(
        {
            "role": {"title": "Tester", "tagline": "Tests things.", "footer": "Footer text."},
            "phase": [
                {
                    "id": "00_prereqs",
                    "title": "Intro",
                    "summary": "The basics.",
                    "item": [
                        {
                            "id": "alpha",
                            "kind": "task",
                            "text": "Write *alpha* [now].",
                            "notebook": "01_alpha.ipynb",
                            "wiki": "alpha",
                            "points": 5,
                        },
                        {
                            "id": "beta",
                            "kind": "task",
                            "hands_on": True,
                            "text": "Try beta.",
                            "notebook": "02_beta.ipynb",
                            "wiki": "beta",
                            "points": 5,
                            "status": "backlog",
                        },
                        {
                            "id": "why",
                            "kind": "question",
                            "text": "Why alpha?",
                            "notebook": "01_alpha.ipynb",
                            "wiki": "why",
                            "points": 5,
                        },
                    ],
                }
            ],
            "capstone": {
                "id": "capstone",
                "title": "Ship it",
                "text": "Ship the product.",
                "wiki": "capstone",
                "status": "backlog",
                "criterion": [{"id": "cap-one", "text": "It is tested", "wiki": "cap-one", "status": "backlog"}],
            },
        }
    )


def page(
    title: str, rid: str, phase: str = "00_prereqs", notebook: str = "00_prereqs/01_alpha.ipynb", body: str = ""
) -> str:
    return f"---\ntitle: {title}\nroadmap_id: {rid}\nphase: {phase}\nnotebook: {notebook}\n---\n\n# {title}\n\n{body}\n"


def notebook(first_cell: str, *more: str) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": src} for src in (first_cell, *more)]
    cells.append({"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": [], "execution_count": None})
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def tiny_repo(tmp_path):
    """A repository with the tiny roadmap's wiki and notebooks, all consistent."""
    wiki = tmp_path / "wiki"
    wiki.mkdir()
    (wiki / "alpha.md").write_text(
        page("Alpha", "alpha", body="[Notebook](../00_prereqs/01_alpha.ipynb) · [why](why.md)")
    )
    (wiki / "why.md").write_text(page("Why alpha", "why", body="See [the notebook](../00_prereqs/01_alpha.ipynb#q)."))
    (wiki / "backlog.md").write_text(
        "---\ntitle: Backlog\n---\n\n# Backlog\n\n"
        + "".join(f'- <a id="{i}"></a>`{i}` coming\n' for i in ("beta", "capstone", "cap-one"))
    )
    (tmp_path / "00_prereqs").mkdir()
    (tmp_path / "00_prereqs" / "01_alpha.ipynb").write_text(
        notebook("# Alpha\n\nWiki: [Alpha](../wiki/alpha.md)", "Question: [why](../wiki/why.md)")
    )
    return tmp_path


# --- pure functions --------------------------------------------------------------------------


def test_lab_url_comes_from_the_option_the_environment_or_the_default(monkeypatch):
    monkeypatch.delenv("AIE_LAB_URL", raising=False)
    assert lab_url() == "http://127.0.0.1:8888"
    monkeypatch.setenv("AIE_LAB_URL", "http://127.0.0.1:9999/user/jo/")
    assert lab_url() == "http://127.0.0.1:9999/user/jo"
    assert lab_url("https://lab.example.org") == "https://lab.example.org"
    for bad in ("127.0.0.1:8888", "ftp://host", "http://", "http://host/?token=x"):
        with pytest.raises(WikiError, match="AIE_LAB_URL"):
            lab_url(bad)


def test_notebook_lab_link_opens_the_workspace_copy():
    assert notebook_lab_link(LAB + "/", "00_prereqs/01_a b.ipynb") == f"{LAB}/lab/tree/00_prereqs/01_a%20b.ipynb"


def test_chip_links_to_its_page_only_when_the_item_is_ready_and_the_page_exists():
    rm = tiny_roadmap()
    by_id = {c.id: c for c in chips(rm, {"alpha", "beta"})}
    assert list(by_id) == ["alpha", "beta", "why", "capstone", "cap-one"]
    assert (by_id["alpha"].target, by_id["alpha"].href, by_id["alpha"].notebook) == (
        "page",
        "alpha.md",
        "00_prereqs/01_alpha.ipynb",
    )
    assert (by_id["beta"].target, by_id["beta"].href, by_id["beta"].notebook) == (
        "backlog",
        "backlog.md#beta",
        None,
    )  # page written, item not ready
    assert (by_id["why"].target, by_id["why"].href) == ("backlog", "backlog.md#why")  # ready, page missing
    assert by_id["beta"].label == "→ Try beta."
    assert [c.kind for c in by_id.values()] == ["task", "task", "question", "capstone", "criterion"]


def test_roadmap_page_has_every_chip_the_role_texts_and_the_capstone():
    rm = tiny_roadmap()
    md = roadmap_markdown(rm, chips(rm, {"alpha", "why"}), LAB)
    for text in (
        "# Tester",
        "Tests things.",
        "Footer text.",
        "## Intro { #00_prereqs }",
        "The basics.",
        "## Ship it",
        "Ship the product.",
        "It is tested",
        "all 1 criteria",
    ):
        assert text in md
    assert md.count('class="aie-chip ') == 5
    assert r"[Write \*alpha\* \[now\].](alpha.md){ .aie-chip__link }" in md  # Markdown in item text is escaped
    assert "[→ Try beta.](backlog.md#beta)" in md
    assert re.search(r'aie-chip--question[^>]*data-roadmap-id="why"[^>]*><span class="aie-chip__kind"', md)
    assert f"]({LAB}/lab/tree/00_prereqs/01_alpha.ipynb)" in md
    assert md.count("/lab/tree/") == 2  # the ready items only: alpha and the question hosted by its notebook


def test_notebook_links_become_jupyterlab_links_and_other_links_stay():
    md = (
        "[nb](../01_junior/02_x_y.ipynb) [sec](../00_prereqs/01_a.ipynb#part) [w](../wiki/b.md) [same](b.md)\n"
        '[ref]: ../03_senior/01_c.ipynb\n<a href="../00_prereqs/01_a.ipynb">x</a> `../00_prereqs/01_a.ipynb` [data](../data/README.md)'
    )
    out = rewrite_links(md, LAB)
    assert f"[nb]({LAB}/lab/tree/01_junior/02_x_y.ipynb)" in out
    assert f"[sec]({LAB}/lab/tree/00_prereqs/01_a.ipynb#part)" in out
    assert "[w](b.md)" in out and "[same](b.md)" in out
    assert f"[ref]: {LAB}/lab/tree/03_senior/01_c.ipynb" in out
    assert f'<a href="{LAB}/lab/tree/00_prereqs/01_a.ipynb">' in out
    assert "`../00_prereqs/01_a.ipynb`" in out  # code is not a link
    assert "[data](../data/README.md)" in out  # left alone: the link check reports it


def test_links_to_notebooks_not_written_yet_go_to_their_backlog_entry():
    md = "[a](../00_prereqs/01_a.ipynb#x) [b](../00_prereqs/02_b.ipynb#y) [c](../00_prereqs/03_c.ipynb)"
    out = rewrite_links(md, LAB, notebooks={"00_prereqs/01_a.ipynb"}, coming={"00_prereqs/02_b.ipynb": "backlog.md#b"})
    assert out == f"[a]({LAB}/lab/tree/00_prereqs/01_a.ipynb#x) [b](backlog.md#b) [c](../00_prereqs/03_c.ipynb)"


def fake_executable(path: Path) -> Path:
    """A program that fails at once, as a broken Chromium would."""
    path.write_text("#!/bin/sh\necho 'cannot start' >&2\nexit 3\n")
    path.chmod(0o755)
    return path


def test_browser_driver_names_what_to_install_when_chromium_or_chromedriver_is_missing(monkeypatch, tmp_path):
    from browser import BrowserError, Chromium, missing

    monkeypatch.setenv("AIE_CHROMIUM", str(tmp_path / "no-such-browser"))
    assert "apt-get install chromium chromium-driver" in missing()
    with pytest.raises(BrowserError, match=r"Chromium is not installed at .*no-such-browser"):
        Chromium()
    monkeypatch.setenv("AIE_CHROMIUM", str(fake_executable(tmp_path / "chromium")))
    monkeypatch.setenv("AIE_CHROMEDRIVER", str(tmp_path / "no-such-driver"))
    assert "chromedriver is not installed" in missing()


def test_browser_driver_reports_a_chromium_that_cannot_start(monkeypatch, tmp_path):
    from browser import BrowserError, Chromium, chromedriver_path

    if not chromedriver_path().is_file():
        pytest.skip(f"chromedriver is not installed at {chromedriver_path()} (Debian: apt-get install chromium-driver)")
    monkeypatch.setenv("AIE_CHROMIUM", str(fake_executable(tmp_path / "fake-chromium")))
    with pytest.raises(
        BrowserError, match=r"fake-chromium\) did not start through .*chromedriver: session not created"
    ):
        Chromium(timeout=10).start()


# --- checks on hand-made inputs ----------------------------------------------------------------


def test_consistent_tiny_repo_has_no_problem(tiny_repo):
    rm = tiny_roadmap()
    wiki = tiny_repo / "wiki"
    assert chip_problems(rm, wiki) == []
    assert page_problems(rm, wiki) == []
    assert notebook_problems(rm, wiki, tiny_repo) == []


def test_chip_problems_report_a_missing_backlog_anchor(tiny_repo):
    rm = tiny_roadmap()
    backlog = tiny_repo / "wiki" / "backlog.md"
    backlog.write_text(backlog.read_text().replace('<a id="beta"></a>', ""))
    (tiny_repo / "wiki" / "why.md").unlink()
    assert chip_problems(rm, tiny_repo / "wiki") == [
        'chip beta: wiki/backlog.md has no anchor <a id="beta">',
        'chip why: wiki/backlog.md has no anchor <a id="why">',
    ]
    backlog.unlink()
    assert len(chip_problems(rm, tiny_repo / "wiki")) == 4


def test_page_problems_report_front_matter_and_missing_notebook_link(tiny_repo):
    wiki = tiny_repo / "wiki"
    (wiki / "alpha.md").write_text(
        page("Alpha", "alpha", phase="01_junior", body="no link, only `../00_prereqs/01_alpha.ipynb`")
    )
    (wiki / "stray.md").write_text(page("Stray", "gamma"))
    (wiki / "twin.md").write_text(page("Twin", "why"))
    (wiki / "bare.md").write_text("# no front matter\n")
    problems = page_problems(tiny_roadmap(), wiki)
    assert problems == [
        "wiki/alpha.md: phase '01_junior' should be '00_prereqs'",
        "wiki/alpha.md: does not link to its notebook as ../00_prereqs/01_alpha.ipynb",
        "wiki/bare.md: front matter has no title",
        "wiki/bare.md: front matter has no roadmap_id",
        "wiki/stray.md: roadmap_id 'gamma' is not an item of roadmap.toml",
        "wiki/twin.md: roadmap_id 'why' belongs to wiki/why.md",
        "wiki/twin.md: does not link to its notebook as ../00_prereqs/01_alpha.ipynb",
    ]


def test_bad_front_matter_yaml_is_a_clear_error(tiny_repo):
    (tiny_repo / "wiki" / "alpha.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    with pytest.raises(WikiError, match=r"wiki/alpha.md: front matter is not valid YAML"):
        read_pages(tiny_repo / "wiki")


def test_notebook_problems_report_missing_links_and_files(tiny_repo):
    rm = tiny_roadmap()
    nb = tiny_repo / "00_prereqs" / "01_alpha.ipynb"
    nb.write_text(notebook("# Alpha, no link here", "Wiki: [Alpha](../wiki/alpha.md), `../wiki/why.md`"))
    assert notebook_problems(rm, tiny_repo / "wiki", tiny_repo) == [
        "00_prereqs/01_alpha.ipynb: its first cell does not link to the wiki page of alpha as ../wiki/alpha.md",
        "00_prereqs/01_alpha.ipynb: no Markdown cell links to the wiki page of why as ../wiki/why.md",
    ]
    nb.unlink()
    (tiny_repo / "wiki" / "why.md").unlink()
    assert notebook_problems(rm, tiny_repo / "wiki", tiny_repo) == [
        "alpha: ready, but its notebook 00_prereqs/01_alpha.ipynb does not exist",
        "why: ready, but wiki/why.md does not exist",
        "why: ready, but its notebook 00_prereqs/01_alpha.ipynb does not exist",
    ]


def test_link_problems_find_missing_files_anchors_and_escapes(tmp_path):
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / "a.html").write_text(
        '<h1 id="top">A</h1><a href="#top">ok</a><a href="b.html#x">ok</a><a href="sub/">ok dir</a>'
        '<a href="https://example.org/x">external</a><a href="mailto:a@b">mail</a><img src="/sub/index.html">'
        '<a href="#nowhere">bad anchor</a><a href="b.html#y">bad anchor</a><a href="c.html">missing</a>'
        '<a href="../outside.html">outside</a><script src="missing.js"></script>'
    )
    (site / "b.html").write_text('<p><a id="x"></a>B</p>')
    (site / "sub" / "index.html").write_text('<a href="../a.html#top">back</a>')
    assert link_problems(site) == [
        "a.html: a '#nowhere': no element with id 'nowhere'",
        "a.html: a 'b.html#y': no element with id 'y'",
        "a.html: a 'c.html': no such file",
        "a.html: a '../outside.html' points outside the site",
        "a.html: script 'missing.js': no such file",
    ]
    (site / "c.html").write_text(
        f'<a href="{LAB}/lab/tree/00_prereqs/01_cosine_similarity.ipynb">ok</a>'
        f'<a href="{LAB}/lab/tree/00_prereqs/99_nothing.ipynb">bad</a>'
    )
    assert lab_link_problems(site, LAB) == [
        "c.html: link to JupyterLab names 00_prereqs/99_nothing.ipynb, which is not a notebook of the course"
    ]


def test_tiny_site_builds_with_rewritten_links_and_reports_a_broken_one(tiny_repo, monkeypatch):
    rm = tiny_roadmap()
    wiki = tiny_repo / "wiki"
    (wiki / "why.md").write_text(
        page("Why alpha", "why", body="[nb](../00_prereqs/01_alpha.ipynb) [gone](missing.md)\n\n$$a \\cdot b$$")
    )
    katex = tiny_repo / "katex"
    (katex / "fonts").mkdir(parents=True)
    for name in ("katex.min.js", "katex.min.css", "fonts/KaTeX_Main-Regular.woff2", "fonts/KaTeX_Main-Regular.ttf"):
        (katex / name).write_text("/* stand-in */")
    monkeypatch.setenv("AIE_KATEX_DIR", str(katex))
    report = build_site(tiny_repo / "out", wiki_dir=wiki, roadmap=rm, lab=LAB, repo_root=tiny_repo)
    assert sorted(report.wiki_pages) == ["alpha", "why"]
    assert (report.chips_to_pages, report.chips_to_backlog) == (2, 3)
    assert any("missing.md" in w for w in report.warnings)
    index = BeautifulSoup((report.out / "index.html").read_text(), "lxml")
    hrefs = {d["data-roadmap-id"]: d.select_one("a.aie-chip__link")["href"] for d in index.select(".aie-chip")}
    assert hrefs == {
        "alpha": "alpha.html",
        "beta": "backlog.html#beta",
        "why": "why.html",
        "capstone": "backlog.html#capstone",
        "cap-one": "backlog.html#cap-one",
    }
    why = (report.out / "why.html").read_text()
    assert f'href="{LAB}/lab/tree/00_prereqs/01_alpha.ipynb"' in why
    assert link_problems(report.out) == ["why.html: a 'missing.md': no such file"]
    assert report.math == "katex" and '<div class="arithmatex">\\[a \\cdot b\\]</div>' in why
    assert 'src="assets/katex/katex.min.js"' in why and 'src="assets/aie-math.js"' in why
    assert sorted(p.name for p in (report.out / "assets" / "katex" / "fonts").iterdir()) == ["KaTeX_Main-Regular.woff2"]
    monkeypatch.setenv("AIE_KATEX_DIR", str(tiny_repo / "nowhere"))
    assert find_katex() is None
    assert not (wiki / "index.md").exists() and sorted(p.name for p in wiki.iterdir()) == [
        "alpha.md",
        "backlog.md",
        "why.md",
    ]


def test_build_refuses_to_replace_a_folder_that_is_not_a_site(tiny_repo):
    keep = tiny_repo / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    with pytest.raises(WikiError, match="not a built site"):
        build_site(keep, wiki_dir=tiny_repo / "wiki", roadmap=tiny_roadmap())
    with pytest.raises(WikiError, match="inside the wiki folder"):
        build_site(tiny_repo / "wiki" / "site", wiki_dir=tiny_repo / "wiki", roadmap=tiny_roadmap())
    (tiny_repo / "wiki" / "index.md").write_text("# hand-written\n")
    with pytest.raises(WikiError, match="generated from roadmap.toml"):
        build_site(tiny_repo / "out", wiki_dir=tiny_repo / "wiki", roadmap=tiny_roadmap())
    assert (keep / "notes.txt").read_text() == "mine"


# --- the real roadmap, wiki and notebooks ---------------------------------------------------------


def test_every_chip_resolves_to_a_page_or_a_backlog_anchor(roadmap):
    assert chip_problems(roadmap) == []


def test_every_wiki_page_names_a_roadmap_item_and_links_to_its_notebook(roadmap):
    assert page_problems(roadmap) == []


def test_every_ready_notebook_links_to_its_wiki_page(roadmap):
    assert notebook_problems(roadmap) == []


def test_built_site_has_no_broken_internal_link(built_site):
    assert link_problems(built_site.out) == []


def test_built_site_notebook_links_name_course_notebooks(built_site):
    assert lab_link_problems(built_site.out, LAB) == []


def test_mkdocs_builds_the_site_without_warnings(built_site):
    assert built_site.warnings == []


def test_built_roadmap_page_shows_every_chip_with_its_target(built_site, roadmap):
    index = BeautifulSoup((built_site.out / "index.html").read_text(encoding="utf-8"), "lxml")
    shown = {d["data-roadmap-id"]: d for d in index.select("div.aie-chip")}
    pages = set(read_pages(WIKI_DIR))
    expected = chips(roadmap, pages)
    assert list(shown) == [c.id for c in expected]
    ready = (
        {i.id for i in roadmap.items if i.ready}
        | {c.id for c in roadmap.criteria if c.status == "ready"}
        | ({roadmap.capstone_id} if roadmap.capstone_status == "ready" else set())
    )
    for chip in expected:
        div = shown[chip.id]
        link = div.select_one("a.aie-chip__link")
        assert link.get_text() == chip.label
        want = f"{chip.wiki}.html" if chip.target == "page" else f"backlog.html#{chip.id}"
        assert link["href"] == want, chip.id
        assert (chip.target == "page") == (chip.id in ready and chip.wiki in pages), chip.id
        assert ("aie-chip--question" in div["class"]) == (chip.kind == "question")
        lab = div.select_one("a.aie-chip__lab")
        assert (lab["href"] if lab else None) == (notebook_lab_link(LAB, chip.notebook) if chip.notebook else None)
    assert len(index.select("div.aie-chip--criterion")) == len(roadmap.criteria) == 5
    text = index.get_text(" ")
    for phrase in (
        roadmap.title,
        roadmap.tagline,
        roadmap.footer,
        roadmap.capstone_title,
        roadmap.capstone_text,
        *(p.title for p in roadmap.phases),
        *(p.summary for p in roadmap.phases),
    ):
        assert phrase in text


def test_built_site_has_a_page_and_a_search_entry_for_every_wiki_page(built_site):
    assert len(built_site.chips) == 34
    index = json.loads((built_site.out / "search" / "search_index.json").read_text())
    located = {doc["location"].split("#")[0] for doc in index["docs"]}
    for slug in built_site.wiki_pages + ["backlog", "index"]:
        assert (built_site.out / f"{slug}.html").is_file()
        assert f"{slug}.html" in located or (slug == "index" and "" in located)


def test_built_site_loads_nothing_from_the_internet(built_site):
    for html_file in built_site.out.rglob("*.html"):
        soup = BeautifulSoup(html_file.read_text(encoding="utf-8"), "lxml")
        for tag, attr in (("link", "href"), ("script", "src"), ("img", "src"), ("iframe", "src")):
            for el in soup.find_all(tag, attrs={attr: True}):
                assert not re.match(r"^(https?:)?//", el[attr]), f"{html_file.name}: {tag} {el[attr]}"


def test_cli_builds_the_site_and_reports_its_numbers(tmp_path):
    from curriculum.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app, ["wiki", "build", "--out", str(tmp_path / "site"), "--lab-url", "http://127.0.0.1:8899"]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"built .* in [\d.]+ s: \d+ wiki page\(s\), \d+ HTML page\(s\); 34 chips", result.output)
    assert "http://127.0.0.1:8899/lab/tree/" in (tmp_path / "site" / "index.html").read_text()
    bad = runner.invoke(app, ["wiki", "build", "--out", str(tmp_path / "site"), "--lab-url", "localhost:8888"])
    assert bad.exit_code == 2 and "must look like" in bad.output
    assert not (REPO_ROOT / "wiki" / "index.md").exists()
