"""The roadmap file: its loader, its verbatim quotes and its coverage of the repository."""

import tomllib

import pytest

from curriculum.paths import DATA_DIR
from curriculum.roadmap import ROADMAP_PATH, RoadmapError, load_roadmap, parse_roadmap, repository_problems

ROADMAP_TEXT = (DATA_DIR / "roadmap" / "ai-engineer.txt").read_text(encoding="utf-8")
ROADMAP_LINES = [line.strip() for line in ROADMAP_TEXT.splitlines()]


def _raw():
    return tomllib.loads(ROADMAP_PATH.read_text(encoding="utf-8"))


def test_roadmap_loads_with_four_phases_and_the_capstone():
    rm = load_roadmap()
    assert [p.id for p in rm.phases] == ["00_prereqs", "01_junior", "02_intermediate", "03_senior"]
    assert len(rm.criteria) == 5
    assert rm.title == "AI Engineer"


def test_every_task_and_question_of_the_roadmap_text_is_an_item():
    rm = load_roadmap()
    texts = {i.text for i in rm.items}
    roadmap_items = [ln[2:].removeprefix("→ ") for ln in ROADMAP_LINES if ln.startswith("- ")]
    # the capstone criteria are the last five "- " lines
    phase_lines, criteria_lines = roadmap_items[:-5], roadmap_items[-5:]
    assert sorted(phase_lines) == sorted(texts)
    assert [c.text for c in rm.criteria] == criteria_lines


def test_item_texts_are_verbatim_and_arrows_mark_hands_on_tasks():
    for item in load_roadmap().items:
        expected = f"- → {item.text}" if item.hands_on else f"- {item.text}"
        assert expected in ROADMAP_LINES, f"{item.id}: not a verbatim roadmap line: {expected!r}"


def test_questions_are_the_plain_lines_ending_in_a_question_mark():
    # hands-on tasks may end in a question ("Which wins on your data?") but are still tasks
    for item in load_roadmap().items:
        is_question = not item.hands_on and item.text.endswith("?")
        assert (item.kind == "question") == is_question, item.id


def test_phase_titles_and_summaries_are_verbatim():
    rm = load_roadmap()
    for phase in rm.phases:
        assert phase.title in ROADMAP_LINES
        assert phase.summary in ROADMAP_LINES
    assert rm.capstone_text in ROADMAP_LINES
    assert rm.footer in ROADMAP_LINES


def test_repository_has_a_notebook_and_wiki_page_for_every_ready_item():
    problems = repository_problems(load_roadmap())
    assert not problems, "roadmap items without notebook or wiki page:\n" + "\n".join(problems)


def test_duplicate_ids_are_reported():
    data = _raw()
    data["phase"][0]["item"][1]["id"] = data["phase"][0]["item"][0]["id"]
    with pytest.raises(RoadmapError, match="duplicate id"):
        parse_roadmap(data)


def test_every_problem_is_reported_at_once():
    data = _raw()
    data["phase"][0]["item"][0]["kind"] = "essay"
    data["phase"][1]["item"][0]["notebook"] = "rag.ipynb"
    del data["phase"][2]["item"][0]["points"]
    with pytest.raises(RoadmapError) as err:
        parse_roadmap(data)
    message = str(err.value)
    assert "kind 'essay'" in message
    assert "must be named NN_slug.ipynb" in message
    assert "missing 'points'" in message


def test_unknown_status_and_keys_are_rejected():
    data = _raw()
    data["phase"][0]["item"][0]["status"] = "done"
    data["phase"][0]["item"][0]["colour"] = "red"
    with pytest.raises(RoadmapError) as err:
        parse_roadmap(data)
    assert "status 'done'" in str(err.value) and "unknown keys ['colour']" in str(err.value)


def test_missing_notebook_and_wiki_page_are_listed(tmp_path):
    rm = load_roadmap()
    (tmp_path / "wiki").mkdir()
    (tmp_path / "wiki" / "backlog.md").write_text("")
    problems = repository_problems(rm, tmp_path)
    ready = [i for i in rm.items if i.ready]
    assert any("notebook 00_prereqs/01_cosine_similarity.ipynb does not exist" in p for p in problems)
    assert any("wiki page wiki/cosine-similarity.md does not exist" in p for p in problems)
    backlog = [i for i in rm.items if not i.ready]
    assert sum("wiki/backlog.md has no entry" in p for p in problems) >= len(backlog)
    assert len(problems) >= 2 * len(ready)


def test_corrupt_toml_names_the_file(tmp_path):
    bad = tmp_path / "roadmap.toml"
    bad.write_text("[[phase]\nid = ")
    with pytest.raises(RoadmapError, match="not valid TOML"):
        load_roadmap(bad)
