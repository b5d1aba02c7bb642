"""The `build_corpus` Prefect flow: the enabled stages as a DAG of Prefect tasks.

Each stage module may declare `UPSTREAM_STAGES`, the stages whose outputs it reads (none: a source
stage; see flows/stage_dag.py). The flow submits every enabled stage at once through Prefect's task runner, each waiting
only for its enabled upstream stages: mono, wiki and parallel run at the same time, the tokenizer
after them, encode after the tokenizer, train after encode. Stages are joined by their outputs on
disk, so each task gets the whole config and reads what its upstream stages committed; an
up-to-date stage is skipped by flows.stage_runner.

On the local runner, stages that run at the same time share `runner.workers` (see share_workers);
on Dataflow / Flink / Spark their Beam jobs simply run at the same time. A failed stage fails its
dependents (Prefect marks them NotReady) while the other stages finish and commit their outputs;
the flow then fails with the first failed stage's error.

Each stage task publishes one markdown artifact (its summary table, kept/dropped by reason, rows per
partition, shuffle bytes); the flow writes OUT/report.html and links it as an artifact.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner

from flows.config import STAGE_ORDER, Config, ConfigError
from flows.retries import retry_transient
from flows.stage_dag import (  # re-exported: the CLI, commands and tests import them from here
    StagePlan,
    describe_plan,
    enabled_stages,
    forced_stages,
    plan_stages,
    share_workers,
    stage_module,
    upstream_stages,
)

__all__ = ["StagePlan", "build_corpus", "describe_plan", "enabled_stages", "forced_stages", "plan_stages",
           "share_workers", "stage_module", "upstream_stages"]


def _stage_result(report, products: bool = True) -> dict:
    out = {"stage": report.stage, "skipped": report.skipped, "seconds": round(report.seconds, 2),
           "counters": report.counters, "key": report.key}
    if products:
        out["products"] = {rel: {"rows": m.rows, "partitions": dict(m.partitions)}
                           for rel, m in sorted(report.manifests.items())}
    return out


def publish_summary(cfg: Config, stage: str, result: dict) -> None:
    """The stage's Prefect markdown artifact (key `<stage>-summary`): what the CLI prints, and more."""
    from prefect.artifacts import create_markdown_artifact

    from flows.stage_summary import stage_markdown

    # The stage is committed by now: a summary that cannot be built is a warning, never a failed stage.
    try:
        table = stage_module(stage).summarize(cfg, result)
    except Exception as e:  # noqa: BLE001 — reported, and the artifact still gets the counters
        get_run_logger().warning(f"[{stage}] summary table not built: {type(e).__name__}: {e}")
        table = None
    try:
        markdown = stage_markdown(stage, result, table)
    except Exception as e:  # noqa: BLE001
        get_run_logger().warning(f"[{stage}] summary table not converted: {type(e).__name__}: {e}")
        markdown = stage_markdown(stage, result, None)
    create_markdown_artifact(markdown=markdown, key=f"{stage}-summary",
                             description=f"xlcorpus stage {stage}: kept/dropped, partitions, shuffles")


@task(name="stage", task_run_name="{stage}", retry_condition_fn=retry_transient)
def run_stage_task(stage: str, config: dict, force: bool = False, workers: int | None = None) -> dict:
    from flows.progress import reporting

    logger = get_run_logger()
    cfg = Config.model_validate(config)
    if workers is not None and workers != cfg.runner.workers:
        cfg = cfg.model_copy(update={"runner": cfg.runner.model_copy(update={"workers": workers})})
        logger.info(f"[{stage}] {workers} local worker{'s' if workers > 1 else ''} (shared with stages running at once)")
    started = time.time()
    with reporting(logger.info, cfg.orchestration.progress_log_seconds):
        report = stage_module(stage).run(cfg, force=force, log_fn=logger.info)
    result = {**_stage_result(report), "started": started, "finished": time.time()}
    publish_summary(cfg, stage, result)
    return result


