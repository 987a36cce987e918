"""The ledger's refusals, shared by the ledger and the quotas (the API maps them to 429 and 402)."""

from __future__ import annotations

__all__ = ["BudgetExceeded", "RequestLimitExceeded"]


class BudgetExceeded(Exception):
    """The daily ceiling of a feature is reached: paid work is refused (HTTP 429)."""

    def __init__(self, feature: str, spent: float, reserved: float, ceiling: float, retry_after: int) -> None:
        super().__init__(
            f"daily cost ceiling reached for '{feature}': spent ${spent:.6f} (+${reserved:.6f} in flight) of "
            f"${ceiling:.6f}; paid work resumes at 00:00 UTC"
        )
        self.feature, self.spent, self.reserved, self.ceiling, self.retry_after = (
            feature,
            spent,
            reserved,
            ceiling,
            retry_after,
        )


class RequestLimitExceeded(Exception):
    """One request would cost more than the per-request limit (HTTP 402)."""

    def __init__(self, needed: float, limit: float) -> None:
        super().__init__(f"this request would cost up to ${needed:.6f}, over the per-request limit of ${limit:.6f}")
        self.needed, self.limit = needed, limit
