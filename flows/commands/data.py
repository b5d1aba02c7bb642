"""CLI commands (data): `xlcorpus tokenize` and `xlcorpus encode` run one stage on its own.

They run the stage directly (no Prefect server), reading what earlier stages wrote under OUT;
an up-to-date stage is skipped unless --force is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _run_one(stage: str, config: Path | None, out: str | None, workers: int | None, force: bool,
             sets: list[str]) -> None:
    from flows.build_corpus import stage_module
    from flows.cli import console, guarded, load, parse_sets

    overrides = {"out": out, "runner.workers": workers}
    overrides.update(parse_sets(sets))
    cfg = load(config, overrides)
    module = stage_module(stage)
    report = guarded(module.run, cfg, force=force, log_fn=lambda m: console.print(m, highlight=False))
    table = module.summarize(cfg, {"stage": stage, "skipped": report.skipped, "seconds": report.seconds,
                                   "counters": report.counters, "key": report.key})
    if table is not None:
        console.print(table)
    state = "skipped (up to date)" if report.skipped else f"done in {report.seconds:.1f}s"
    console.print(f"[bold]{stage}[/]: {state}; outputs in [bold]{cfg.out}[/]")


def register(app) -> None:
    """Add this module's commands to the typer app."""

    @app.command()
    def tokenize(
        config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file.")] = None,
        out: Annotated[str | None, typer.Option("--out", "-o", help="Output root (overrides `out`).")] = None,
        force: Annotated[bool, typer.Option("--force", help="Retrain even if up to date.")] = False,
        set_: Annotated[list[str] | None, typer.Option(
            "--set", help="Override a config field: --set tokenizer.vocab_size=32000")] = None,
    ) -> None:
        """Train the SentencePiece tokenizer on a smoothed sample of OUT's text products (OUT/tokenizer/)."""
        _run_one("tokenizer", config, out, None, force, set_ or [])

    @app.command()
    def encode(
        config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file.")] = None,
        out: Annotated[str | None, typer.Option("--out", "-o", help="Output root (overrides `out`).")] = None,
        workers: Annotated[int | None, typer.Option("--workers", "-w", help="Local Beam worker processes.")] = None,
        force: Annotated[bool, typer.Option("--force", help="Re-encode even if up to date.")] = False,
        set_: Annotated[list[str] | None, typer.Option(
            "--set", help="Override a config field: --set encode.max_tokens=510")] = None,
    ) -> None:
        """Encode every text product into token shards + sampling.json (OUT/tokens/)."""
        _run_one("encode", config, out, workers, force, set_ or [])
