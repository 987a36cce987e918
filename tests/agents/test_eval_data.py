"""The hand-written eval data of the meeting agent is well-formed and consistent with its seed calendar."""

import json
from datetime import UTC, datetime

from curriculum.agents.calendar_store import CalendarStore
from curriculum.paths import DATA_DIR

EVAL_DIR = DATA_DIR / "agent-evals"
UTC = UTC


def _utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)


def _cases() -> list[dict]:
    return [json.loads(line) for line in (EVAL_DIR / "meeting_cases.jsonl").read_text().splitlines() if line.strip()]


def test_fifty_unique_well_formed_cases():
    cases = _cases()
    assert len(cases) == 50
    assert len({c["id"] for c in cases}) == 50
    for case in cases:
        assert set(case) == {"id", "tags", "request", "expect"}, case["id"]
        assert case["tags"] and case["request"].strip()
        expect = case["expect"]
        assert expect["outcome"] in {"booked", "refused", "clarify"}, case["id"]
        if expect["outcome"] == "booked":
            assert _utc(expect["end_utc"]) > _utc(expect["start_utc"]), case["id"]
            assert expect["attendees"] and all("@" in a for a in expect["attendees"])
            assert all(a.lower() in case["request"].lower() for a in expect["attendees"]), case["id"]
            if "title" in expect:
                assert f'"{expect["title"]}"' in case["request"], case["id"]
        elif expect["outcome"] == "clarify":
            assert expect["missing"] in {"title", "attendees", "start", "duration_minutes", "timezone"}


def test_every_kind_of_case_is_present():
    cases = _cases()
    outcomes = [c["expect"]["outcome"] for c in cases]
    assert outcomes.count("refused") >= 5 and outcomes.count("clarify") >= 5
    tags = {t for c in cases for t in c["tags"]}
    assert {"dst", "conflict", "organizer", "edge", "multi", "hard"} <= tags


def test_seed_calendar_loads_and_conflict_cases_really_conflict():
    seed = json.loads((EVAL_DIR / "calendar_seed.json").read_text())
    cal = CalendarStore(":memory:")
    for p in seed["people"]:
        cal.add_person(p["email"], p["name"], p["tz"])
    for e in seed["events"]:
        cal.add_event(e["title"], _utc(e["start_utc"]), _utc(e["end_utc"]), e["attendees"])
    assert cal.person(seed["organizer"]) is not None
    # every expected booking fits the seed calendar (otherwise the expectation contradicts the data)
    for case in _cases():
        expect = case["expect"]
        if expect["outcome"] == "booked":
            people = [seed["organizer"]] + [a.lower() for a in expect["attendees"]]
            busy = [cal.busy(p, _utc(expect["start_utc"]), _utc(expect["end_utc"])) for p in people]
            assert not any(busy), (case["id"], busy)
