"""The `build_corpus` Prefect flow: every enabled stage, in order, each a Prefect task.

Stages are joined by their outputs on disk, so each task gets the whole config and reads what the
previous stages wrote; an up-to-date stage is skipped by flows.stage_runner.
"""

from __future__ import annotations

import importlib

from prefect import flow, get_run_logger, task

from flows.config import STAGE_ORDER, Config


def stage_module(stage: str):
    return importlib.import_module(f"flows.stages.{stage}")


def _transient(task, task_run, state) -> bool:
    """Retry only transient I/O trouble (network filesystems), never a user or data error."""
    try:
        state.result()
    except (ConnectionError, TimeoutError):
        return True
    except Exception:
        return False
    return False


@task(name="stage", retries=2, retry_delay_seconds=5, retry_condition_fn=_transient, task_run_name="{stage}")
def run_stage_task(stage: str, config: dict, force: bool = False) -> dict:
    logger = get_run_logger()
    cfg = Config.model_validate(config)
    report = stage_module(stage).run(cfg, force=force, log_fn=logger.info)
    return {"stage": stage, "skipped": report.skipped, "seconds": round(report.seconds, 2),
            "counters": report.counters, "key": report.key}


def enabled_stages(cfg: Config) -> list[str]:
    return [s for s in STAGE_ORDER if s in cfg.stages and stage_module(s).enabled(cfg)]


@flow(name="build_corpus", log_prints=True)
def build_corpus(config: dict, force: list[str] | None = None) -> list[dict]:
    """Run the enabled stages. `force` names stages to rerun even when up to date (and everything after)."""
    cfg = Config.model_validate(config)
    return [
        run_stage_task(stage, cfg.model_dump(mode="json"), force=forcing)
        for stage, forcing in forced_stages(enabled_stages(cfg), force).items()
    ]


def forced_stages(stages: list[str], force: list[str] | None) -> dict[str, bool]:
    """stage → whether it is forced: a named stage and every stage after it ('all' forces all)."""
    force_set = set(force or [])
    unknown = force_set - set(STAGE_ORDER) - {"all"}
    if unknown:
        from flows.config import ConfigError

        raise ConfigError(f"--force names unknown stage(s) {sorted(unknown)}: choose from {', '.join(STAGE_ORDER)}, all")
    out, forcing = {}, False
    for stage in stages:
        forcing = forcing or stage in force_set or "all" in force_set
        out[stage] = forcing
    return out


def preflight(cfg: Config) -> None:
    """Check every local input a config names before anything starts (no Prefect server, no Beam).

    For each enabled stage's section, every `inputs` list (also nested, e.g. wiki.wikidata.inputs) is
    checked: a string pattern must match a file, and a `*_path` of a dict entry must exist. Remote
    patterns (gs://, s3://) are left to the stage, which reads them with Beam's filesystems.
    """
    import os

    from flows.config import ConfigError
    from flows.stage_runner import expand_inputs

    def walk(node, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "inputs" and isinstance(value, list):
                    for i, item in enumerate(value):
                        if isinstance(item, str) and "://" not in item:
                            expand_inputs([item], f"{where}.inputs")
                        elif isinstance(item, dict):
                            for k, v in item.items():
                                if k.endswith("_path") and isinstance(v, str) and v and "://" not in v \
                                        and not os.path.exists(v):
                                    raise ConfigError(f"{where}.inputs[{i}].{k}: file not found: {v!r} "
                                                      "(check the path in the config)")
                else:
                    walk(value, f"{where}.{key}")

    for stage in enabled_stages(cfg):
        walk(getattr(cfg, stage).model_dump(mode="json"), stage)
    if "train" in cfg.stages and cfg.train.enabled:  # remote OUT/tokens: one line now, not after hours
        stage_module("train").check_tokens_local(cfg)


# Stages that build no Beam pipeline: a dry run must not run them (the trainer would). The tokenizer's
# sample is a Beam pipeline; its dry run stops before SentencePiece.
NON_BEAM_STAGES = ("train",)


def dry_run_build(cfg: Config, graph_dir: str, log_fn=print) -> list[dict]:
    """Validate the runner options and build (never run) each enabled stage's pipeline.

    No Prefect server is needed and nothing is written under OUT: each graph goes to
    graph_dir/<stage>.graph.json. A stage whose inputs are outputs of an earlier stage that has not run
    yet is reported (with its message), not built: a dry run produces no outputs to build it from.
    """
    from flows.config import ConfigError
    from flows.stage_runner import DryRunStop, dry_run

    results = []
    pending = False  # an earlier stage of this dry run would run, so its outputs are not there yet
    with dry_run(graph_dir) as plan:
        for stage in enabled_stages(cfg):
            row = {"stage": stage, "graph": None, "graph_file": None, "up_to_date": False}
            if stage in NON_BEAM_STAGES:
                row["status"] = "not a Beam stage (nothing to submit)"
                pending = True
            else:
                try:
                    report = stage_module(stage).run(cfg, force=False, log_fn=log_fn)
                    row["up_to_date"] = bool(report.extra.get("up_to_date"))
                except ConfigError as e:
                    if not pending:
                        raise
                    row["status"] = f"not built (needs outputs of an earlier stage): {e}"
                except DryRunStop:  # a stage that calls run_beam outside run_stage
                    pass
                pending = pending or not row["up_to_date"]
                if stage in plan.graphs:
                    row.update(status="pipeline built", graph=plan.graphs[stage], graph_file=plan.files[stage])
                row.setdefault("status", "no Beam pipeline")
            results.append(row)
    return results
