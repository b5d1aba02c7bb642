"""CLI command `xlcorpus serve`: register build_corpus as a Prefect deployment and run its flow runs.

    prefect server start                                   # a persistent server, UI on :4200
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    xlcorpus serve --config crawl.yaml [--set runner.workers=4] [--name crawl]

The deployment `build_corpus/<name>` has two parameters, `config_path` (the YAML file, absolute) and
`overrides` (dotted keys as with `--set`), so a run started from the UI ("Run" → "Custom run") can
point at another config or change any field. Each run executes in its own process, started by this
command (Prefect's runner), until it is stopped with Ctrl-C.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML config the deployment runs by default.")],
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Default override of a config field (a deployment parameter): --set runner.workers=4")] = None,
    name: Annotated[str, typer.Option("--name", help="Deployment name: build_corpus/<name>.")] = "xlcorpus",
    limit: Annotated[int | None, typer.Option("--limit", help="Most flow runs at the same time.")] = None,
) -> None:
    """Serve build_corpus as a deployment on the Prefect server at PREFECT_API_URL (runnable from the UI)."""
    from prefect.deployments.runner import EntrypointType

    from flows.build_corpus import build_corpus, check_before_run
    from flows.cli import console, fail, guarded, load, parse_sets
    from flows.prefect_server import PrefectServerError, check_reachable, user_api_url

    overrides = parse_sets(set_ or [])
    cfg = load(config, overrides)  # a bad config fails now, not in the first run from the UI
    guarded(check_before_run, cfg, [])
    api_url = user_api_url()
    if not api_url:
        fail("xlcorpus serve registers a deployment on a persistent Prefect server: start one with "
             "`prefect server start` and export PREFECT_API_URL=http://127.0.0.1:4200/api")
    try:
        check_reachable(api_url)
    except PrefectServerError as e:
        fail(str(e))
    parameters = {"config_path": str(config.resolve()), "overrides": overrides}
    console.print(f"deployment [bold]build_corpus/{name}[/] on {api_url}: config {parameters['config_path']}"
                  + (f", overrides {overrides}" if overrides else "") + "; Ctrl-C stops serving", highlight=False)
    build_corpus.serve(name=name, parameters=parameters, limit=limit, entrypoint_type=EntrypointType.MODULE_PATH,
                       description="xlcorpus: every enabled stage of the config, independent stages at once",
                       tags=["xlcorpus"])


def register(app) -> None:
    """Add this module's commands to the typer app."""
    app.command(name="serve")(serve)
