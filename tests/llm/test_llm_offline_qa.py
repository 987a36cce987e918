"""The offline reference model answering from sources: citations, abstention, calibration.

``CASES`` is the calibration set of ``offline_qa.THRESHOLD``: answerable questions (with the
passage and a phrase the answer must quote) and out-of-scope ones that must abstain. Several
answerable cases put two passages with shared words side by side with the answer in the
second, where citing the wrong passage would be easy.
"""

from __future__ import annotations

import re

import pytest

from curriculum.llm import ABSTAIN_PREFIX, get_model
from curriculum.llm import offline_qa as qa

PASSAGES = {
    "assert": "Assert statements are a convenient way to insert debugging assertions into a program. "
    "The simple form, assert expression, raises AssertionError when the expression is false. "
    "Assertions are skipped when Python runs with the -O option, because __debug__ is then False.",
    "pass": "pass is a null operation: when it is executed, nothing happens. It is useful as a "
    "placeholder when a statement is required syntactically but no code needs to be executed.",
    "break": "break may only occur syntactically nested in a for or while loop. It terminates the "
    "nearest enclosing loop, skipping the optional else clause if the loop has one. When break "
    "passes control out of a try statement with a finally clause, that finally clause is executed "
    "before really leaving the loop.",
    "continue": "continue may only occur syntactically nested in a for or while loop. It continues "
    "with the next cycle of the nearest enclosing loop.",
    "del": "Deletion of a target list recursively deletes each target, from left to right. Deletion "
    "of a name removes the binding of that name from the local or global namespace. Trying to "
    "delete an unbound name raises a NameError.",
    "return": "return may only occur syntactically nested in a function definition. If an expression "
    "list is present, it is evaluated, else None is substituted. return leaves the current function "
    "call with the expression list as return value.",
    "global": "The global statement is a declaration which holds for the entire current code block. "
    "It means that the listed identifiers are to be interpreted as globals. Names listed in a global "
    "statement must not be used in the same code block textually preceding that global statement.",
    "lambda": "Lambda expressions are used to create anonymous functions. The expression lambda "
    "parameters: expression yields a function object. Functions created with lambda expressions "
    "cannot contain statements or annotations.",
    "while": "The while statement is used for repeated execution as long as an expression is true. "
    "It repeatedly tests the expression and, if it is true, executes the first suite. If the "
    "expression is false, the suite of the else clause, if present, is executed and the loop "
    "terminates.",
    "raise": "If no expressions are present, raise re-raises the exception that is currently being "
    "handled. Otherwise, raise evaluates the first expression as the exception object. The from "
    "clause is used for exception chaining.",
    "import": "The basic import statement is executed in two steps: find a module, loading and "
    "initializing it if necessary, then define a name or names in the local namespace. When a "
    "module is first imported, Python searches for it and, if found, creates a module object.",
    "with": "The with statement is used to wrap the execution of a block with methods defined by a "
    "context manager. The context manager's __exit__ method is invoked even if the block raised an "
    "exception.",
}

# (question, passages in prompt order, number of the passage holding the answer, phrase to quote)
ANSWERABLE = [
    ("What does the pass statement do?", ["assert", "pass", "del"], 2, "null operation"),
    ("What happens when an assert expression is false?", ["pass", "assert", "while"], 2, "raises AssertionError"),
    ("Does break run the else clause of a loop?", ["continue", "break"], 2, "skipping the optional else clause"),
    ("What does continue do?", ["break", "continue"], 2, "next cycle"),
    ("What error is raised when deleting an unbound name?", ["del", "global"], 1, "raises a NameError"),
    (
        "What value does a function return when return has no expression?",
        ["lambda", "return"],
        2,
        "None is substituted",
    ),
    ("Can a lambda function contain statements?", ["return", "lambda"], 2, "cannot contain statements"),
    ("When is the else clause of a while loop executed?", ["break", "while"], 2, "suite of the else clause"),
    ("How does raise without an expression behave?", ["raise", "assert"], 1, "re-raises the exception"),
    ("What are the two steps of the import statement?", ["with", "import"], 2, "two steps"),
    (
        "Is the __exit__ method called if the block raises an exception?",
        ["raise", "with"],
        2,
        "__exit__ method is invoked",
    ),
    ("When are assertions skipped?", ["assert", "break"], 1, "-O option"),
    ("How do I stop a loop early?", ["pass", "break", "return"], 2, "terminates the nearest enclosing loop"),
    ("Which exception does a failed assertion raise?", ["del", "assert"], 2, "AssertionError"),
    ("What does global mean for the listed names?", ["del", "global"], 2, "interpreted as globals"),
]
OUT_OF_SCOPE = [
    ("What is the capital of France?", ["assert", "pass", "del"]),
    ("How do I install numpy with pip?", ["import", "with"]),
    ("Who created the Python language?", ["lambda", "return", "global"]),
    ("What is the time complexity of sorting a list?", ["while", "break", "continue"]),
    ("How do I declare a constant in Python?", ["global", "del"]),
    ("How do I read a file line by line?", ["with", "import"]),
    ("What does the yield statement do?", ["return", "lambda"]),
    ("How do I sort a dictionary by value?", ["lambda", "return"]),
    ("What is a decorator?", ["lambda", "return", "global"]),
    ("How many bytes does an integer use?", ["del", "pass", "assert"]),
]

MARKER = re.compile(r"\[(\d+)\]")


def numbered_prompt(question: str, keys: list[str]) -> str:
    lines = [f"[{i}] (source: python-reference/{key}) {PASSAGES[key]}" for i, key in enumerate(keys, 1)]
    return "Answer from the sources below and cite them.\n\n" + "\n".join(lines) + f"\n\nQuestion: {question}"


