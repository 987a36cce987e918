"""Unicode folding shared by the guards: one reading of a text for comparisons, whatever its spelling.

:func:`fold` applies, in order: NFKC (full-width and mathematical letters become ASCII, ligatures
split), removal of zero-width, bidi-control and tag characters, the Latin look-alikes of
:data:`CONFUSABLES` (Cyrillic, Greek, Armenian and Cherokee letters that Unicode's
``confusables.txt`` lists as confusable with a Latin letter), and case folding.
:func:`squash` then keeps letters and digits only, so separators (``C-A-N-A-R-Y``, spaces, dots,
underscores) stop mattering; with ``leet=True`` it first maps digits and symbols that stand for
letters (:func:`unleet`).
Every function is one pass over the text (linear time).

Example::

    >>> squash("Ｃ-а-n-а-r-у")          # full-width C, Cyrillic а and у, hyphens
    'canary'
    >>> squash("C@N4RY-5b1", leet=True)
    'canarysbi'
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["CONFUSABLES", "unconfuse", "fold", "squash", "unleet", "strip_invisible"]

#: Non-Latin letters confusable with a Latin letter (from Unicode's confusables.txt, Latin targets only).
CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a",
    "в": "b",
    "е": "e",
    "ё": "e",
    "һ": "h",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "ѕ": "s",
    "ԁ": "d",
    "ԛ": "q",
    "ԝ": "w",
    "ѵ": "v",
    "ɡ": "g",
    "ո": "n",
    "ӏ": "l",
    "ү": "y",
    "ԍ": "g",
    "ь": "b",
    "г": "r",
    "п": "n",
    "ш": "w",
    "А": "A",
    "В": "B",
    "Е": "E",
    "Ё": "E",
    "З": "3",
    "К": "K",
    "М": "M",
    "Н": "H",
    "О": "O",
    "Р": "P",
    "С": "C",
    "Т": "T",
    "У": "Y",
    "Х": "X",
    "Ү": "Y",
    "І": "I",
    "Ї": "I",
    "Ј": "J",
    "Ѕ": "S",
    "Ԛ": "Q",
    "Ԝ": "W",
    "Ԁ": "D",
    "Ӏ": "I",
    "Ь": "b",
    # Greek
    "Α": "A",
    "Β": "B",
    "Ε": "E",
    "Ζ": "Z",
    "Η": "H",
    "Ι": "I",
    "Κ": "K",
    "Μ": "M",
    "Ν": "N",
    "Ο": "O",
    "Ρ": "P",
    "Τ": "T",
    "Υ": "Y",
    "Χ": "X",
    "Ϲ": "C",
    "Ϳ": "J",
    "α": "a",
    "β": "b",
    "γ": "y",
    "ε": "e",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ϲ": "c",
    "ϳ": "j",
    "ω": "w",
    "η": "n",
    # Armenian, Cherokee and Latin-extended look-alikes
    "օ": "o",
    "ս": "u",
    "ց": "g",
    "զ": "q",
    "հ": "h",
    "Տ": "S",
    "Օ": "O",
    "Ꭺ": "A",
    "Ᏼ": "B",
    "Ꮯ": "C",
    "Ꭼ": "E",
    "Ꮋ": "H",
    "Ꭻ": "J",
    "Ꮶ": "K",
    "Ꮇ": "M",
    "Ꮲ": "P",
    "Ꮪ": "S",
    "Ꭲ": "T",
    "Ꮃ": "W",
    "Ꮓ": "Z",
    "ı": "i",
    "ȷ": "j",
    "ℓ": "l",
    "ǀ": "l",
    "ɑ": "a",
    "ɩ": "i",
    "ʏ": "y",
    "ᴠ": "v",
    "ᴡ": "w",
    "ᴢ": "z",
    "ꓲ": "I",
    "ꓳ": "O",
    "ꓴ": "U",
}
_CONFUSABLE_TABLE = str.maketrans(CONFUSABLES)
_INVISIBLE = re.compile(
    r"[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff]"
)
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
#: Digits and symbols read as letters (both sides of a comparison go through the same map).
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "l": "i",
        "|": "i",
        "!": "i",
        "3": "e",
        "4": "a",
        "@": "a",
        "5": "s",
        "$": "s",
        "7": "t",
        "+": "t",
        "8": "b",
        "9": "g",
        "6": "g",
        "2": "z",
    }
)


def strip_invisible(text: str) -> str:
    """``text`` without zero-width, bidi-control, variation-selector and tag characters."""
    return _INVISIBLE.sub("", text)


def unconfuse(text: str) -> str:
    """NFKC, invisible characters removed, Latin look-alikes mapped (case kept)."""
    return strip_invisible(unicodedata.normalize("NFKC", text)).translate(_CONFUSABLE_TABLE)


def fold(text: str) -> str:
    """:func:`unconfuse`, then case folded."""
    return unconfuse(text).casefold()


def squash(text: str, *, leet: bool = False) -> str:
    """:func:`fold` (and :func:`unleet` when ``leet``), then only ASCII letters and digits kept."""
    folded = fold(text)
    return _NOT_ALNUM.sub("", unleet(folded) if leet else folded)


def unleet(text: str) -> str:
    """Map the digits and symbols that stand for letters (``0`` -> ``o``, ``4`` -> ``a``, ``l``/``1`` -> ``i``)."""
    return text.translate(_LEET)
