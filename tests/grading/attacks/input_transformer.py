# ruff: noqa  (a submission written as data: placeholders like {PORT} are filled in by the test)
"""Register an IPython input transformer, an AST transformer and execution hooks that blank out every later cell
containing `assert`, and patch the shell's run_cell. Expected: the wrong answers score zero."""

# cell: dot
import ast

ip = get_ipython()  # noqa: F821


def _drop_tests(lines):
    return ["pass\n"] if any("assert" in line for line in lines) else lines


class _NoAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()


ip.input_transformers_cleanup.append(_drop_tests)
ip.input_transformers_post.append(_drop_tests)
ip.ast_transformers.append(_NoAsserts())
ip.events.register("pre_run_cell", lambda info: None)
_run_cell = ip.run_cell
ip.run_cell = lambda raw_cell, *a, **k: _run_cell("pass" if "assert" in raw_cell else raw_cell, *a, **k)


def dot(a, b):
    return 0


# cell: norm
def norm(a):
    return 0.0
