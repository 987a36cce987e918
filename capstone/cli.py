"""``aie serve``, ``aie ingest``, ``aie user add``, ``aie feedback export`` and ``aie eval``: parse, call the service, print.

Registered into the main ``aie`` command by :func:`register`; imports stay inside the commands so
``aie --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

user_app = typer.Typer(help="Users and API keys of the capstone service.", no_args_is_help=True)
feedback_app = typer.Typer(help="Ratings of the capstone's answers.", no_args_is_help=True)


def _fail(message: str) -> None:
    typer.echo(f"aie: error: {message}", err=True)
    raise typer.Exit(2)


def _settings():
    from capstone.settings import Settings

    try:
        return Settings()
    except ValueError as exc:
        _fail(f"invalid configuration: {exc}")


def _assistant():
    from capstone.service import Assistant

    return Assistant.open(_settings())


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="worker processes sharing one Postgres")] = 1,
) -> None:
    """Start the docs assistant (ingests the default corpus on the first start, with a progress bar).

    With ``--workers N`` this process starts the database (the embedded one, unless DATABASE_URL names
    another), brings the corpus up to date once, then runs N uvicorn workers that all use it.
    """
    import os

    import uvicorn

    from capstone.app import create_app

    assistant = _assistant()
    if assistant.settings.default_corpus:
        typer.echo("checking the default corpus (Python language reference + wiki) ...")
        report = assistant.ensure_default_corpus(progress=True)
        typer.echo(f"index: {report.summary()}")
    typer.echo(f"serving on http://{host}:{port}/ with {workers} worker(s)  (API docs: /docs, metrics: /metrics)")
    if workers == 1:
        try:
            uvicorn.run(create_app(assistant=assistant), host=host, port=port, log_level="info")
        finally:
            assistant.close()
        return
    os.environ["DATABASE_URL"] = assistant.db.url  # every worker joins the database started here
    os.environ["AIE_DEFAULT_CORPUS"] = "false"  # indexed above, once
    assistant.close()
    uvicorn.run("capstone.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")


def ingest(
    path: Annotated[
        Path,
        typer.Argument(
            help="a file, a folder of Markdown, a Notion export (folder or .zip) or a Confluence HTML export"
        ),
    ],
    visibility: Annotated[str, typer.Option(help="public or private")] = "public",
    user: Annotated[str | None, typer.Option(help="owner of the documents (required for private)")] = None,
) -> None:
    """Ingest documents into the index (idempotent: unchanged documents are skipped)."""
    from capstone.rag.connectors import UnsupportedDocument, documents_from_path

    if visibility not in ("public", "private"):
        _fail("--visibility must be public or private")
    if visibility == "private" and not user:
        _fail("private documents need an owner: pass --user NAME")
    assistant = _assistant()
    try:
        owner = None
        if user:
            with assistant.db.connection() as conn:
                row = conn.execute("SELECT id, name FROM users WHERE name = %s", (user,)).fetchone()
            if row is None:
                _fail(f"unknown user {user!r} (create it with `aie user add {user}`)")
            from capstone.guard.auth import User

            owner = User(*row)
        try:
            docs = list(documents_from_path(path, visibility=visibility, owner_id=owner.id if owner else None))
        except (FileNotFoundError, UnsupportedDocument) as exc:
            _fail(str(exc))
        if not docs:
            _fail(f"{path}: no documents found")
        typer.echo(f"{len(docs)} document(s) from {path}")
        report = assistant.ingest(docs, progress=True, user=owner)
        typer.echo(report.summary())
        for source, reason in report.failed:
            typer.echo(f"  failed: {source}: {reason}", err=True)
        if report.failed:
            raise typer.Exit(1)
    finally:
        assistant.close()


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="user name: letters, digits, '.', '_' or '-'")],
    role: Annotated[
        str,
        typer.Option(
            help="reader (private uploads), editor (may publish) or admin (may delete any document; no quota)"
        ),
    ] = "reader",
) -> None:
    """Create a user and print its API key (shown only once)."""
    from capstone.db import Database
    from capstone.guard.auth import InvalidName, InvalidRole, UserExists, create_user

    db = Database.open(_settings())
    try:
        user, key = create_user(db, name, role=role)
    except (InvalidName, InvalidRole, UserExists) as exc:
        _fail(str(exc))
    finally:
        db.close()
    typer.echo(f"created {user.role} {user.name} (id {user.id}); API key (store it now, it is not shown again):")
    typer.echo(key)


@feedback_app.command("export")
def feedback_export(
    out: Annotated[Path | None, typer.Option(help="JSONL file to write (default: standard output)")] = None,
) -> None:
    """Write every rated answer as an eval-case candidate (JSON lines; see capstone.feedback)."""
    from capstone.db import Database
    from capstone.feedback import export_candidates

    db = Database.open(_settings())
    try:
        lines = [json.dumps(c, ensure_ascii=False) for c in export_candidates(db)]
    finally:
        db.close()
    text = "".join(line + "\n" for line in lines)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"{out}: cannot write: {exc.strerror or exc}")
    typer.echo(f"{len(lines)} candidate(s) written to {out}", err=True)


def eval_command(
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="write this run as the committed baseline")
    ] = False,
    cases: Annotated[Path | None, typer.Option(help="cases file (default data/capstone/eval_cases.jsonl)")] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="baseline file (default data/capstone/eval_baseline.json)")
    ] = None,
    retrieval: Annotated[str | None, typer.Option(help="hybrid, bm25 or dense (default: the server setting)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
    models: Annotated[
        str | None,
        typer.Option(
            help="comma-separated model specs to compare side by side, e.g. offline,local:smollm2 "
            "(the gate applies to the configured model's run, when it is one of them)"
        ),
    ] = None,
) -> None:
    """Run the eval suite, print the scores and compare them with the baseline (exit 1 on a regression)."""
    from capstone.evals.suite import (
        BASELINE_PATH,
        gate,
        load_baseline,
        load_cases,
        report_json,
        run_suite,
        save_baseline,
    )

    try:
        loaded = load_cases(cases) if cases else load_cases()
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    if retrieval not in (None, "hybrid", "bm25", "dense"):
        _fail("--retrieval must be hybrid, bm25 or dense")
    if models is not None:
        from capstone.evals.compare import parse_models

        try:
            specs = parse_models(models)
        except ValueError as exc:
            _fail(str(exc))
        if update_baseline:
            _fail("--update-baseline writes one model's run: leave --models out")
    assistant = _assistant()
    configured = assistant.settings.model
    try:
        if assistant.settings.default_corpus:
            assistant.ensure_default_corpus(progress=True)
        if models is None:
            report = run_suite(assistant, loaded, mode=retrieval)
        else:
            from capstone.evals.compare import run_models, side_by_side
            from curriculum.llm import ModelError

            try:
                reports = run_models(assistant, specs, loaded, mode=retrieval)
            except ModelError as exc:
                _fail(f"a model could not be used: {exc}")
            if as_json:
                typer.echo(json.dumps({spec: report_json(r) for spec, r in reports.items()}, indent=1))
            else:
                typer.echo(side_by_side(reports))
            if configured not in reports:
                return  # nothing to gate: the baseline is the configured model's
            report = reports[configured]
    finally:
        assistant.close()
    if as_json and models is None:
        typer.echo(json.dumps(report_json(report), indent=1))
    elif models is None:
        typer.echo(report.table())
        typer.echo(f"{len(report.cases)} cases in {report.seconds:.1f} s")
    baseline_path = baseline or BASELINE_PATH
    if update_baseline:
        save_baseline(report, baseline_path)
        typer.echo(f"baseline written: {baseline_path}", err=as_json)
        return
    failures = gate(report, load_baseline(baseline_path))
    for failure in failures:
        typer.echo(f"FAIL {failure}", err=True)
    if failures:
        raise typer.Exit(1)
    typer.echo(f"eval gate{f' ({configured})' if models else ''}: passed (thresholds and baseline)", err=as_json)


def register(app: typer.Typer) -> None:
    """Add the capstone commands to the main ``aie`` app."""
    app.command("serve")(serve)
    app.command("ingest")(ingest)
    app.command("eval")(eval_command)
    app.add_typer(user_app, name="user")
    app.add_typer(feedback_app, name="feedback")
