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
    force_set = set(force or [])
    results = []
    forcing = False
    for stage in enabled_stages(cfg):
        forcing = forcing or stage in force_set or "all" in force_set
        results.append(run_stage_task(stage, cfg.model_dump(mode="json"), force=forcing))
    return results
