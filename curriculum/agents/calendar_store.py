"""A small SQLite calendar: people with a home time zone, events, and busy intervals (free/busy data).

Example::

    from datetime import datetime, timezone
    from curriculum.agents.calendar_store import CalendarStore

    cal = CalendarStore(":memory:")                     # or a file path under a temp dir
    cal.add_person("ana@example.com", "Ana", "Europe/Berlin")
    start = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    cal.add_event("Standup", start, start.replace(hour=9, minute=15), ["ana@example.com"])
    cal.busy("ana@example.com", start.replace(hour=0), start.replace(hour=23))
    # [(datetime(2026, 3, 2, 9, 0, tzinfo=utc), datetime(2026, 3, 2, 9, 15, tzinfo=utc))]

Every time is stored in UTC and handed back as an aware ``datetime`` in UTC; naive datetimes are refused,
because a time without a zone is the bug this store exists to make visible. The store keeps data; it does
not decide policy: whether an overlapping event may be booked is up to the caller.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["Event", "CalendarStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    email TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    tz TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    uid TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    start_utc TEXT NOT NULL,
    end_utc TEXT NOT NULL,
    organizer TEXT
);
CREATE TABLE IF NOT EXISTS attendees (
    uid TEXT NOT NULL REFERENCES events(uid) ON DELETE CASCADE,
    email TEXT NOT NULL,
    PRIMARY KEY (uid, email)
);
CREATE INDEX IF NOT EXISTS attendees_by_email ON attendees(email);
"""


def _utc(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be time-zone aware (got naive {value.isoformat()})")
    return value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    """One calendar event; ``start``/``end`` are aware UTC datetimes."""

    uid: str
    title: str
    start: datetime
    end: datetime
    attendees: tuple[str, ...]
    organizer: str | None = None


class CalendarStore:
    """Events and people in one SQLite file (``":memory:"`` for a throw-away store). Thread-safe."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False)
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.executescript(_SCHEMA)

    # people -----------------------------------------------------------------------------------
    def add_person(self, email: str, name: str, tz: str) -> None:
        """Add or update a person and their IANA time zone (e.g. ``"Europe/Berlin"``)."""
        email = self._email(email)
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {tz!r} for {email}") from exc
        with self._lock, self._conn:
            self._conn.execute("INSERT OR REPLACE INTO people(email, name, tz) VALUES (?, ?, ?)", (email, name, tz))

    def person(self, email: str) -> dict[str, str] | None:
        """``{"email", "name", "tz"}`` of a known person, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT email, name, tz FROM people WHERE email = ?", (self._email(email),)
            ).fetchone()
        return None if row is None else {"email": row[0], "name": row[1], "tz": row[2]}

    def people(self) -> list[dict[str, str]]:
        """Everyone in the directory, by email."""
        with self._lock:
            rows = self._conn.execute("SELECT email, name, tz FROM people ORDER BY email").fetchall()
        return [{"email": e, "name": n, "tz": t} for e, n, t in rows]

    # events -----------------------------------------------------------------------------------
    def add_event(
        self,
        title: str,
        start: datetime,
        end: datetime,
        attendees: list[str],
        organizer: str | None = None,
        uid: str | None = None,
    ) -> Event:
        """Store an event (no overlap check: that is policy, and the caller's job). Returns it."""
        start_utc, end_utc = _utc(start, "start"), _utc(end, "end")
        if end_utc <= start_utc:
            raise ValueError(f"event ends ({_iso(end_utc)}) before or when it starts ({_iso(start_utc)})")
        if not title or not title.strip():
            raise ValueError("an event needs a title")
        emails = tuple(dict.fromkeys(self._email(a) for a in attendees))
        if not emails:
            raise ValueError("an event needs at least one attendee")
        uid = uid or f"{uuid.uuid4()}@aie.local"
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT INTO events(uid, title, start_utc, end_utc, organizer) VALUES (?, ?, ?, ?, ?)",
                (uid, title.strip(), _iso(start_utc), _iso(end_utc), organizer),
            )
            self._conn.executemany("INSERT INTO attendees(uid, email) VALUES (?, ?)", [(uid, e) for e in emails])
        return Event(uid, title.strip(), start_utc, end_utc, emails, organizer)

    def delete_event(self, uid: str) -> bool:
        """Remove an event; True when it existed."""
        with self._lock, self._conn:
            cur = self._conn.execute("DELETE FROM events WHERE uid = ?", (uid,))
        return cur.rowcount > 0

    def events(
        self, email: str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> list[Event]:
        """Events (of one attendee, when given) that overlap ``[start, end)``, in start order."""
        sql = "SELECT DISTINCT e.uid FROM events e JOIN attendees a ON a.uid = e.uid WHERE 1 = 1"
        args: list[str] = []
        if email is not None:
            sql += " AND a.email = ?"
            args.append(self._email(email))
        if end is not None:
            sql += " AND e.start_utc < ?"
            args.append(_iso(_utc(end, "end")))
        if start is not None:
            sql += " AND e.end_utc > ?"
            args.append(_iso(_utc(start, "start")))
        with self._lock:
            uids = [r[0] for r in self._conn.execute(sql, args).fetchall()]
            out = [self._load(uid) for uid in uids]
        return sorted(out, key=lambda ev: (ev.start, ev.uid))

    def busy(self, email: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Free/busy: the merged busy intervals of ``email`` inside ``[start, end)``, clipped to it."""
        lo, hi = _utc(start, "start"), _utc(end, "end")
        merged: list[list[datetime]] = []
        for ev in self.events(email, lo, hi):
            s, e = max(ev.start, lo), min(ev.end, hi)
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        return [(s, e) for s, e in merged]

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def close(self) -> None:
        self._conn.close()

    # internals --------------------------------------------------------------------------------
    def _load(self, uid: str) -> Event:
        title, s, e, organizer = self._conn.execute(
            "SELECT title, start_utc, end_utc, organizer FROM events WHERE uid = ?", (uid,)
        ).fetchone()
        people = tuple(
            r[0]
            for r in self._conn.execute("SELECT email FROM attendees WHERE uid = ? ORDER BY email", (uid,)).fetchall()
        )
        return Event(uid, title, _parse(s), _parse(e), people, organizer)

    @staticmethod
    def _email(email: str) -> str:
        if not isinstance(email, str) or "@" not in email or email.strip() != email or " " in email:
            raise ValueError(f"not an email address: {email!r}")
        return email.lower()
