"""Cost control: reserve the worst case before each paid call, settle the real cost after.

Per feature (``ask``, ``agent``, ``ingest``) and UTC day, the ``budgets`` row holds what is
reserved (calls in flight) and what is spent. :meth:`Ledger.reserve` locks that row
(``SELECT ... FOR UPDATE``) and admits a call only if ``spent + reserved + estimate <= ceiling``,
where the estimate is the price of the input tokens plus ``max_tokens`` output tokens. Since a
call never costs more than its estimate, concurrent requests cannot push spending past the
ceiling; if a provider bills more than estimated, the overshoot is bounded by one call's cost.

The first refusal trips the ceiling for the rest of the day (or until it is raised above the
spend): the budget row records it, and the :class:`~capstone.cost.alerts.Alerter` fires once
(webhook, log line, Prometheus gauge). Every settled call is a row of ``usage_events``; all of
this lives in Postgres, so it survives a restart.

A :class:`RequestBudget` carries one request's own limit across all of its model calls, and the
caller's :class:`~capstone.cost.quotas.Quota`: its spend is reserved and settled in the caller's
``quotas`` row inside the same transactions (budget row locked first, then the quota row, always in
that order), so a caller's daily spend stays exact across worker processes too.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from capstone.cost.alerts import Alert, Alerter
from capstone.cost.errors import BudgetExceeded, RequestLimitExceeded
from capstone.cost.quotas import Quota, QuotaExceeded, seconds_to_midnight
from capstone.db import Database
from capstone.settings import FEATURES, Settings

__all__ = [
    "BudgetExceeded",
    "RequestLimitExceeded",
    "QuotaExceeded",
    "Reservation",
    "RequestBudget",
    "Ledger",
    "BudgetState",
]


@dataclass(frozen=True)
class Reservation:
    id: str
    feature: str
    day: dt.date
    amount: float


@dataclass(frozen=True)
class BudgetState:
    feature: str
    day: dt.date
    spent_usd: float
    reserved_usd: float
    ceiling_usd: float
    tripped: bool
    alerts: int


@dataclass
class RequestBudget:
    """One request's spending across its calls, checked against the per-request limit."""

    request_id: str
    limit_usd: float
    user_id: int | None = None
    quota: Quota | None = None  # the caller's daily quota (None: operator work, or an admin)
    committed_usd: float = 0.0  # reserved or settled by this request
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    calls: list[dict] = field(default_factory=list)

    @classmethod
    def new(cls, limit_usd: float, user_id: int | None = None, *, quota: Quota | None = None) -> RequestBudget:
        return cls(uuid.uuid4().hex, limit_usd, user_id, quota)

    def room_for(self, estimate: float) -> bool:
        return self.committed_usd + estimate <= self.limit_usd + 1e-12


