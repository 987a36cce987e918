"""Docs tickets: filed by signed-in callers only, at most ``limit`` per caller and UTC day, counted in Postgres.

The count and the insert happen in one transaction that first locks the caller's ``users`` row, so two
requests of the same caller, in one process or in several workers over the same database, cannot both
take the last ticket of the day.

Example::

    ticket_id = file_ticket(db, user_id=7, title="match needs examples", body="...", limit=3)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from capstone.db import Database

__all__ = ["TicketRefused", "file_ticket", "tickets_today"]


class TicketRefused(PermissionError):
    """The caller may not file this ticket: anonymous, unknown, or over the daily limit."""


def _day_start(now: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(), dt.UTC)


def tickets_today(db: Database, user_id: int, *, clock: Callable[[], dt.datetime] | None = None) -> int:
    """How many tickets ``user_id`` filed since 00:00 UTC."""
    since = _day_start((clock or (lambda: dt.datetime.now(dt.UTC)))())
    with db.connection() as conn:
        return conn.execute(
            "SELECT count(*) FROM tickets WHERE user_id = %s AND created_at >= %s", (user_id, since)
        ).fetchone()[0]


def file_ticket(
    db: Database,
    *,
    user_id: int | None,
    title: str,
    body: str,
    limit: int,
    clock: Callable[[], dt.datetime] | None = None,
) -> int:
    """Insert a ticket for ``user_id`` and return its id; raises :class:`TicketRefused` when it may not."""
    if user_id is None:
        raise TicketRefused("anonymous callers cannot file docs tickets; send an API key")
    since = _day_start((clock or (lambda: dt.datetime.now(dt.UTC)))())
    with db.transaction() as conn:
        if conn.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (user_id,)).fetchone() is None:
            raise TicketRefused(f"unknown user {user_id}")
        filed = conn.execute(
            "SELECT count(*) FROM tickets WHERE user_id = %s AND created_at >= %s", (user_id, since)
        ).fetchone()[0]
        if filed >= limit:
            raise TicketRefused(
                f"the daily limit of {limit} docs ticket{'s' if limit != 1 else ''} per caller is reached "
                f"({filed} filed today); no ticket was filed, try again after 00:00 UTC"
            )
        return conn.execute(
            "INSERT INTO tickets (user_id, title, body) VALUES (%s, %s, %s) RETURNING id", (user_id, title, body)
        ).fetchone()[0]
