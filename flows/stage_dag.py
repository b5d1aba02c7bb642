"""The stage DAG of a build: which stages are enabled, whom each waits for, which are forced, and how
the local runner's workers are shared among the stages that run at the same time.

Each stage module may declare `UPSTREAM_STAGES`, the stages whose outputs it reads (none: a source
stage). STAGE_ORDER is a topological order of that DAG.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from flows.config import STAGE_ORDER, Config, ConfigError


def stage_module(stage: str):
    return importlib.import_module(f"flows.stages.{stage}")


def upstream_stages(stage: str) -> tuple[str, ...]:
    """The stages whose outputs `stage` reads, as its module declares them (none: a source stage)."""
    return tuple(getattr(stage_module(stage), "UPSTREAM_STAGES", ()))


# Stages whose work is not shared out as local Beam workers (the trainer has its own train.nproc).
NOT_SHARED = ("train",)


@dataclass
class StagePlan:
    stage: str
    upstream: list[str]  # enabled stages it waits for
    forced: bool
    wave: int  # 0 = starts at once; n = after a stage of wave n - 1
    workers: int  # local runner: Beam workers of this stage (1 = in-process, in a thread)


def share_workers(total: int, stages: list[str]) -> dict[str, int]:
    """Split `total` local workers among stages running at the same time: each gets total // n, the
    first ones one more while the remainder lasts; never less than 1 (a share of 1 runs Beam's
    in-process runner in a thread of the driver, so with fewer workers than stages they still all
    run at once, sharing the driver process)."""
    if not stages:
        return {}
    base, extra = divmod(total, len(stages))
    return {s: max(1, base + (1 if i < extra else 0)) for i, s in enumerate(stages)}


def plan_stages(cfg: Config, force: list[str] | None = None) -> list[StagePlan]:
    """The DAG of the enabled stages: who waits for whom, which are forced, and the worker shares."""
    stages = enabled_stages(cfg)
    forced = forced_stages(stages, force)
    plans: list[StagePlan] = []
    wave: dict[str, int] = {}
    for i, stage in enumerate(stages):
        if cfg.orchestration.concurrent_stages:
            upstream = [u for u in upstream_stages(stage) if u in stages]
        else:  # one at a time, in order
            upstream = stages[i - 1:i]
        wave[stage] = 1 + max((wave[u] for u in upstream), default=-1)
        plans.append(StagePlan(stage, upstream, forced[stage], wave[stage], cfg.runner.workers))
    if cfg.runner.kind == "local":
        for w in sorted(set(wave.values())):
            together = [p.stage for p in plans if p.wave == w and p.stage not in NOT_SHARED]
            shares = share_workers(cfg.runner.workers, together)
            for p in plans:
                p.workers = shares.get(p.stage, p.workers)
    return plans


def describe_plan(cfg: Config, plans: list[StagePlan]) -> list[str]:
    """Log lines saying what runs at once, what waits for what, and how workers are shared."""
    lines = []
    for w in sorted({p.wave for p in plans}):
        group = [p for p in plans if p.wave == w]
        names = ", ".join(p.stage for p in group)
        after = [s for s in STAGE_ORDER if any(s in p.upstream for p in group)]
        when = "at once" if w == 0 else f"after {', '.join(after)}"
        lines.append(f"wave {w + 1}: {names} ({when})")
        shared = [p for p in group if p.stage not in NOT_SHARED]
        if cfg.runner.kind == "local" and len(shared) > 1:
            shares = ", ".join(f"{p.stage} {p.workers}" for p in shared)
            lines.append(f"  local runner: runner.workers={cfg.runner.workers} shared by {len(shared)} stages "
                         f"running at once: {shares} (a share of 1 runs in-process, in a thread of this process)")
    if not cfg.orchestration.concurrent_stages:
        lines.append("one stage at a time (orchestration.concurrent_stages: false)")
    return lines


def enabled_stages(cfg: Config) -> list[str]:
    return [s for s in STAGE_ORDER if s in cfg.stages and stage_module(s).enabled(cfg)]


def forced_stages(stages: list[str], force: list[str] | None) -> dict[str, bool]:
    """stage → whether it is forced: a named stage and every stage that (transitively) reads its
    outputs; 'all' forces every stage."""
    force_set = set(force or [])
    unknown = force_set - set(STAGE_ORDER) - {"all"}
    if unknown:
        raise ConfigError(f"--force names unknown stage(s) {sorted(unknown)}: choose from {', '.join(STAGE_ORDER)}, all")
    out: dict[str, bool] = {}
    for stage in stages:  # STAGE_ORDER is a topological order of the DAG
        out[stage] = ("all" in force_set or stage in force_set
                      or any(out.get(u, False) for u in upstream_stages(stage)))
    return out
