"""`xlcorpus` command line. Every user-caused error ends in one line on stderr and exit code 2."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(
    name="xlcorpus",
    help="Build cross-lingual pretraining data with Beam + Prefect, and train on it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output (make, CI logs) gets 120 columns instead of rich's 80, so summary tables stay readable.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True)


class _DropBeamImportNoise:
    """Beam warns on every import that the GCP client libraries are absent; users can't act on it."""

    def filter(self, record) -> bool:  # logging.Filter protocol
        return "apitools not found" not in str(record.msg)


_BEAM_NOISE = _DropBeamImportNoise()  # one instance: addFilter ignores it when already added


class _DropBeamElementErrors:
    """Beam logs the traceback of a failing element (and a worker's, as text) before pipeline.run()
    raises the same error again; the CLI reports that error once: one line for a user error (a full
    disk, an unreadable input), the traceback for a bug."""

    def filter(self, record) -> bool:  # logging.Filter protocol
        return record.levelno < logging.ERROR


_BEAM_ELEMENT_ERRORS = _DropBeamElementErrors()
_BEAM_ELEMENT_LOGGERS = ("apache_beam.runners.common", "apache_beam.runners.portability.local_job_service",
                         "apache_beam.runners.worker.sdk_worker")


def _quiet_env() -> None:
    logging.getLogger().addFilter(_BEAM_NOISE)
    for name in _BEAM_ELEMENT_LOGGERS:
        logging.getLogger(name).addFilter(_BEAM_ELEMENT_ERRORS)
    # Prefect telemetry needs the network; Beam's apitools warning is noise for users.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def fail(message: str) -> None:
    from rich.markup import escape  # a message may hold [brackets]: pip extras, list indices

    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(2)


def guarded(fn, *args, **kwargs):
    """Call fn; turn the errors a user can cause into one clear line + exit 2."""
    from flows.errors import user_errors

    try:
        return fn(*args, **kwargs)
    except user_errors() as e:
        fail(str(e))


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"xlcorpus {version('xlcorpus')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    _quiet_env()


def parse_sets(items: list[str]) -> dict[str, object]:
    """`a.b=value` pairs → {"a.b": value}; values are parsed as YAML (numbers, booleans, lists)."""
    import yaml

    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--set expects KEY=VALUE (e.g. --set neardup.bands=20), got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def load(config: Path | None, overrides: dict):
    from flows.config import load_config

    return guarded(load_config, config, overrides)


def print_summaries(cfg, results: list[dict]) -> None:
    from flows.build_corpus import stage_module

    for r in results:
        table = stage_module(r["stage"]).summarize(cfg, r)
        if table is not None:
            console.print(table)
        state = "skipped (up to date)" if r["skipped"] else f"done in {r['seconds']:.1f}s"
        console.print(f"[bold]{r['stage']}[/]: {state}")


def check_runner(cfg, submit: bool = True) -> None:
    """Fail before any stage runs when the runner lacks an option, Beam rejects one, or (when jobs
    will be submitted) this machine lacks the runner's client libraries."""
    from flows.stage_runner import runner_spec
    from pipelines.runners import check_submit_client, validated_options

    guarded(validated_options, runner_spec(cfg), "xlcorpus-check")
    if submit:
        guarded(check_submit_client, runner_spec(cfg))


