"""Scheduling helpers: local times (UTC instant, refused gaps, the earlier of a repeated hour), conflict-checked
booking, and switching the helpers off to prove a learner's function does not wrap them."""

import doctest
from datetime import UTC, datetime

import pytest

import curriculum.agents
from curriculum.agents import CalendarStore, scheduling
from curriculum.agents.scheduling import book_if_free, disabled, in_zone, local_to_utc

UTC = UTC


def test_docstring_examples_hold():
    assert doctest.testmod(scheduling).failed == 0


@pytest.mark.parametrize(
    "local, tz, utc",
    [
        ("2026-03-02T15:00", "Europe/Berlin", datetime(2026, 3, 2, 14, 0, tzinfo=UTC)),  # CET
        ("2026-07-02T15:00", "Europe/Berlin", datetime(2026, 7, 2, 13, 0, tzinfo=UTC)),  # CEST
        ("2026-03-09T09:00", "America/New_York", datetime(2026, 3, 9, 13, 0, tzinfo=UTC)),
        ("2026-03-02T10:00", "Asia/Kolkata", datetime(2026, 3, 2, 4, 30, tzinfo=UTC)),
        ("2026-10-25T02:30", "Europe/Berlin", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # repeated: the first
        ("2011-12-31T10:00", "Pacific/Apia", datetime(2011, 12, 30, 20, 0, tzinfo=UTC)),  # the day after the skip
    ],
)
def test_local_time_maps_to_its_utc_instant(local, tz, utc):
    result = local_to_utc(local, tz)
    assert result == utc and result.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "local, tz, says",
    [
        ("2026-03-29T02:30", "Europe/Berlin", "does not exist in Europe/Berlin"),
        ("2026-03-08T02:30", "America/New_York", "does not exist in America/New_York"),
        ("2011-12-30T12:00", "Pacific/Apia", "does not exist in Pacific/Apia"),  # a whole day skipped
        ("2026-03-02T15:00", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("2026-03-02T15:00", "", "unknown time zone ''"),
        ("2026-03-02T15:00+01:00", "Europe/Berlin", "without an offset, got '2026-03-02T15:00+01:00'"),
        ("2026-02-30T10:00", "Europe/Berlin", "got '2026-02-30T10:00'"),
        ("15:00", "Europe/Berlin", "got '15:00'"),
    ],
)
def test_bad_or_impossible_local_time_is_refused_naming_it(local, tz, says):
    with pytest.raises(ValueError, match=says.replace("+", r"\+")):
        local_to_utc(local, tz)


def test_in_zone_gives_the_same_instant_in_the_target_zone():
    moment = in_zone("2026-03-02T23:30", "America/New_York", "Asia/Tokyo")
    assert moment.strftime("%Y-%m-%dT%H:%M %z") == "2026-03-03T13:30 +0900"
    assert moment == local_to_utc("2026-03-02T23:30", "America/New_York")
    with pytest.raises(ValueError, match="Nowhere/Land"):
        in_zone("2026-03-02T15:00", "Europe/Berlin", "Nowhere/Land")


def _calendar() -> CalendarStore:
    cal = CalendarStore(":memory:")
    for email, tz in (
        ("you@example.com", "Europe/Berlin"),
        ("bob@example.com", "America/New_York"),
        ("carol@example.com", "Europe/Berlin"),
    ):
        cal.add_person(email, email.split("@")[0].title(), tz)
    cal.add_event(
        "call", datetime(2026, 3, 2, 14, tzinfo=UTC), datetime(2026, 3, 2, 15, tzinfo=UTC), ["carol@example.com"]
    )
    return cal


def test_booking_adds_the_organizer_once_and_lower_cases_attendees():
    cal = _calendar()
    event = book_if_free(
        cal,
        "Review",
        ["Bob@Example.com", "you@example.com"],
        datetime(2026, 3, 2, 9, tzinfo=UTC),
        datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        organizer="you@example.com",
    )
    assert list(event.attendees) == ["you@example.com", "bob@example.com"]
    assert [e.uid for e in cal.events("bob@example.com")] == [event.uid]


def test_booking_over_a_busy_interval_names_who_and_when_and_writes_nothing():
    cal = _calendar()
    before = len(cal)
    with pytest.raises(ValueError, match=r"carol@example.com is busy 2026-03-02 14:30-15:00 UTC"):
        book_if_free(
            cal,
            "Sync",
            ["carol@example.com"],
            datetime(2026, 3, 2, 14, 30, tzinfo=UTC),
            datetime(2026, 3, 2, 15, 30, tzinfo=UTC),
            organizer="you@example.com",
        )
    assert len(cal) == before
    touching = book_if_free(
        cal,
        "After",
        ["carol@example.com"],
        datetime(2026, 3, 2, 15, tzinfo=UTC),
        datetime(2026, 3, 2, 15, 30, tzinfo=UTC),
        organizer="you@example.com",
    )
    assert touching.start == datetime(2026, 3, 2, 15, tzinfo=UTC)


def test_unchecked_people_may_be_double_booked():
    cal = _calendar()
    slot = (datetime(2026, 3, 2, 14, 30, tzinfo=UTC), datetime(2026, 3, 2, 15, tzinfo=UTC))
    book_if_free(
        cal, "Sync", ["Carol@example.com"], *slot, organizer="you@example.com", unchecked=["carol@example.com"]
    )
    assert len(cal.events("carol@example.com")) == 2


def test_disabled_refuses_calls_through_the_module_the_package_and_aliases_then_restores_them():
    namespace = {"alias": local_to_utc, "other": len}
    original = scheduling.book_if_free
    with disabled(namespace):
        with pytest.raises(AssertionError, match="scheduling.local_to_utc"):
            namespace["alias"]("2026-03-02T15:00", "UTC")
        with pytest.raises(AssertionError, match="scheduling.book_if_free"):
            curriculum.agents.book_if_free()
        with pytest.raises(AssertionError, match="scheduling.in_zone"):
            scheduling.in_zone("2026-03-02T15:00", "UTC")
        assert namespace["other"] is len
    assert namespace["alias"] is local_to_utc and scheduling.book_if_free is original is curriculum.agents.book_if_free
    assert scheduling.in_zone("2026-03-02T15:00", "Europe/Berlin").hour == 14
