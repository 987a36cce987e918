"""Scheduling for the agent notebooks' tools: local times in IANA zones and conflict-checked booking.

A meeting is asked for in someone's local time ("15:00 in Berlin") and stored in UTC. A local time may not
exist (the clocks jump forward over it) or may happen twice (they go back); this module refuses the first
and takes the earlier of the second, as Python does by default (``fold=0``).

    >>> local_to_utc("2026-03-02T15:00", "Europe/Berlin")
    datetime.datetime(2026, 3, 2, 14, 0, tzinfo=datetime.timezone.utc)
    >>> in_zone("2026-03-02T15:00", "Europe/Berlin", "Asia/Tokyo").strftime(LOCAL_FORMAT)
    '2026-03-02T23:00'
    >>> local_to_utc("2026-03-29T02:30", "Europe/Berlin")
    Traceback (most recent call last):
    ...
    ValueError: 2026-03-29T02:30 does not exist in Europe/Berlin (the clocks skip it)

The meeting-agent notebook asks the learner to write this logic; the notebooks after it use this module so
that they do not hand out that answer, and the meeting agent's tests run the learner's code inside
:func:`disabled`, so a wrapper around this module scores nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from curriculum.agents.calendar_store import CalendarStore, Event

__all__ = ["LOCAL_FORMAT", "book_if_free", "disabled", "in_zone", "local_to_utc", "time_zone"]

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # a local wall-clock time without offset: 2026-03-02T15:00


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ``ValueError`` naming it when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def local_to_utc(local: str, tz: str) -> datetime:
    """``local`` (``YYYY-MM-DDTHH:MM``, no offset) in zone ``tz`` as an aware UTC datetime.

    Raises ``ValueError`` for an unknown zone, a malformed time (or one that carries an offset) and a
    local time that does not exist. PEP 495: inside a gap the first reading (``fold=0``) uses the offset
    before the jump and the second the offset after it, so a gap is exactly where the first offset is
    the smaller one; at a repeated hour it is the larger one, and ``fold=0`` is the earlier instant.
    """
    try:
        naive = datetime.strptime(local, LOCAL_FORMAT)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"time must look like YYYY-MM-DDTHH:MM without an offset, got {local!r}") from exc
    first = naive.replace(tzinfo=time_zone(tz))
    second = first.replace(fold=1)
    if first.utcoffset() < second.utcoffset():
        raise ValueError(f"{local} does not exist in {tz} (the clocks skip it)")
    return first.astimezone(UTC)


def in_zone(local: str, from_tz: str, to_tz: str = "UTC") -> datetime:
    """The instant ``local`` in ``from_tz`` as an aware datetime in ``to_tz`` (errors as :func:`local_to_utc`)."""
    return local_to_utc(local, from_tz).astimezone(time_zone(to_tz))


def book_if_free(
    cal: CalendarStore,
    title: str,
    attendees: Iterable[str],
    start: datetime,
    end: datetime,
    *,
    organizer: str,
    unchecked: Iterable[str] = (),
) -> Event:
    """Book ``title`` for ``organizer`` and ``attendees`` over ``[start, end)`` unless one of them is busy then.

    Emails are compared lower-cased, each person once, the organizer first. ``unchecked`` names people whose
    calendars are not consulted (a deliberately weaker tool, for comparisons). When someone checked is busy,
    raises ``ValueError`` naming each of them and the busy interval in UTC, and writes nothing.
    """
    people = list(dict.fromkeys(email.lower() for email in (organizer, *attendees)))
    skipped = {email.lower() for email in unchecked}
    clashes = [
        f"{email} is busy {begin:%Y-%m-%d %H:%M}-{finish:%H:%M} UTC"
        for email in people
        if email not in skipped
        for begin, finish in cal.busy(email, start, end)
    ]
    if clashes:
        raise ValueError("not booked, double-booking: " + "; ".join(clashes))
    return cal.add_event(title, start, end, people, organizer=organizer)


@contextmanager
def disabled(namespace: dict | None = None) -> Iterator[None]:
    """Within the block every function of this module raises ``AssertionError`` naming itself.

    Covers calls through this module, through ``curriculum.agents`` and through any name in ``namespace``
    (for example a notebook's ``globals()``) bound to one of them; everything is restored afterwards.
    A test runs a learner's function inside it to prove the function does not wrap this module.
    """
    package = sys.modules["curriculum.agents"]
    module = sys.modules[__name__]
    originals = {
        name: getattr(module, name) for name in __all__ if callable(getattr(module, name)) and name != "disabled"
    }

    def refusal(name: str):
        def refuse(*_args, **_kwargs):
            raise AssertionError(f"write this yourself: it called {__name__}.{name}, which the later notebooks use")

        return refuse

    stand_ins = {name: refusal(name) for name in originals}
    name_of = {id(original): name for name, original in originals.items()}
    aliases = {key: value for key, value in (namespace or {}).items() if id(value) in name_of}
    try:
        for name, stand_in in stand_ins.items():
            setattr(module, name, stand_in)
            if getattr(package, name, None) is originals[name]:
                setattr(package, name, stand_in)
        for key, value in aliases.items():
            namespace[key] = stand_ins[name_of[id(value)]]
        yield
    finally:
        for name, original in originals.items():
            setattr(module, name, original)
            if getattr(package, name, None) is stand_ins[name]:
                setattr(package, name, original)
        for key, value in aliases.items():
            namespace[key] = value