@pytest.fixture(scope="module")
def model(warm_embedder):
    return get_model("offline")


def ask(model, question: str, keys: list[str]) -> str:
    return model.complete([{"role": "user", "content": numbered_prompt(question, keys)}]).text


def quoted_sentences(answer: str) -> list[tuple[str, int]]:
    """(sentence, cited passage number) pairs of an answer written as 'sentence [n] sentence [m]'."""
    parts = MARKER.split(answer)
    return [(parts[i].strip(), int(parts[i + 1])) for i in range(0, len(parts) - 1, 2)]


@pytest.mark.parametrize(("question", "keys", "source", "phrase"), ANSWERABLE, ids=[c[0] for c in ANSWERABLE])
def test_answerable_question_quotes_the_answer_and_cites_its_passage(model, question, keys, source, phrase):
    answer = ask(model, question, keys)
    assert not answer.startswith(ABSTAIN_PREFIX), answer
    quotes = quoted_sentences(answer)
    assert quotes, answer
    holding = [number for sentence, number in quotes if phrase in sentence]
    assert holding == [source], answer


@pytest.mark.parametrize(("question", "keys"), OUT_OF_SCOPE, ids=[c[0] for c in OUT_OF_SCOPE])
def test_out_of_scope_question_abstains_without_citations(model, question, keys):
    answer = ask(model, question, keys)
    assert answer.startswith(ABSTAIN_PREFIX), answer
    assert not MARKER.search(answer)


@pytest.mark.parametrize(("question", "keys", "source", "phrase"), ANSWERABLE, ids=[c[0] for c in ANSWERABLE])
def test_every_citation_marks_a_sentence_quoted_from_that_passage(model, question, keys, source, phrase):
    answer = ask(model, question, keys)
    for sentence, number in quoted_sentences(answer):
        assert sentence in PASSAGES[keys[number - 1]], (sentence, number)


def test_threshold_separates_answerable_from_out_of_scope_questions(warm_embedder):
    """The calibration behind THRESHOLD: a clear gap on both sides of it."""
    from curriculum.llm.offline import cached_embed

    def best(question: str, keys: list[str]) -> float:
        sources, parsed = qa.find_sources_and_question([{"role": "user", "content": numbered_prompt(question, keys)}])
        return qa.score_sentences(parsed, sources, cached_embed)[0].score

    lowest_answerable = min(best(q, keys) for q, keys, _, _ in ANSWERABLE)
    highest_out_of_scope = max(best(q, keys) for q, keys in OUT_OF_SCOPE)
    assert highest_out_of_scope + 0.05 < qa.THRESHOLD < lowest_answerable - 0.05, (
        highest_out_of_scope,
        lowest_answerable,
    )


def test_answer_quotes_at_most_three_sentences(model):
    answer = ask(model, "When are assertions skipped?", ["assert", "break"])
    assert 1 <= len(quoted_sentences(answer)) <= qa.MAX_SENTENCES


def test_source_tags_with_names_are_read_like_numbered_lines(model):
    prompt = (
        '<source id="4" name="python-reference/del">' + PASSAGES["del"] + "</source>\n"
        "<source id='7' name='python-reference/with'>\n" + PASSAGES["with"] + "\n\nSecond paragraph.</source>\n"
        "What error is raised when deleting an unbound name?"
    )
    answer = model.complete([{"role": "user", "content": prompt}]).text
    assert answer.endswith("[4]") and "NameError" in answer
    assert "[7]" not in answer


def test_sources_in_the_system_message_answer_the_user_question(model):
    messages = [
        {
            "role": "system",
            "content": "Use these sources.\n"
            + "\n".join(f"[{i}] {PASSAGES[k]}" for i, k in enumerate(["continue", "break"], 1)),
        },
        {"role": "user", "content": "What does continue do?"},
    ]
    answer = model.complete(messages).text
    assert "next cycle" in answer and "[1]" in answer and "[2]" not in answer


def test_parse_sources_keeps_names_and_removes_them_from_the_text():
    text = (
        "Instructions first.\n\n[1] (source: wiki/rag) Retrieval adds context.\ncontinued line.\n"
        "[2] Second passage.\nQuestion: What does retrieval add?"
    )
    sources, rest = qa.parse_sources(text)
    assert [(s.number, s.name, s.text) for s in sources] == [
        (1, "wiki/rag", "Retrieval adds context. continued line."),
        (2, "", "Second passage."),
    ]
    assert rest == "Instructions first.\n\nQuestion: What does retrieval add?"


def test_question_is_the_text_after_the_last_question_label():
    messages = [
        {"role": "user", "content": "[1] A passage.\n\nContext aside.\nQuestion: first?\nQuestion: the real one?"}
    ]
    assert qa.find_sources_and_question(messages)[1] == "the real one?"


def test_question_without_label_is_the_last_paragraph_after_the_sources():
    messages = [{"role": "user", "content": "Cite the sources.\n\n[1] A passage.\n\nWhat is in the passage?"}]
    assert qa.find_sources_and_question(messages)[1] == "What is in the passage?"


def test_prompt_with_sources_but_no_question_abstains(model):
    answer = model.complete([{"role": "user", "content": "[1] pass is a null operation."}]).text
    assert answer.startswith(ABSTAIN_PREFIX)


def test_same_prompt_gives_the_same_answer(model):
    prompt = [{"role": "user", "content": numbered_prompt("What does continue do?", ["break", "continue"])}]
    assert model.complete(prompt).text == model.complete(prompt).text
