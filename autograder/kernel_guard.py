"""Kernel-side half of the grader: runs test cells with references bound before any learner code ran.

This file is not imported by the project. The executor (``autograder/executor.py``) sends its source to a
fresh kernel as a silent first cell, before any cell of the notebook, and calls :func:`_aie_install_guard`.
The guard then snapshots what tests rely on and registers a comm target, ``aie.grader``, through which the
executor runs every test cell:

* a test cell never goes through IPython's ``run_cell``, so input transformers, AST transformers, execution
  events and patched shell methods registered by learner code never see or rewrite it (and before a
  released cell the learner left intact runs, the transformers and shell methods are put back as they were);
* before each test the guard restores the modules tests use (``math``, ``numpy``, ``builtins``, the test
  cells' own imports, ...) attribute by attribute, puts the original module objects back in ``sys.modules``,
  and clears trace and profile functions;
* the test runs in the learner's namespace (what it assigns, learner code sees, as in IPython), but while it
  runs the builtins are a pristine copy, the names the released notebook imports are re-imported, and the
  helpers defined by earlier test cells or by released cells the learner left intact are the grader's own
  references; afterwards the learner's own values of those names come back;
* its printed output is captured and dropped (the executor writes a summary instead): what learner code
  prints while a test runs never reaches feedback.

What it cannot do: code in the same process can still reach the guard through the garbage collector, or
inspect the calling frames of a test while it runs. The sandbox around the kernel, not this file, is what
keeps such code away from files, the network and the gradebook.
"""


