"""One text pipeline: the offline model and BM25 cut a question into the same terms, with one maintained stemmer,
and each shared definition (stop words, stemmer, front-matter parser, EmbedFn, retrieval modes) has one home."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import Stemmer

from capstone.rag import lexical
from curriculum.llm import offline_qa, offline_tools, text
from curriculum.paths import REPO_ROOT

PACKAGES = ("curriculum", "capstone", "autograder")


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO_ROOT / package).rglob("*.py"))


def test_offline_model_and_bm25_use_the_same_terms():
    assert lexical.tokenize is text.content_terms
    assert offline_qa.content_terms is text.content_terms and offline_tools.content_terms is text.content_terms
    question = "What does the with statement do, and is it in a loop?"
    assert lexical.tokenize(question) == ["with", "statement", "and", "is", "in", "loop"]


@pytest.mark.parametrize("word", ["terminating", "assertions", "libraries", "generators", "comparisons", "happily"])
def test_stems_are_snowball_english(word):
    assert text.stem(word) == Stemmer.Stemmer("english").stemWord(word)


def test_identifiers_and_operators_stay_whole():
    assert text.content_terms("__enter__ and __exit__, x2, a << b, x ** 2, a // b, f() -> int, y := 3, ~x") == [
        "__enter__",
        "and",
        "__exit__",
        "x2",
        "<<",
        "**",
        "2",
        "//",
        "->",
        "int",
        ":=",
        "3",
        "~",
    ]


def test_python_keywords_are_never_stop_words():
    import keyword

    assert not (set(keyword.kwlist) | set(keyword.softkwlist)) & text.STOPWORDS


def _top_level_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    names.add(target.id)
    return names


@pytest.mark.parametrize(
    "name, home",
    [
        ("STOPWORDS", "curriculum/llm/text.py"),
        ("stem", "curriculum/llm/text.py"),
        ("_stem", None),
        ("_split_front_matter", None),
        ("split_front_matter", "curriculum/frontmatter.py"),
        ("EmbedFn", "curriculum/embeddings.py"),
        ("RetrievalMode", "capstone/rag/modes.py"),
    ],
)
def test_each_shared_definition_has_one_home(name, home):
    homes = [p.relative_to(REPO_ROOT).as_posix() for p in _modules() if name in _top_level_names(p)]
    assert homes == ([home] if home else []), homes


def test_the_retrieval_mode_literal_is_written_once():
    spelled = [
        p.relative_to(REPO_ROOT).as_posix()
        for p in _modules()
        if 'Literal["hybrid", "bm25", "dense"]' in p.read_text(encoding="utf-8")
    ]
    assert spelled == ["capstone/rag/modes.py"]


def test_modes_docstring_example():
    import doctest

    from capstone.rag import modes

    result = doctest.testmod(modes)
    assert result.attempted > 0 and result.failed == 0
