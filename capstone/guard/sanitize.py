"""Raw HTML through a maintained sanitizer (``nh3``, the Rust ``ammonia`` library).

:func:`sanitize_fragment` handles raw HTML found inside Markdown (an inline tag or an HTML block of a
document or an answer), for :func:`capstone.guard.links.clean`. Only formatting tags without
attributes survive: no event handlers (``onerror=``), no ``style`` (so no CSS ``url()``), no ``<img>``, ``<input type=image>``,
``<iframe>``, ``<form>``, ``<svg>``, ``<script>``; a tag outside the list is removed and its text
kept. An attribute-less tag of no known danger (``<b>``, ``</div>``, ``<target>`` in a grammar
rule) is inert in every browser and is left as written.

Example::

    >>> sanitize_fragment('<img src="https://evil.example/p.png" onerror="alert(1)">')
    ''
    >>> sanitize_fragment('<div style="background:url(https://evil.example/x)">hi</div>')
    '<div>hi</div>'
"""

from __future__ import annotations

import re

import nh3

__all__ = ["FORMATTING_TAGS", "DANGEROUS_TAGS", "sanitize_fragment", "is_inert_tag"]

#: Tags that carry no URL, script or style: kept (without attributes) in documents and answers.
FORMATTING_TAGS = frozenset(
    {
        "b",
        "i",
        "em",
        "strong",
        "code",
        "kbd",
        "samp",
        "var",
        "sub",
        "sup",
        "small",
        "mark",
        "del",
        "ins",
        "s",
        "u",
        "abbr",
        "cite",
        "q",
        "br",
        "p",
        "span",
        "div",
        "pre",
        "blockquote",
        "hr",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
        "caption",
    }
)
#: Elements that fetch, run, embed or submit something, or change how the page parses.
DANGEROUS_TAGS = frozenset(
    {
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "form",
        "input",
        "button",
        "textarea",
        "select",
        "option",
        "link",
        "meta",
        "base",
        "svg",
        "math",
        "img",
        "image",
        "picture",
        "video",
        "audio",
        "source",
        "track",
        "template",
        "noscript",
        "portal",
        "xmp",
        "plaintext",
        "title",
        "a",
        "area",
        "map",
        "marquee",
        "isindex",
        "noembed",
        "noframes",
        "listing",
        "slot",
        "dialog",
        "details",
        "summary",
        "canvas",
    }
)
# An open or closing tag with a name only: "<b>", "</div>", "<target >" (bounded: linear).
_BARE_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9-]{0,40})[ \t]{0,20}/?>")


def is_inert_tag(html: str) -> bool:
    """True for a lone attribute-less tag of no dangerous element (a browser renders it as nothing)."""
    match = _BARE_TAG.fullmatch(html.strip())
    return bool(match) and match.group(1).lower() not in DANGEROUS_TAGS


def sanitize_fragment(html: str) -> str:
    """Raw HTML reduced to formatting tags without attributes; everything else removed, text kept."""
    if is_inert_tag(html):
        return html
    return nh3.clean(html, tags=set(FORMATTING_TAGS), attributes={}, strip_comments=True, link_rel=None)