def _aie_install_guard(config_json):  # noqa: C901  (one closure keeps every reference private)
    import ast
    import builtins
    import io
    import json
    import sys
    import threading

    config = json.loads(config_json)
    _compile, _exec, _eval, _repr, _str = builtins.compile, builtins.exec, builtins.eval, builtins.repr, builtins.str
    _dict, _list, _type, _isinstance, _callable = (
        builtins.dict,
        builtins.list,
        builtins.type,
        builtins.isinstance,
        builtins.callable,
    )
    _parse, _Module, _Expression, _Expr = ast.parse, ast.Module, ast.Expression, ast.Expr
    _StringIO = io.StringIO
    _settrace, _setprofile = sys.settrace, sys.setprofile
    _th_settrace, _th_setprofile = threading.settrace, threading.setprofile
    missing = object()

    from IPython import get_ipython
    from IPython.core.inputtransformer2 import TransformerManager

    shell = get_ipython()
    kernel = shell.kernel
    transformer = TransformerManager()

    for statement in config["preload"]:  # the test cells' own imports, bound now, before learner code
        try:
            _exec(_compile(statement, "<aie-preload>", "exec"), {"__builtins__": builtins})
        except BaseException:  # noqa: BLE001  (a module the notebook builds later, e.g. a package it writes)
            pass
    tops = set(config["base_modules"]) | {s.split(".")[0] for s in config["preload_modules"]}
    watched = {
        n: m
        for n, m in _list(sys.modules.items())
        if m is not None and (n in tops or n.split(".")[0] in config["deep_modules"] or n in config["preload_modules"])
    }
    watched["builtins"] = builtins
    module_snapshots = {n: _dict(vars(m)) for n, m in watched.items()}
    pristine_builtins = _dict(vars(builtins))
    skip_builtins = {"_", "__", "___"}  # IPython's last-result names

    hook_lists = {
        "input_transformers_cleanup": _list(shell.input_transformers_cleanup),
        "input_transformers_post": _list(shell.input_transformers_post),
        "ast_transformers": _list(shell.ast_transformers),
    }
    manager = shell.input_transformer_manager
    class_snapshots = [
        (cls, _dict(vars(cls)))
        for obj in (shell, kernel)
        for cls in _type(obj).__mro__
        if cls.__module__.split(".")[0] in ("IPython", "ipykernel")
    ]
    instance_keys = {id(shell): set(vars(shell)), id(kernel): set(vars(kernel))}
    trusted_imports = _list(config["trusted_imports"])
    helpers = {}  # names bound to callables by earlier test cells, or by intact released cells

    def restore():
        _settrace(None)
        _setprofile(None)
        _th_settrace(None)
        _th_setprofile(None)
        for name, module in watched.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
            current = vars(module)
            for key, value in module_snapshots[name].items():
                if module is builtins and key in skip_builtins:
                    continue
                if current.get(key, missing) is not value:
                    current[key] = value
        shell.input_transformer_manager = manager
        for name, original in hook_lists.items():
            getattr(shell, name)[:] = original  # lists (some behind properties): restored in place
        for cls, snapshot in class_snapshots:
            for key, value in snapshot.items():
                if cls.__dict__.get(key, missing) is not value:
                    try:
                        setattr(cls, key, value)
                    except (AttributeError, TypeError):
                        pass
        for obj in (shell, kernel):
            added = set(vars(obj)) - instance_keys[id(obj)]
            for key in added:
                if any(_callable(snap.get(key)) for _, snap in class_snapshots):
                    vars(obj).pop(key, None)  # an instance attribute shadowing a shell method

    def trusted_names():
        injected = {}
        for statement in trusted_imports:
            scratch = {"__builtins__": pristine_builtins}
            try:
                _exec(_compile(statement, "<aie-import>", "exec"), scratch)
            except BaseException:  # noqa: BLE001
                continue
            injected.update((k, v) for k, v in scratch.items() if k != "__builtins__")
        injected.update(helpers)
        return injected

    def failure(exc, filename):
        lineno, innermost_in_test, tb = None, False, exc.__traceback__
        while tb is not None:
            in_test = tb.tb_frame.f_code.co_filename == filename
            if in_test:
                lineno = tb.tb_lineno
            innermost_in_test = in_test
            tb = tb.tb_next
        try:
            evalue = _str(exc)
        except BaseException:  # noqa: BLE001  (a learner exception whose __str__ fails)
            evalue = "(the exception could not be printed)"
        try:
            import traceback

            lines = traceback.format_exception(_type(exc), exc, exc.__traceback__)
        except BaseException:  # noqa: BLE001
            lines = []
        return {
            "ename": _type(exc).__name__,
            "evalue": evalue,
            "lineno": lineno,
            "raised_by_test": innermost_in_test,
            "traceback": lines[-40:],
        }

    def run_test(code, grade_id):
        """Run a test cell in the learner's namespace, with the trusted names laid over it while it runs."""
        restore()
        ns = shell.user_ns
        injected = trusted_names()
        injected["__builtins__"] = _dict(pristine_builtins)
        saved = {k: ns.get(k, missing) for k in injected}
        before = _dict(ns)
        ns.update(injected)
        filename = f"<aie-test {grade_id}>"
        result = {"status": "passed", "value": None, "stdout": "", "stderr": ""}
        out, err = _StringIO(), _StringIO()
        streams = sys.stdout, sys.stderr
        try:
            tree = _parse(transformer.transform_cell(code), filename)
            last = tree.body.pop() if tree.body and _isinstance(tree.body[-1], _Expr) else None
            sys.stdout, sys.stderr = out, err
            _exec(_compile(_Module(tree.body, []), filename, "exec"), ns)
            if last is not None:
                value = _eval(_compile(_Expression(last.value), filename, "eval"), ns)
                if value is not None:
                    result["value"] = _repr(value)
        except KeyboardInterrupt as exc:
            result.update(failure(exc, filename), status="timeout")
        except BaseException as exc:  # noqa: BLE001  (SystemExit from learner code fails the test too)
            result.update(failure(exc, filename), status="failed")
        finally:
            sys.stdout, sys.stderr = streams
            for key, old in saved.items():  # the learner's own values come back unless the test rebound the name
                if ns.get(key, missing) is injected[key]:
                    if old is missing:
                        ns.pop(key, None)
                    else:
                        ns[key] = old
            ns["__builtins__"] = builtins
        result["stdout"], result["stderr"] = out.getvalue()[-2000:], err.getvalue()[-2000:]
        for key, value in _list(ns.items()):
            if _callable(value) and before.get(key, missing) is not value and not key.startswith("__"):
                helpers[key] = value  # defined by this test: later tests use this object, whatever learner code does
        return result

    def record(names):
        restore()
        for name in names:
            if name in shell.user_ns and _callable(shell.user_ns[name]):
                helpers[name] = shell.user_ns[name]
        return {"status": "recorded"}

    def on_open(comm, msg):
        data = msg["content"]["data"]
        try:
            if data["op"] == "test":
                reply = run_test(data["code"], data["grade_id"])
            elif data["op"] == "record":
                reply = record(data["names"])
            elif data["op"] == "prepare":
                restore()
                reply = {"status": "prepared"}
            else:
                reply = {"status": "error", "evalue": f"unknown op {data['op']!r}"}
        except BaseException as exc:  # noqa: BLE001
            reply = {"status": "error", "ename": _type(exc).__name__, "evalue": _str(exc)}
        reply["request"] = data.get("request")
        comm.send(reply)
        comm.close()

    kernel.comm_manager.register_target("aie.grader", on_open)
