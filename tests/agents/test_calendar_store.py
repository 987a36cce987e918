from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from curriculum.agents.calendar_store import CalendarStore

UTC = UTC


@pytest.fixture()
def cal(tmp_path):
    store = CalendarStore(tmp_path / "cal.sqlite")
    store.add_person("ana@example.com", "Ana", "Europe/Berlin")
    yield store
    store.close()


def test_events_are_stored_in_utc_and_persist(tmp_path, cal):
    start = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    ev = cal.add_event("Review", start, start + timedelta(hours=1), ["Ana@example.com", "bo@example.com"])
    assert ev.start == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    again = CalendarStore(tmp_path / "cal.sqlite")
    [loaded] = again.events("bo@example.com")
    assert loaded.uid == ev.uid and loaded.attendees == ("ana@example.com", "bo@example.com")
    assert again.person("ANA@example.com")["tz"] == "Europe/Berlin"


def test_busy_merges_and_clips(cal):
    day = datetime(2026, 3, 2, tzinfo=UTC)
    cal.add_event("a", day.replace(hour=9), day.replace(hour=10), ["ana@example.com"])
    cal.add_event("b", day.replace(hour=9, minute=30), day.replace(hour=11), ["ana@example.com"])
    cal.add_event("c", day.replace(hour=15), day.replace(hour=16), ["ana@example.com"])
    cal.add_event("other", day.replace(hour=12), day.replace(hour=13), ["bo@example.com"])
    busy = cal.busy("ana@example.com", day.replace(hour=10), day.replace(hour=15, minute=30))
    assert busy == [
        (day.replace(hour=10), day.replace(hour=11)),
        (day.replace(hour=15), day.replace(hour=15, minute=30)),
    ]
    # touching intervals do not overlap: an event ending at 11:00 leaves 11:00 free
    assert cal.events("ana@example.com", day.replace(hour=11), day.replace(hour=12)) == []


def test_bad_input_is_refused(cal):
    naive = datetime(2026, 3, 2, 9)
    with pytest.raises(ValueError, match="time-zone aware"):
        cal.add_event("x", naive, naive + timedelta(hours=1), ["ana@example.com"])
    aware = naive.replace(tzinfo=UTC)
    with pytest.raises(ValueError, match="before"):
        cal.add_event("x", aware, aware, ["ana@example.com"])
    with pytest.raises(ValueError, match="email"):
        cal.add_event("x", aware, aware + timedelta(hours=1), ["not an email"])
    with pytest.raises(ValueError, match="time zone"):
        cal.add_person("x@example.com", "X", "Mars/Olympus")
    assert cal.delete_event("nope") is False