class Ledger:
    """Reservations and settlements against the per-feature daily ceilings."""

    def __init__(
        self, db: Database, settings: Settings, alerter: Alerter, *, clock: Callable[[], dt.datetime] | None = None
    ) -> None:
        self.db = db
        self.settings = settings
        self.alerter = alerter
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def _day(self) -> dt.date:
        return self.clock().astimezone(dt.UTC).date()

    def _seconds_to_midnight(self) -> int:
        return seconds_to_midnight(self.clock())

    @staticmethod
    def _quota_of(budget: RequestBudget | None) -> Quota | None:
        return budget.quota if budget is not None else None

    def reserve(self, feature: str, amount: float, budget: RequestBudget | None = None) -> Reservation:
        """Hold ``amount`` USD of ``feature``'s daily budget, or raise BudgetExceeded / RequestLimitExceeded."""
        if feature not in FEATURES:
            raise ValueError(f"unknown feature {feature!r}")
        amount = max(0.0, float(amount))
        if budget is not None and not budget.room_for(amount):
            raise RequestLimitExceeded(budget.committed_usd + amount, budget.limit_usd)
        ceiling = self.settings.ceiling_for(feature)
        day = self._day()
        alert = None
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO budgets (feature, day) VALUES (%s, %s) ON CONFLICT DO NOTHING", (feature, day))
            spent, reserved, tripped, tripped_ceiling = conn.execute(
                "SELECT spent_usd, reserved_usd, tripped, tripped_ceiling FROM budgets WHERE feature = %s AND day = %s FOR UPDATE",
                (feature, day),
            ).fetchone()
            if tripped and tripped_ceiling is not None and ceiling > tripped_ceiling:
                tripped = False  # the ceiling was raised since it tripped: open again (a new crossing alerts again)
                conn.execute("UPDATE budgets SET tripped = false WHERE feature = %s AND day = %s", (feature, day))
            fits = spent + reserved + amount <= ceiling + 1e-12
            error = None
            quota = self._quota_of(budget)
            if fits and not tripped and quota is not None:
                conn.execute(
                    "INSERT INTO quotas (subject, day) VALUES (%s, %s) ON CONFLICT DO NOTHING", (quota.subject, day)
                )
                held = conn.execute(
                    "UPDATE quotas SET reserved_usd = reserved_usd + %s WHERE subject = %s AND day = %s "
                    "AND spent_usd + reserved_usd + %s <= %s + 1e-12 RETURNING 1",
                    (amount, quota.subject, day, amount, quota.spend_usd),
                ).fetchone()
                if held is None:
                    used = conn.execute(
                        "SELECT spent_usd FROM quotas WHERE subject = %s AND day = %s", (quota.subject, day)
                    ).fetchone()[0]
                    error = QuotaExceeded(
                        quota.subject, "spend", round(used, 6), quota.spend_usd, self._seconds_to_midnight()
                    )
            if error is None and (tripped or not fits):  # (a quota refusal leaves the feature's ceiling alone)
                if not tripped:
                    conn.execute(
                        "UPDATE budgets SET tripped = true, tripped_at = now(), alerts = alerts + 1, tripped_ceiling = %s "
                        "WHERE feature = %s AND day = %s",
                        (ceiling, feature, day),
                    )
                    alert = Alert(
                        feature=feature,
                        day=day.isoformat(),
                        spent_usd=spent,
                        reserved_usd=reserved,
                        ceiling_usd=ceiling,
                        refused_usd=amount,
                    )
                error = BudgetExceeded(feature, spent, reserved, ceiling, self._seconds_to_midnight())
            elif error is None:
                conn.execute(
                    "UPDATE budgets SET reserved_usd = reserved_usd + %s WHERE feature = %s AND day = %s",
                    (amount, feature, day),
                )
        if alert is not None:
            self.alerter.fire(alert)  # after the commit: once per crossing
        if error is not None:
            raise error
        if budget is not None:
            budget.committed_usd += amount
        return Reservation(uuid.uuid4().hex, feature, day, amount)

    def settle(
        self,
        reservation: Reservation,
        *,
        cost_usd: float,
        input_tokens: int,
        output_tokens: int,
        model: str,
        budget: RequestBudget | None = None,
    ) -> None:
        """Replace a reservation by the real cost and record the call in ``usage_events``."""
        cost_usd = max(0.0, float(cost_usd))
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE budgets SET reserved_usd = GREATEST(reserved_usd - %s, 0), spent_usd = spent_usd + %s WHERE feature = %s AND day = %s",
                (reservation.amount, cost_usd, reservation.feature, reservation.day),
            )
            quota = self._quota_of(budget)
            if quota is not None:
                conn.execute(
                    "UPDATE quotas SET reserved_usd = GREATEST(reserved_usd - %s, 0), spent_usd = spent_usd + %s WHERE subject = %s AND day = %s",
                    (reservation.amount, cost_usd, quota.subject, reservation.day),
                )
            conn.execute(
                "INSERT INTO usage_events (request_id, feature, user_id, model, input_tokens, output_tokens, cost_usd, reserved_usd) "
                "VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                (
                    budget.request_id if budget else reservation.id,
                    reservation.feature,
                    budget.user_id if budget else None,
                    model,
                    int(input_tokens),
                    int(output_tokens),
                    cost_usd,
                    reservation.amount,
                ),
            )
        if budget is not None:
            budget.committed_usd += cost_usd - reservation.amount
            budget.input_tokens += int(input_tokens)
            budget.output_tokens += int(output_tokens)
            budget.cost_usd += cost_usd
            budget.calls.append(
                {
                    "feature": reservation.feature,
                    "model": model,
                    "input_tokens": int(input_tokens),
                    "output_tokens": int(output_tokens),
                    "cost_usd": cost_usd,
                    "reserved_usd": reservation.amount,
                }
            )

    def release(self, reservation: Reservation, budget: RequestBudget | None = None) -> None:
        """Give a reservation back unused (the call failed before anything was billed)."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE budgets SET reserved_usd = GREATEST(reserved_usd - %s, 0) WHERE feature = %s AND day = %s",
                (reservation.amount, reservation.feature, reservation.day),
            )
            quota = self._quota_of(budget)
            if quota is not None:
                conn.execute(
                    "UPDATE quotas SET reserved_usd = GREATEST(reserved_usd - %s, 0) WHERE subject = %s AND day = %s",
                    (reservation.amount, quota.subject, reservation.day),
                )
        if budget is not None:
            budget.committed_usd -= reservation.amount

    def states(self) -> list[BudgetState]:
        """Today's budget of every feature."""
        day = self._day()
        with self.db.connection() as conn:
            rows = {
                r[0]: r[1:]
                for r in conn.execute(
                    "SELECT feature, spent_usd, reserved_usd, tripped, alerts FROM budgets WHERE day = %s", (day,)
                ).fetchall()
            }
        out = []
        for feature in FEATURES:
            spent, reserved, tripped, alerts = rows.get(feature, (0.0, 0.0, False, 0))
            out.append(BudgetState(feature, day, spent, reserved, self.settings.ceiling_for(feature), tripped, alerts))
        return out

    def totals(self) -> dict[str, dict[str, float]]:
        """All-time tokens and cost per feature (for the Prometheus counters)."""
        with self.db.connection() as conn:
            rows = conn.execute(
                "SELECT feature, count(*), COALESCE(sum(input_tokens),0), COALESCE(sum(output_tokens),0), COALESCE(sum(cost_usd),0) "
                "FROM usage_events GROUP BY feature"
            ).fetchall()
        return {r[0]: {"calls": r[1], "input_tokens": r[2], "output_tokens": r[3], "cost_usd": r[4]} for r in rows}
