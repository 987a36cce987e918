"""Untrusted input is handled in linear time: every guard and parser gets 100 kB and 1 MB adversarial inputs,
and the 1 MB run may cost at most 20x the 100 kB one (linear: ~10x; quadratic: ~100x).

CPU time of this process is compared (``time.process_time``), within one run, never an absolute time.
The inputs are the shapes that made the old patterns quadratic (a run of newlines under ``^\\s*`` with
``re.M``; ``[a](`` followed by spaces; ``![`` repeated) and their relatives for each parser.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from capstone.guard.injection import screen
from capstone.guard.links import clean
from capstone.guard.output import guard_response, leaks_canary
from capstone.guard.sanitize import sanitize_fragment
from capstone.guard.text import squash
from capstone.rag.connectors import html_to_text, notion_export, parse_upload, pdf_to_text

SMALL, LARGE = 100_000, 1_000_000
MAX_RATIO = 20
CANARY = "CANARY-5b1e0c7d9a24"

#: name -> n -> an adversarial text of about n characters
TEXTS: dict[str, Callable[[int], str]] = {
    "newlines": lambda n: "\n" * n,
    "link-open-spaces": lambda n: "[a](" + " " * n,
    "image-openers": lambda n: "![" * (n // 2) + "](x)",
    "angle-tags": lambda n: "<a " * (n // 3),
    "whitespace-runs": lambda n: ("your" + " " * 996) * (n // 1000),
    "base64-run": lambda n: "QUJD" * (n // 4),
    "hex-pairs": lambda n: "ab " * (n // 3),
    "spaced-letters": lambda n: "a " * (n // 2),
}

GUARDS: dict[str, Callable[[str], object]] = {
    "screen-question": lambda t: screen(t),
    "screen-document": lambda t: screen(t, deep=False),
    "canary": lambda t: leaks_canary(t, CANARY),
    "links": lambda t: clean(t, ["docs.python.org"]),
    "answer-and-quote": lambda t: guard_response(
        t, [{"marker": "[1]", "quote": t[:SMALL], "source": "s", "chunk_id": "c"}], CANARY, ["docs.python.org"]
    ),
    "fold": squash,
}


def _cpu(fn: Callable[[], object]) -> float:
    """CPU seconds of this thread only: servers other tests left running in the process do not count."""
    started = time.thread_time()
    fn()
    return time.thread_time() - started


def assert_linear(make: Callable[[int], object], run: Callable[[object], object]) -> None:
    small_input, large_input = make(SMALL), make(LARGE)
    small = min(_cpu(lambda: run(small_input)) for _ in range(3))
    large = min(_cpu(lambda: run(large_input)) for _ in range(2))
    ratio = large / max(small, 1e-3)
    assert ratio < MAX_RATIO, f"1 MB took {large:.3f} s, 100 kB {small:.3f} s: ratio {ratio:.1f} (linear is ~10)"


@pytest.mark.parametrize("guard", sorted(GUARDS))
@pytest.mark.parametrize("text", sorted(TEXTS))
def test_guards_are_linear(guard, text):
    assert_linear(TEXTS[text], GUARDS[guard])


def test_the_old_quadratic_inputs_are_linear_in_the_screen_and_the_link_cleaner():
    assert_linear(lambda n: "\n" * n, screen)  # the `^\s*` under re.M case
    assert_linear(lambda n: "[a](" + " " * n, lambda t: clean(t, []))  # the link regex case
    assert_linear(lambda n: '<img src="https://evil.example/p.png" onerror="x">' * (n // 50), sanitize_fragment)


@pytest.mark.parametrize("text", ["newlines", "link-open-spaces", "image-openers", "angle-tags", "whitespace-runs"])
def test_markdown_uploads_are_linear(text):
    assert_linear(
        lambda n: ("---\ntitle: t\n---\n# Page\n\nSome text.\n" + TEXTS[text](n)).encode(),
        lambda data: parse_upload("page.md", data, source="upload/u/page.md"),
    )


@pytest.mark.parametrize(
    "html",
    [
        lambda n: "<div>" * (n // 5),
        lambda n: "<" * n,
        lambda n: "<p>" + "<b>a</b>" * (n // 8) + "</p>",
    ],
    ids=["unclosed-divs", "lt-run", "many-tags"],
)
def test_confluence_html_is_linear(html):
    assert_linear(html, html_to_text)


@pytest.mark.parametrize("text", ["newlines", "link-open-spaces", "image-openers"])
def test_notion_pages_are_linear(text, tmp_path_factory):
    def export(n: int):
        folder = tmp_path_factory.mktemp("notion")
        (folder / "Page 0123456789abcdef0123456789abcdef.md").write_text(
            "# Page\n\n" + TEXTS[text](n), encoding="utf-8"
        )
        return folder

    assert_linear(export, notion_export)


@pytest.mark.parametrize(
    "content",
    [
        lambda n: b"BT /F1 12 Tf 72 720 Td (" + b"a " * (n // 2) + b") Tj ET",
        lambda n: b"BT /F1 12 Tf " + b"0 -14 Td (line) Tj " * (n // 19) + b"ET",
    ],
    ids=["one-long-string", "many-lines"],
)
def test_pdf_text_is_linear(content, make_pdf):
    assert pdf_to_text(make_pdf(content(1000)), "t.pdf")[1].strip()  # the PDFs have a text layer
    assert_linear(lambda n: make_pdf(content(n)), lambda data: pdf_to_text(data, "t.pdf"))
