"""``aie wiki``: build, check and serve the roadmap site (registered through the ``aie.commands`` entry point ``wiki``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curriculum.paths import REPO_ROOT

wiki_app = typer.Typer(
    help="The roadmap site: roadmap page generated from roadmap.toml plus the wiki.", no_args_is_help=True
)

OutOption = Annotated[Path, typer.Option("--out", help="folder for the built site (replaced on each build)")]
LabOption = Annotated[
    str | None,
    typer.Option(
        "--lab-url", help="JupyterLab base URL the notebook links open (default: $AIE_LAB_URL or http://127.0.0.1:8888)"
    ),
]


def _fail(message: str) -> None:
    typer.echo(f"aie: error: {message}", err=True)
    raise typer.Exit(2)


def _build(out: Path, lab_url: str | None, strict: bool):
    from curriculum.roadmap import RoadmapError, load_roadmap
    from curriculum.wiki import WikiError, build_site, coverage_problems, lab_link_problems, link_problems

    try:
        roadmap = load_roadmap()
        report = build_site(out, roadmap=roadmap, lab=lab_url)
        problems = coverage_problems(roadmap) + link_problems(report.out) + lab_link_problems(report.out, _lab(lab_url))
    except (WikiError, RoadmapError) as exc:
        _fail(str(exc))
    for warning in report.warnings:
        typer.echo(f"mkdocs: {warning}", err=True)
    typer.echo(
        f"built {report.out} in {report.seconds:.1f} s: {len(report.wiki_pages)} wiki page(s), "
        f"{report.html_pages} HTML page(s); {len(report.chips)} chips: {report.chips_to_pages} to pages, "
        f"{report.chips_to_backlog} to the backlog"
    )
    if report.math != "katex":
        typer.echo(
            "formulas are shown as TeX source: install Debian's libjs-katex (or set AIE_KATEX_DIR) to typeset them",
            err=True,
        )
    if problems:
        typer.echo("problems:\n  " + "\n  ".join(problems), err=True)
    if strict and (problems or report.warnings):
        raise typer.Exit(1)
    return report


def _lab(value: str | None) -> str:
    from curriculum.wiki import lab_url

    return lab_url(value)


@wiki_app.command("build")
def build(
    out: OutOption = REPO_ROOT / "site",
    lab_url: LabOption = None,
    strict: Annotated[bool, typer.Option(help="exit 1 on any mkdocs warning, broken link or coverage problem")] = False,
) -> None:
    """Render the roadmap page and the wiki into a static site (mkdocs, material theme, search)."""
    _build(out, lab_url, strict)


@wiki_app.command("serve")
def serve(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8001,
    out: OutOption = REPO_ROOT / "site",
    lab_url: LabOption = None,
    build_first: Annotated[bool, typer.Option("--build/--no-build", help="build the site before serving it")] = True,
) -> None:
    """Serve the built site on 127.0.0.1 (builds it first unless --no-build)."""
    from curriculum.wiki import WikiError, serve_site

    if build_first:
        _build(out, lab_url, strict=False)
    try:
        server = serve_site(out, port)
    except WikiError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}")
    typer.echo(f"roadmap site: http://127.0.0.1:{server.server_address[1]}/  (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@wiki_app.command("check")
def check(
    out: OutOption = REPO_ROOT / "site",
    lab_url: LabOption = None,
) -> None:
    """Build the site and fail on any broken link, mkdocs warning or roadmap/wiki/notebook coverage gap."""
    _build(out, lab_url, strict=True)


def register(app: typer.Typer) -> None:
    """Add the ``wiki`` command group to the ``aie`` application."""
    app.add_typer(wiki_app, name="wiki")
