"""Stage `train`: xlmodel on the token shards → OUT/model (checkpoints, metrics.jsonl, eval.json, hf/,
summary.json with examples and tokens trained per objective and stream).

Training writes into OUT/_runs/train-<key>/ (outside the stage runner's staging area, which is wiped
at the start of every run), so `--resume` finds the checkpoints of an interrupted run with the same
key. When training is done the run folder is moved into the staging area and committed as OUT/model.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from flows.config import Config, ConfigError
from flows.stage_runner import Product, fingerprint_file, fingerprint_product, run_stage, stage_key
from schemas.tokens import OBJECTIVES

STAGE = "train"
UPSTREAM_STAGES = ("encode",)  # whose outputs it reads (build_corpus DAG)
PRODUCT = "model"
# Fields that do not change what is trained (so not part of the stage key).
_NOT_IN_KEY = {"resume", "progress", "nproc", "tensorboard", "log_every", "threads"}


def tokens_dir(cfg: Config) -> str:
    return cfg.train.tokens_path or posixpath.join(cfg.out, "tokens")


def check_tokens_local(cfg: Config) -> None:
    """The trainer memory-maps its token shards, so they must be on a local disk (checked at preflight)."""
    tdir = tokens_dir(cfg)
    if "://" in tdir:
        raise ConfigError(
            f"train: the trainer reads token shards from a local folder (memory-mapped), and {tdir} is remote: "
            f"copy it to local disk (e.g. `gsutil -m cp -r {tdir} ./tokens`) and set train.tokens_path to that "
            "folder, or leave training out of this run (train.enabled: false)"
        )


def enabled(cfg) -> bool:
    if not cfg.train.enabled:
        return False
    from flows.stages import encode

    return encode.enabled(cfg) or os.path.isfile(os.path.join(tokens_dir(cfg), "sampling.json"))


def fingerprints(cfg: Config) -> dict[str, str]:
    check_tokens_local(cfg)
    tdir = tokens_dir(cfg)
    sampling = os.path.join(tdir, "sampling.json")
    if not os.path.isfile(sampling):
        raise ConfigError(f"no sampling.json in {tdir}: run the encode stage first (or set train.tokens_path)")
    fp = {"tokens/sampling.json": fingerprint_file(sampling)}
    for objective in OBJECTIVES:
        d = os.path.join(tdir, objective)
        if os.path.isdir(d):
            fp[f"tokens/{objective}"] = fingerprint_product(d)
    tok = json.loads(Path(sampling).read_text(encoding="utf-8")).get("tokenizer", {})
    model = tok.get("model")
    tok_root = (Path(tdir) / model).parent if model else Path(cfg.out) / "tokenizer"
    if tok_root.is_dir():
        for f in sorted(p for p in tok_root.rglob("*") if p.is_file()):
            fp[f"tokenizer/{f.relative_to(tok_root).as_posix()}"] = fingerprint_file(str(f))
    return fp


def section(cfg: Config) -> dict:
    return cfg.train.model_dump(mode="json", exclude=_NOT_IN_KEY)


def settings(cfg: Config, run_dir: str):
    from xlmodel.config import TrainSettings

    raw = cfg.train.model_dump(mode="python", exclude={"enabled", "tokens_path", "nproc", "resume"})
    missing = [p for p in raw["eval_parallel"] if not Path(p).exists()]
    if missing:
        raise ConfigError(f"train.eval_parallel: {missing} not found (held-out parallel files or folders)")
    raw["eval_parallel"] = [str(Path(p).resolve()) for p in raw["eval_parallel"]]
    s = TrainSettings(**raw, tokens_dir=str(Path(tokens_dir(cfg)).resolve()), run_dir=run_dir, seed=cfg.seed,
                      languages=list(cfg.languages))
    try:
        s.validate()
    except ValueError as e:
        raise ConfigError(f"train: {e}") from e
    return s


def _train(s, cfg: Config, log_fn) -> dict:
    """Train + eval + export, in process (1 rank) or under torchrun (nproc ranks, DDP)."""
    if cfg.train.nproc == 1:
        from xlmodel.run import run

        return run(s, resume=cfg.train.resume, log_fn=log_fn)
    with tempfile.TemporaryDirectory() as tmp:
        settings_path, summary_path = Path(tmp) / "settings.json", Path(tmp) / "summary.json"
        s.save(settings_path)
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={cfg.train.nproc}",
               "-m", "xlmodel", "train", "--settings", str(settings_path), "--summary", str(summary_path)]
        if cfg.train.resume:
            cmd.append("--resume")
        log_fn(f"[{STAGE}] launching: {' '.join(cmd[2:])}")
        rc = subprocess.run(cmd).returncode
        if rc != 0:
            raise RuntimeError(f"torchrun exited with code {rc} (see the output above)")
        return json.loads(summary_path.read_text(encoding="utf-8"))


def run(cfg, force: bool = False, log_fn=None):
    say = log_fn or print
    fp = fingerprints(cfg)
    sec = section(cfg)
    key = stage_key(cfg, STAGE, sec, fp)
    run_dir = str(Path(cfg.out, "_runs", f"train-{key}").resolve())
    s = settings(cfg, run_dir)

    def body(staging_root: str) -> dict[str, int]:
        from flows.config.train import length_note

        say(f"[{STAGE}] {length_note(cfg)}; held out by parent (document, pair, sentence): "
            f"{cfg.train.holdout_permille / 10:g}%")
        if not cfg.train.resume and os.path.isdir(run_dir):
            shutil.rmtree(run_dir)  # a stale interrupted run: start clean unless asked to resume
        from xlmodel.parallel_files import ParallelFileError
        from xlmodel.shards import DataError

        try:
            summary = _train(s, cfg, say)
        except (DataError, ParallelFileError) as e:  # data the user can fix: one clear line, not a traceback
            raise ConfigError(f"train: {e}") from e
        dest = os.path.join(staging_root, PRODUCT)
        os.makedirs(staging_root, exist_ok=True)
        shutil.move(run_dir, dest)
        with open(os.path.join(dest, "summary.json"), "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2, sort_keys=True)
        return train_counters(summary)

    return run_stage(cfg, STAGE, sec, fp, [Product(PRODUCT, None)], body, force=force, log_fn=log_fn)


def train_counters(summary: dict) -> dict[str, int]:
    """The stage's counters: totals, and examples / tokens trained per objective (xlco: pairs, both sides'
    tokens), so the manifest-side report shows what each objective got."""
    out = {"steps.completed": int(summary["steps"]), "tokens.trained": int(summary["tokens"]),
           "tokens.predicted": int(summary["predicted"]), "examples.trained": int(summary["examples"])}
    for objective, v in sorted(summary.get("by_objective", {}).items()):
        out[f"examples.trained.{objective}"] = int(v["examples"])
        out[f"tokens.trained.{objective}"] = int(v["tokens"])
    return out


def summarize(cfg, result: dict):
    """One table (the CLI and the Prefect artifact show it): what was trained per objective
    (OUT/model/summary.json) and the held-out evaluation (OUT/model/eval.json)."""
    model = Path(cfg.out) / PRODUCT
    if not (model / "eval.json").is_file():
        return None
    summary = None
    if (model / "summary.json").is_file():
        summary = json.loads((model / "summary.json").read_text(encoding="utf-8"))
    return eval_table(json.loads((model / "eval.json").read_text(encoding="utf-8")), result.get("counters", {}),
                      summary)


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _retrieval_row(t, name: str, v: dict) -> None:
    """Three rows per retrieval set: the chosen layer, the last layer, and the bag-of-ids baseline."""
    if "src2tgt" not in v:
        t.add_row("retrieval", name, "", v.get("skipped", ""), str(v.get("pairs", 0)))
        return
    dropped = "  ".join(f"{k} {n}" for k, n in sorted(v.items()) if k.startswith(("dropped.", "not_used.")))
    pairs = f"{v['pairs']} (chance {_pct(v['chance'])})" + (f" {dropped}" if dropped else "")
    t.add_row("retrieval", name, f"layer {v['layer']}", f"{_pct(v['src2tgt'])} → {_pct(v['tgt2src'])} ←", pairs)
    t.add_row("", "", f"last layer {v['last_layer']}", f"{_pct(v['last_src2tgt'])} → {_pct(v['last_tgt2src'])} ←", "")
    t.add_row("", "", "bag of subword ids", f"{_pct(v['bag_of_ids_src2tgt'])} → {_pct(v['bag_of_ids_tgt2src'])} ←",
              "")


def eval_table(ev: dict, counters: dict | None = None, summary: dict | None = None):
    from rich.table import Table

    held = ev.get("holdout", {})
    t = Table(title=f"train: held-out eval at step {ev.get('step')} (held out by "
                    f"{held.get('split_by', 'parent_id')}, {held.get('permille', '?')}‰)")
    for col in ("objective", "language / pair / file", "loss / layers", "accuracy", "predicted / pairs"):
        t.add_column(col)
    if summary:  # whole examples only: nothing was truncated; xlco counts pairs and both sides' tokens
        for objective, v in sorted(summary.get("by_objective", {}).items()):
            streams = sum(1 for k in summary.get("by_stream", {}) if k.startswith(f"{objective}/"))
            t.add_row("trained", f"{objective} ({streams} streams)", "", "",
                      f"{v['examples']:,} examples, {v['tokens']:,} tokens")
    for objective, langs in ev.get("masked", {}).items():
        for lang, v in langs.items():
            t.add_row(objective, lang, f"{v['loss']:.3f}", _pct(v["accuracy"]), str(v["predicted"]))
    for pair, v in ev.get("retrieval", {}).items():
        _retrieval_row(t, f"held-out {pair}", v)
    for name, v in ev.get("retrieval_parallel", {}).items():
        _retrieval_row(t, name, v)
    if counters:
        t.caption = "  ".join(f"{k} {v:,}" for k, v in sorted(counters.items()))
    return t
