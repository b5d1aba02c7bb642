"""CLI commands (train): `xlcorpus train` and `xlcorpus eval`."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app) -> None:
    """Add this module's commands to the typer app."""

    @app.command()
    def train(
        config: Path | None = typer.Option(None, "--config", "-c", help="YAML config file."),  # noqa: B008
        out: str | None = typer.Option(None, "--out", "-o", help="Output root (overrides `out`)."),
        resume: bool = typer.Option(False, "--resume", help="Continue from the latest checkpoint."),
        steps: int | None = typer.Option(None, "--steps", help="Training steps (train.steps)."),
        size: str | None = typer.Option(None, "--size", help="tiny | mini | small | base (train.size)."),
        device: str | None = typer.Option(None, "--device", help="auto | cpu | cuda (train.device)."),
        nproc: int | None = typer.Option(None, "--nproc", help="Processes/GPUs: > 1 runs DDP via torchrun."),
        force: bool = typer.Option(False, "--force", help="Retrain even if the model is up to date."),
    ) -> None:
        """Train the encoder on OUT/tokens (the `train` stage, as a Prefect flow); print its eval."""
        from flows.build_corpus import build_corpus
        from flows.cli import console, fail, load, print_summaries, run_flow
        from flows.stages import train as stage

        cfg = load(config, {"out": out, "train.resume": resume or None, "train.steps": steps,
                            "train.size": size, "train.device": device, "train.nproc": nproc,
                            "stages": ["train"], "train.enabled": True})
        if not stage.enabled(cfg):
            fail(f"no token shards at {stage.tokens_dir(cfg)}: run `xlcorpus build` (encode stage) first")
        results = run_flow(build_corpus, cfg.model_dump(mode="json"), ["train"] if force else [])
        print_summaries(cfg, results)
        console.print(f"model in [bold]{Path(cfg.out) / stage.PRODUCT}[/]")

    @app.command("eval")
    def eval_(
        out: str | None = typer.Argument(None, help="Output root of a build (holds model/ and tokens/)."),
        config: Path | None = typer.Option(None, "--config", "-c", help="YAML config file (its `out`)."),  # noqa: B008
        json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
        pairs: list[str] = typer.Option(  # noqa: B008
            [], "--pairs", "-p",
            help="Held-out parallel text (repeatable): NAME.<src>-<tgt>.tsv, a Moses/Tatoeba pair "
                 "(tatoeba.deu-eng.deu + .eng) or a FLORES folder (devtest/<xxx_Scrp>.devtest). "
                 "Default: train.eval_parallel."),
    ) -> None:
        """Evaluate the trained model on held-out examples (split by parent: document, pair, sentence) and on
        held-out parallel files: masked-token loss/accuracy; top-1 retrieval both directions at the chosen
        and the last layer, next to chance and a bag-of-subword-ids baseline."""
        import json

        from flows.cli import console, fail, load
        from flows.stages import train as stage

        if out is None and config is None:
            fail("pass the output root (xlcorpus eval OUT) or --config")
        cfg = load(config, {"out": out})
        model_dir = Path(cfg.out) / stage.PRODUCT
        if not (model_dir / "checkpoints").is_dir():
            fail(f"no trained model in {model_dir}: run `xlcorpus train` first")
        from xlmodel.evaluate import evaluate_run
        from xlmodel.parallel_files import ParallelFileError
        from xlmodel.shards import DataError

        try:
            result = evaluate_run(model_dir, stage.tokens_dir(cfg), parallel=list(pairs) or None)
        except (DataError, ParallelFileError, ValueError) as e:
            fail(str(e))
            return
        if json_out:
            console.print_json(json.dumps(result))
        else:
            console.print(stage.eval_table(result))
