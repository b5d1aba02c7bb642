"""CLI commands (data): `xlcorpus validate` checks an output root; `xlcorpus tokenize` and
`xlcorpus encode` run one stage on its own.

tokenize / encode run the stage directly (no Prefect server), reading what earlier stages wrote under
OUT; an up-to-date stage is skipped unless --force is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _run_one(stage: str, config: Path | None, out: str | None, workers: int | None, force: bool,
             sets: list[str]) -> None:
    from flows.build_corpus import stage_module
    from flows.cli import console, err_console, guarded, load, parse_sets
    from flows.progress import progress_display, reporting

    overrides = {"out": out, "runner.workers": workers}
    overrides.update(parse_sets(sets))
    cfg = load(config, overrides)
    module = stage_module(stage)
    say = lambda m: console.print(m, highlight=False)  # noqa: E731
    # live progress as in a build: a bar on a terminal, a log line at most every progress_log_seconds
    with progress_display(err_console), reporting(say, cfg.orchestration.progress_log_seconds):
        report = guarded(module.run, cfg, force=force, log_fn=say)
    table = module.summarize(cfg, {"stage": stage, "skipped": report.skipped, "seconds": report.seconds,
                                   "counters": report.counters, "key": report.key})
    if table is not None:
        console.print(table)
    state = "skipped (up to date)" if report.skipped else f"done in {report.seconds:.1f}s"
    console.print(f"[bold]{stage}[/]: {state}; outputs in [bold]{cfg.out}[/]")


# Folders under OUT that hold no committed product: a run's own staging, dry-run graphs, train runs.
NOT_PRODUCTS = {"_staging", "_dryrun", "_runs", "_locks"}


def validate_out(out: str, say) -> int:
    """Validate every product manifest under OUT; returns the number of failing directories.

    Each manifest is checked against its shards (rows, bytes, sha256), its counters (read = kept +
    dropped) and the counters its rows must equal. A stage being written right now is named.
    """
    from flows.errors import user_errors
    from flows.output_lock import LOCK_DIR, LockHolder
    from schemas.manifest import MANIFEST_NAME
    from schemas.manifest import validate as validate_dir

    root = Path(out)
    roots = sorted(p.parent for p in root.rglob(MANIFEST_NAME)
                   if not NOT_PRODUCTS & set(p.relative_to(root).parts))
    if not roots:
        raise FileNotFoundError(f"no manifest under {out}: is it the output root of a build?")
    locks = root / LOCK_DIR
    for lock in sorted(locks.glob("*.lock")) if locks.is_dir() else []:
        holder = LockHolder.from_bytes(lock.read_bytes())
        who = holder.describe() if holder else "an unreadable lock"
        say(f"note: stage {lock.stem} is being written right now ({who}): its products may change")
    failed = 0
    for d in roots:
        try:
            m = validate_dir(str(d))
        except user_errors() as e:
            failed += 1
            say(f"FAIL {d}: {e}")
            continue
        rows = (f"rows = {' + '.join(m.rows_counters)}" if m.rows_counters
                else "rows not checked against counters (the manifest names none)")
        say(f"ok   {d}  {m.schema_name} v{m.schema_version}  {m.rows} rows in {len(m.files)} files; {rows}")
    return failed


def check_outputs(out: str) -> None:
    """`xlcorpus validate` after a build (the demo): one summary line, or the failures and exit 2."""
    from flows.cli import console, fail, guarded

    lines: list[str] = []
    failed = guarded(validate_out, out, lines.append)
    if failed:
        for line in lines:
            console.print(line, highlight=False, markup=False, soft_wrap=True)
        fail(f"{failed} product director{'y' if failed == 1 else 'ies'} under {out} failed validation (see above)")
    checked = [ln for ln in lines if ln.startswith("ok ")]
    counted = sum("rows = " in ln for ln in checked)
    console.print(f"validate: {len(checked)} product directories hold what their manifests say (shards, "
                  f"read = kept + dropped); {counted} of them have the rows their stage counted", highlight=False)


def register(app) -> None:
    """Add this module's commands to the typer app."""

    @app.command()
    def validate(out: Annotated[str, typer.Argument(help="Output root of a build.")]) -> None:
        """Check every manifest under OUT against its shards (rows, bytes, sha256) and its counters."""
        from flows.cli import console, fail, guarded

        failed = guarded(validate_out, out, lambda m: console.print(m, highlight=False, markup=False, soft_wrap=True))
        if failed:
            fail(f"{failed} product director{'y' if failed == 1 else 'ies'} under {out} failed validation (see above)")

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
