"""Token prices and the cost of a call.

Prices come from ``prices.toml`` beside this file (overrides, the offline stand-in, local
models) and otherwise from the table bundled in the ``genai-prices`` package. Every price
carries the date it was checked.

Example::

    >>> table = default_price_table()
    >>> table.price("offline", "offline-reference").stand_in
    True
    >>> round(table.cost("openai", "gpt-4o-mini", Usage(input_tokens=1_000_000)), 4)
    0.15
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import ipaddress
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import UnknownPriceError
from .types import Usage

__all__ = [
    "PRICES_PATH",
    "LOCAL_PROVIDER",
    "Price",
    "PriceTable",
    "load_price_table",
    "default_price_table",
    "is_loopback",
    "served_price",
]

PRICES_PATH = Path(__file__).with_name("prices.toml")
LOCAL_PROVIDER = "local"  # the price-table provider of an unpriced model on a loopback server: $0 per token
_MTOK = 1_000_000


@dataclass(frozen=True)
class Price:
    """USD per million tokens for one model, with where the number came from and when."""

    provider: str
    model: str
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None
    cache_write_per_mtok: float | None
    date: dt.date
    source: str
    stand_in: bool = False
    note: str = ""

    def cost(self, usage: Usage) -> float:
        """USD for ``usage``; cached reads and cache writes use their own rates when known."""
        cached = usage.cached_tokens
        written = usage.cache_write_tokens
        uncached = max(usage.input_tokens - cached - written, 0)
        cached_rate = self.input_per_mtok if self.cached_input_per_mtok is None else self.cached_input_per_mtok
        write_rate = self.input_per_mtok if self.cache_write_per_mtok is None else self.cache_write_per_mtok
        total = (
            uncached * self.input_per_mtok
            + cached * cached_rate
            + written * write_rate
            + usage.output_tokens * self.output_per_mtok
        )
        return total / _MTOK


def _as_float(value: Any) -> float | None:
    if value is None:
        return None
    base = getattr(value, "base", value)  # genai-prices TieredPrices: the rate below the first tier
    return float(base)


class PriceTable:
    """Looks prices up: the override entries first (glob on the model name), then genai-prices."""

    def __init__(self, overrides: list[Price], genai_version: str, genai_checked: dt.date) -> None:
        self.overrides = overrides
        self.genai_version = genai_version
        self.genai_checked = genai_checked

    def _override(self, provider: str, model: str) -> Price | None:
        for price in self.overrides:
            if price.provider == provider and fnmatch.fnmatchcase(model, price.model):
                return price
        return None

    def _genai_model(self, provider: str, model: str):
        from genai_prices import data_snapshot

        try:
            return data_snapshot.get_snapshot().find_provider_model(model, None, provider, None)[1]
        except LookupError:
            return None

    def price(self, provider: str, model: str) -> Price:
        """The price of ``provider``/``model``; raises :class:`UnknownPriceError` when none is known."""
        found = self._override(provider, model)
        if found is not None:
            return found
        info = self._genai_model(provider, model)
        if info is None:
            raise UnknownPriceError(f"no price known for {provider}:{model}; add a [[price]] entry to {PRICES_PATH}")
        prices = info.get_prices(dt.datetime.now(dt.UTC))
        return Price(
            provider=provider,
            model=info.id,
            input_per_mtok=_as_float(getattr(prices, "input_mtok", None)) or 0.0,
            output_per_mtok=_as_float(getattr(prices, "output_mtok", None)) or 0.0,
            cached_input_per_mtok=_as_float(getattr(prices, "cache_read_mtok", None)),
            cache_write_per_mtok=_as_float(getattr(prices, "cache_write_mtok", None)),
            date=self.genai_checked,
            source=f"genai-prices {self.genai_version}",
        )

    def cost(self, provider: str, model: str, usage: Usage) -> float:
        """USD for ``usage`` on ``provider``/``model`` (genai-prices' tiers applied where it has them)."""
        found = self._override(provider, model)
        if found is not None:
            return found.cost(usage)
        if self._genai_model(provider, model) is None:
            self.price(provider, model)  # raises UnknownPriceError with the hint
        from genai_prices import Usage as GenaiUsage
        from genai_prices import calc_price

        counts = {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        }
        result = calc_price(GenaiUsage(**{k: v for k, v in counts.items() if v}), model, provider_id=provider)
        return float(Decimal(result.total_price))


def load_price_table(path: Path | str = PRICES_PATH) -> PriceTable:
    """Read a prices file (format: see the comments in ``prices.toml``)."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    overrides = []
    for entry in data.get("price", []):
        date = entry.get("date")
        if not isinstance(date, dt.date):
            raise ValueError(f"{path}: price {entry.get('provider')}:{entry.get('model')} needs a date")
        overrides.append(
            Price(
                provider=entry["provider"],
                model=entry["model"],
                input_per_mtok=float(entry["input"]),
                output_per_mtok=float(entry["output"]),
                cached_input_per_mtok=_as_float(entry.get("cached_input")),
                cache_write_per_mtok=_as_float(entry.get("cache_write")),
                date=date,
                source=Path(path).name,
                stand_in=bool(entry.get("stand_in", False)),
                note=" ".join(str(entry.get("note", "")).split()),
            )
        )
    meta = data.get("genai_prices", {})
    from importlib.metadata import version

    return PriceTable(overrides, version("genai-prices"), meta.get("checked", dt.date.today()))


@lru_cache(maxsize=1)
def default_price_table() -> PriceTable:
    """The table read from ``prices.toml`` beside this module (read once)."""
    return load_price_table(PRICES_PATH)


def is_loopback(base_url: str | None) -> bool:
    """True when ``base_url`` points at this machine (127.0.0.0/8, ::1 or localhost).

    >>> is_loopback("http://127.0.0.1:8080/v1"), is_loopback("https://api.openai.com/v1")
    (True, False)
    """
    if not base_url:
        return False
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def served_price(table: PriceTable, provider: str, model: str, base_url: str | None) -> Price:
    """The price of ``model`` behind ``base_url``: the table's, else $0 on this machine, else UnknownPriceError.

    A model no entry knows costs nothing per token when its server is on a loopback address (the ``local``
    entry of ``prices.toml``: its cost is its compute time); anywhere else it is refused, naming the server.
    """
    try:
        return table.price(provider, model)
    except UnknownPriceError:
        if not is_loopback(base_url):
            where = f"the server at {base_url}" if base_url else f"the {provider} API"
            raise UnknownPriceError(
                f"no price known for {provider}:{model} on {where}; only a model served on this machine "
                f"(a loopback base URL) is priced at $0 without an entry: add a [[price]] entry to {PRICES_PATH.name}"
            ) from None
    local = table.price(LOCAL_PROVIDER, model)
    return dataclasses.replace(local, model=model, source=f"{local.source}: served at {base_url}")