class _StripUserTracebacks(logging.Filter):
    """Prefect logs a failed run's traceback; for an error the user can fix, the message is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        from flows.errors import user_errors

        if record.exc_info and isinstance(record.exc_info[1], user_errors()):
            record.exc_info, record.exc_text = None, None
        return True


def _no_tracebacks_for_user_errors() -> None:
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _StripUserTracebacks) for f in logger.filters):
            logger.addFilter(_StripUserTracebacks())


def run_build(cfg, force: list[str]) -> list[dict]:
    from flows.build_corpus import build_corpus, enabled_stages, forced_stages, preflight

    check_runner(cfg)
    if not enabled_stages(cfg):
        fail("the config enables no stage with inputs: set e.g. mono.inputs to your WARC/WET files")
    guarded(forced_stages, enabled_stages(cfg), force)
    guarded(preflight, cfg)  # missing inputs fail here, before a Prefect server starts
    _no_tracebacks_for_user_errors()
    results = run_flow(build_corpus, cfg.model_dump(mode="json"), force)
    print_summaries(cfg, results)
    print_timeline(results)
    console.print(f"outputs in [bold]{cfg.out}[/]")
    return results


def run_flow(flow_fn, *args, **kwargs):
    """Run a Prefect flow against the user's server (PREFECT_API_URL) or a temporary one that stops
    with this process, with live progress bars on a terminal; user errors become one line."""
    from rich.markup import escape

    from flows.prefect_server import PrefectServerError, prefect_api
    from flows.progress import progress_display
    from flows.retries import TransientRunnerError

    def say(message: str) -> None:
        err_console.print(message, highlight=False, markup=False, soft_wrap=True)

    try:
        with prefect_api(say), progress_display(err_console):
            return guarded(flow_fn, *args, **kwargs)
    except PrefectServerError as e:
        fail(str(e))
    except TransientRunnerError as e:  # still failing after the configured retries: not a bug, say it once
        err_console.print(f"[bold red]error:[/] {escape(str(e))} (failed again on every retry of "
                          "orchestration.retry; check the runner, then rerun: finished stages are skipped)",
                          soft_wrap=True, highlight=False)
        raise typer.Exit(1) from None


def print_timeline(results: list[dict]) -> None:
    """When each stage ran, relative to the first start: shows which stages overlapped."""
    timed = [r for r in results if r.get("started") is not None and not r.get("skipped")]
    if len(timed) < 2:
        return
    t0 = min(r["started"] for r in timed)
    spans = ", ".join(f"{r['stage']} {r['started'] - t0:.1f}–{r['finished'] - t0:.1f}s" for r in timed)
    console.print(f"[bold]timeline[/]: {spans}", highlight=False)


def run_dry(cfg, graph_dir: str | None) -> list[dict]:
    """`build --dry-run`: validate the runner, build each stage's pipeline, print it; run nothing."""
    from rich.markup import escape

    from flows.build_corpus import dry_run_build, enabled_stages, preflight
    from pipelines.runners import format_graph

    check_runner(cfg, submit=False)
    if not enabled_stages(cfg):
        fail("the config enables no stage with inputs: set e.g. mono.inputs to your WARC/WET files")
    guarded(preflight, cfg)
    if graph_dir is None:  # a remote OUT (gs://) may not be writable from here; keep graphs local then
        graph_dir = "xlcorpus-dryrun" if "://" in cfg.out else os.path.join(cfg.out, "_dryrun")
    results = guarded(dry_run_build, cfg, graph_dir, lambda m: None)
    console.print(f"dry run on runner [bold]{cfg.runner.kind}[/]: options valid; nothing submitted or marked done")
    for r in results:
        console.print(f"[bold]{r['stage']}[/]: {escape(r['status'])}"
                      + (" (up to date: a real run would skip it)" if r["up_to_date"] else ""))
        if r["graph"] is not None:
            g = r["graph"]
            console.print(f"  {g['runner']}: {g['leaf_transforms']} steps, {g['pcollections']} PCollections, "
                          f"environments {[e.get('image', e['urn']) for e in g['environments'].values()]}",
                          highlight=False, markup=False)
            for line in format_graph(g, depth=2):
                console.print("    " + line, highlight=False, markup=False)
            console.print(f"  graph written to {r['graph_file']}", highlight=False, markup=False)
    return results


@app.command()
def build(
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML config file."),
    out: str | None = typer.Option(None, "--out", "-o", help="Output root (overrides `out`)."),
    workers: int | None = typer.Option(None, "--workers", "-w", help="Local Beam worker processes."),
    runner: str | None = typer.Option(None, "--runner", help="local | dataflow | flink | spark"),
    stages: str | None = typer.Option(None, "--stages", help="Comma-separated stages to run."),
    force: list[str] = typer.Option([], "--force", help="Rerun STAGE (and what follows) even if up to date; 'all'."),
    set_: list[str] = typer.Option([], "--set", help="Override any config field: --set neardup.bands=20 (YAML value)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate runner options and print each stage's "
                                 "pipeline graph without running or submitting anything."),
    graph_dir: str | None = typer.Option(None, "--graph-dir", help="Where --dry-run writes <stage>.graph.json "
                                            "(default OUT/_dryrun, or ./xlcorpus-dryrun for a remote OUT)."),
) -> None:
    """Run the build_corpus flow: every enabled stage of the config, in order."""
    overrides = {"out": out, "runner.workers": workers, "runner.kind": runner,
                 "stages": stages.split(",") if stages else None}
    overrides.update(parse_sets(set_))
    cfg = load(config, overrides)
    if dry_run:
        run_dry(cfg, graph_dir)
        return
    run_build(cfg, force)


@app.command()
def demo(
    out: Path = typer.Option(Path("demo_out"), "--out", "-o", help="Where the demo writes its outputs."),
    data: Path = typer.Option(Path("demo_data"), "--data", help="Where the demo corpus is generated."),
    workers: int = typer.Option(1, "--workers", "-w", help="Local Beam worker processes."),
    no_run: bool = typer.Option(False, "--no-run", help="Only generate the demo corpus and config."),
) -> None:
    """Generate the bundled demo corpus (crawl, wiki dump, parallel text), then build everything on it."""
    from flows.demo import write_demo

    config_path = write_demo(data, out, workers=workers)
    console.print(f"demo corpus and config written to [bold]{data}[/] ({config_path.name})")
    if no_run:
        return
    cfg = load(config_path, {})
    run_build(cfg, [])
    from flows.commands.data import check_outputs

    check_outputs(cfg.out)  # what `xlcorpus validate` checks, as one line


def _register_commands() -> None:
    from flows.commands import COMMAND_MODULES

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_commands()


def main() -> None:
    _quiet_env()
    app(prog_name="xlcorpus")


if __name__ == "__main__":
    sys.exit(main())