def resolve_config(config: dict | None, config_path: str | None, overrides: dict[str, Any] | None) -> Config:
    """The flow's config: a resolved config dict (the CLI), or a YAML path + overrides (a deployment)."""
    from flows.config import load_config

    if (config is None) == (config_path is None):
        raise ConfigError("build_corpus needs exactly one of `config` (a resolved config) or `config_path`")
    if config is not None:
        if overrides:
            raise ConfigError("build_corpus: `overrides` apply to `config_path`, not to a resolved `config`")
        return Config.model_validate(config)
    return load_config(config_path, dict(overrides or {}))


def check_before_run(cfg: Config, force: list[str] | None) -> None:
    """Everything that can be checked before a stage starts: runner options (and its client libraries),
    at least one enabled stage, --force names, every local input. Raises the user errors."""
    from flows.stage_runner import runner_spec
    from pipelines.runners import check_submit_client, validated_options

    validated_options(runner_spec(cfg), "xlcorpus-check")
    check_submit_client(runner_spec(cfg))
    if not enabled_stages(cfg):
        raise ConfigError("the config enables no stage with inputs: set e.g. mono.inputs to your WARC/WET files")
    forced_stages(enabled_stages(cfg), force)
    preflight(cfg)


@flow(name="build_corpus", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=len(STAGE_ORDER)))
def build_corpus(config: dict | None = None, force: list[str] | None = None, config_path: str | None = None,
                 overrides: dict[str, Any] | None = None) -> list[dict]:
    """Run the enabled stages as a DAG: independent stages at the same time.

    config: a resolved config (what the CLI passes), or config_path (a YAML file) + overrides
    ({"runner.workers": 4, ...}, as `--set`), which is what a deployment's parameters hold.
    force: stages to rerun even when up to date (and every stage that depends on them); "all".
    """
    logger = get_run_logger()
    cfg = resolve_config(config, config_path, overrides)
    check_before_run(cfg, force)
    plans = plan_stages(cfg, force)
    for line in describe_plan(cfg, plans):
        logger.info(line)
    conf = cfg.model_dump(mode="json")
    from flows.stage_runner import code_version

    for p in plans:  # computed here, once, before the stages' threads start (it parses source with ast)
        code_version(p.stage)
    futures = {}
    for p in plans:
        policy = cfg.orchestration.retry_for(p.stage)
        futures[p.stage] = run_stage_task.with_options(
            retries=policy.count, retry_delay_seconds=policy.delay_seconds,
        ).submit(p.stage, conf, force=p.forced, workers=p.workers, wait_for=[futures[u] for u in p.upstream])
    wait(list(futures.values()))
    results, failed, not_run = [], [], []
    for p in plans:
        state = futures[p.stage].state
        if state.is_completed():
            results.append(futures[p.stage].result())
        elif state.is_failed() or state.is_crashed():
            failed.append(p.stage)
        else:
            not_run.append(p.stage)
    _link_report(cfg, logger)
    if failed:
        done = [r["stage"] for r in results]
        logger.error(f"stage(s) failed: {', '.join(failed)}"
                     + (f"; not run (an upstream stage failed): {', '.join(not_run)}" if not_run else "")
                     + (f"; committed: {', '.join(done)}" if done else ""))
        futures[failed[0]].result()  # raises the failed stage's own error: the CLI prints its one line
    return results


def _link_report(cfg: Config, logger) -> None:
    """Write OUT/report.html (local OUT) and link it as the flow's `build-report` artifact."""
    if not cfg.orchestration.report or "://" in cfg.out:
        return
    from pathlib import Path

    from prefect.artifacts import create_link_artifact

    from flows.report import collect, write_html

    data = collect(Path(cfg.out))
    if data.empty:
        return
    target = write_html(data, Path(cfg.out) / "report.html").resolve()
    create_link_artifact(link=target.as_uri(), link_text="HTML report of the build", key="build-report",
                         description=f"xlcorpus report of {cfg.out}")
    logger.info(f"report: {target}")


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
