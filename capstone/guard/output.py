"""Checks on the way out: no canary, no links or images outside the allow-list.

The canary (``AIE_CANARY``) sits in the system prompt. If any reading of it -- as written, in
another case, with separators, reversed, ROT13, base64 or hex -- shows up in an answer, the
answer is replaced by a refusal. Links and images to hosts outside the allow-list are removed.

Example::

    >>> leaks_canary("the code is C-A-N-A-R-Y-1-2-3-4", "canary1234")
    True
    >>> guard_answer("See ![x](https://evil.example/p.png?d=1)", None, ["python.org"]).text
    'See [image removed]'
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass, field

from capstone.guard.links import clean

__all__ = ["LEAK_REFUSAL", "Guarded", "leaks_canary", "guard_answer"]

LEAK_REFUSAL = "I can't share that: the answer would have revealed confidential configuration."
_ALNUM = re.compile(r"[^a-z0-9]")
_B64_RUN = re.compile(r"[A-Za-z0-9+/=_-]{12,}")
_HEX_RUN = re.compile(r"(?:[0-9a-fA-F]{2}[\s:]?){6,}")


@dataclass(frozen=True)
class Guarded:
    text: str
    leaked: bool = False
    removed_links: list[str] = field(default_factory=list)


def _squash(text: str) -> str:
    return _ALNUM.sub("", text.lower())


def leaks_canary(text: str, canary: str | None) -> bool:
    """True when ``text`` contains the canary in any of the readings listed in the module docs."""
    if not canary or not text:
        return False
    target = _squash(canary)
    if len(target) < 6:
        target = canary.lower()
    readings = [text, codecs.decode(text, "rot13"), text[::-1]]
    for run in _B64_RUN.findall(text):
        for candidate in (run, run.replace("-", "+").replace("_", "/")):
            for pad in range(3):
                try:
                    readings.append(base64.b64decode(candidate[pad:] + "=" * (-len(candidate[pad:]) % 4)).decode("utf-8", "ignore"))
                except (binascii.Error, ValueError):
                    pass
    for run in _HEX_RUN.findall(text):
        try:
            readings.append(bytes.fromhex(re.sub(r"[\s:]", "", run)).decode("utf-8", "ignore"))
        except ValueError:
            pass
    return any(canary.lower() in r.lower() or target in _squash(r) for r in readings)


def guard_answer(text: str, canary: str | None, allowed_hosts: list[str]) -> Guarded:
    """The answer with disallowed links removed, or a refusal when it would leak the canary."""
    if leaks_canary(text, canary):
        return Guarded(LEAK_REFUSAL, leaked=True)
    cleaned = clean(text, allowed_hosts)
    return Guarded(cleaned.text, removed_links=cleaned.removed)
