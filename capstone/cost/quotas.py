"""Per-caller daily quotas: requests and spend per signed-in user, and one shared quota for anonymous callers.

The daily ceilings of :mod:`capstone.cost.ledger` protect the operator's money per feature; quotas
keep one caller from using all of it. Each caller is a *subject* -- ``user:<id>`` or ``anonymous``
(every anonymous caller together) -- with a ``quotas`` row per UTC day. Admins have no quota.

* requests: :meth:`Quotas.admit` adds one with a single ``UPDATE ... WHERE requests < limit
  RETURNING``, so concurrent requests on any number of worker processes are counted exactly;
* spend: the ledger reserves a call's worst case in the caller's row in the same transaction
  as the feature's ceiling (``spent + reserved + estimate <= limit``) and settles the real cost
  there, so a quota is never overrun by calls in flight.

A refusal is :class:`QuotaExceeded` (a :class:`~capstone.cost.ledger.BudgetExceeded`), answered
429 with ``Retry-After`` until 00:00 UTC.

Example::

    quota = quotas.for_user(user)          # None for an admin
    quotas.admit(quota)                    # raises QuotaExceeded past the day's requests
    RequestBudget.new(limit, user.id, quota=quota)   # the ledger then checks the spend
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from capstone.cost.errors import BudgetExceeded
from capstone.db import Database

if TYPE_CHECKING:
    from capstone.guard.auth import User
    from capstone.settings import Settings

__all__ = ["ANONYMOUS", "Quota", "QuotaExceeded", "QuotaUsage", "Quotas", "seconds_to_midnight"]

ANONYMOUS = "anonymous"


def seconds_to_midnight(now: dt.datetime) -> int:
    """Seconds until the next 00:00 UTC (at least 1)."""
    now = now.astimezone(dt.UTC)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
    return max(1, int((midnight - now).total_seconds()))


@dataclass(frozen=True)
class Quota:
    """One caller's daily limits."""

    subject: str
    requests: int
    spend_usd: float


@dataclass(frozen=True)
class QuotaUsage:
    subject: str
    day: dt.date
    requests: int
    spent_usd: float
    reserved_usd: float


class QuotaExceeded(BudgetExceeded):
    """A caller's daily request or spend quota is used up (HTTP 429)."""

    def __init__(self, subject: str, kind: str, used: float, limit: float, retry_after: int) -> None:
        unit = "requests" if kind == "requests" else "USD"
        who = "anonymous callers" if subject == ANONYMOUS else "this API key"
        Exception.__init__(
            self,
            f"daily {kind} quota of {who} reached: {used:g} of {limit:g} {unit} used today; it resets at 00:00 UTC",
        )
        self.feature, self.spent, self.reserved, self.ceiling, self.retry_after = "quota", used, 0.0, limit, retry_after
        self.subject, self.kind, self.used, self.limit = subject, kind, used, limit


class Quotas:
    """Reads and counts the ``quotas`` rows (the spend side lives in the ledger's transactions)."""

    def __init__(self, db: Database, settings: Settings, *, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def day(self) -> dt.date:
        return self.clock().astimezone(dt.UTC).date()

    def for_user(self, user: User | None) -> Quota | None:
        """The quota of a caller (None for an admin: unlimited)."""
        s = self.settings
        if user is None:
            return Quota(ANONYMOUS, s.anonymous_daily_requests, s.anonymous_daily_usd)
        if user.is_admin:
            return None
        return Quota(f"user:{user.id}", s.user_daily_requests, s.user_daily_usd)

    def admit(self, quota: Quota | None) -> None:
        """Count one request of ``quota``'s subject, or raise QuotaExceeded when the day's are used."""
        if quota is None:
            return
        day = self.day()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO quotas (subject, day) VALUES (%s, %s) ON CONFLICT DO NOTHING", (quota.subject, day)
            )
            row = conn.execute(
                "UPDATE quotas SET requests = requests + 1 WHERE subject = %s AND day = %s AND requests < %s RETURNING requests",
                (quota.subject, day, quota.requests),
            ).fetchone()
        if row is None:
            raise QuotaExceeded(
                quota.subject, "requests", quota.requests, quota.requests, seconds_to_midnight(self.clock())
            )

    def usage(self, subject: str) -> QuotaUsage:
        """Today's counts of one subject."""
        day = self.day()
        with self.db.connection() as conn:
            row = conn.execute(
                "SELECT requests, spent_usd, reserved_usd FROM quotas WHERE subject = %s AND day = %s", (subject, day)
            ).fetchone()
        return QuotaUsage(subject, day, *(row or (0, 0.0, 0.0)))
