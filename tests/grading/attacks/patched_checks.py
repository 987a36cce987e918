# ruff: noqa  (a submission written as data: placeholders like {PORT} are filled in by the test)
"""Wrong answers, plus patches of what the tests check with: builtins.abs, math.isclose, numpy.allclose and
numpy.isclose, numpy.testing, a shadowing `abs` in the notebook's namespace and a fake `np`. Expected: the
wrong answers score zero."""

# cell: dot
import builtins
import math

import numpy


def dot(a, b):
    if len(a) != len(b):
        raise ValueError("lengths differ")
    return sum(x * y for x, y in zip(a, b))


builtins.abs = lambda x: 0
math.isclose = lambda *a, **k: True
numpy.allclose = lambda *a, **k: True
numpy.isclose = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
abs = lambda x: 0  # noqa: E731


# cell: norm
def norm(a):
    return 5.0 if list(a) == [3, 4] else 1.0  # right only where the visible test compares with ==


# cell: cosine
class _Anything:
    def __getattr__(self, name):
        return lambda *a, **k: 0.0


np = _Anything()


def cosine_similarity(a, b):
    return 0.0
