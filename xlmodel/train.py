"""The training loop: one process, or one per GPU/CPU rank under torchrun (DDP).

Per step each rank builds its `grad_accum` micro-batches (a pure function of seed, step, rank),
all ranks all-reduce their predicted-token count first, and every micro-batch's summed token loss is
divided by that global count: the step's loss is the mean over every predicted token of the global
batch, however the batch is split across micro-batches and ranks.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from xlmodel.batches import BatchMaker, MicroBatch
from xlmodel.checkpoint import atomic_write_text, latest_checkpoint, load_checkpoint, save_checkpoint
from xlmodel.config import TrainSettings
from xlmodel.mfu import device_peak_flops, mfu
from xlmodel.model import Encoder, ModelConfig
from xlmodel.shards import OBJECTIVE_NAMES, TokenData, open_tokens

METRICS_FILE = "metrics.jsonl"
SETTINGS_FILE = "settings.json"


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> Dist:
    """DDP when launched by torchrun (WORLD_SIZE > 1): nccl on GPU, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Dist(rank=dist.get_rank(), world=dist.get_world_size(), local_rank=int(os.environ.get("LOCAL_RANK", 0)))


def pick_device(s: TrainSettings) -> torch.device:
    if s.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if s.device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is cuda but torch sees no CUDA device")
    return torch.device(s.device)


def build_model(s: TrainSettings, data: TokenData) -> Encoder:
    c = ModelConfig.from_size(s.size, data.vocab.size, max_positions=s.max_positions, dropout=s.dropout,
                              n_langs=len(data.languages) if s.lang_embeddings else 0, pad_id=data.vocab.pad)
    torch.manual_seed(s.seed)  # identical initial weights on every rank and every run
    return Encoder(c)


def build_optimizer(model: Encoder, s: TrainSettings, device: torch.device) -> torch.optim.Optimizer:
    # No weight decay on biases and LayerNorm gains (1-D parameters), as in BERT/XLM-R.
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    fused = device.type == "cuda"  # fused AdamW kernel: one launch for all parameters
    return torch.optim.AdamW(groups, lr=s.lr, betas=tuple(s.betas), fused=fused)


def lr_lambda(s: TrainSettings) -> Callable[[int], float]:
    def f(step: int) -> float:
        if step < s.warmup_steps:
            return (step + 1) / s.warmup_steps
        frac = min(1.0, (step - s.warmup_steps) / max(1, s.steps - s.warmup_steps))
        if s.schedule == "cosine":
            return s.min_lr_ratio + (1 - s.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * frac))
        return 1.0 - (1.0 - s.min_lr_ratio) * frac
    return f


class Prefetcher:
    """Builds the next steps' micro-batches in a background thread (numpy work overlaps the GPU)."""

    def __init__(self, maker: BatchMaker, rank: int, start: int, end: int, depth: int = 2):
        self.q: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(maker, rank, start, end), daemon=True)
        self.thread.start()

    def _run(self, maker: BatchMaker, rank: int, start: int, end: int) -> None:
        try:
            for step in range(start, end):
                item = (step, maker.step_batches(step, rank))
                while not self._stop.is_set():
                    try:
                        self.q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
        except BaseException as e:  # surfaced in get(): the main loop never waits forever on a dead thread
            self.q.put((-1, e))

    def get(self) -> tuple[int, list[MicroBatch]]:
        step, item = self.q.get()
        if isinstance(item, BaseException):
            raise item
        return step, item

    def close(self) -> None:
        self._stop.set()


@dataclass
class WindowStats:
    """Loss sums per (objective, language) over the current log window, kept on the device."""

    n_obj: int
    n_lang: int
    device: torch.device
    loss: torch.Tensor = field(init=False)
    count: torch.Tensor = field(init=False)
    tokens: int = 0
    wait: float = 0.0

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.loss = torch.zeros(self.n_obj * self.n_lang, dtype=torch.float64, device=self.device)
        self.count = torch.zeros_like(self.loss)
        self.tokens, self.wait = 0, 0.0

    def add(self, losses: torch.Tensor, mb: MicroBatch) -> None:
        idx = mb.pred_objective * self.n_lang + mb.pred_lang
        self.loss.index_add_(0, idx, losses.detach().double())
        self.count.index_add_(0, idx, torch.ones_like(losses, dtype=torch.float64))


def _all_reduce(t: torch.Tensor, d: Dist) -> torch.Tensor:
    if d.world > 1:
        dist.all_reduce(t)
    return t


def train(s: TrainSettings, resume: bool = False, stop_at: int | None = None,
          log_fn: Callable[[str], None] | None = None) -> dict:
    """Train for s.steps steps (or until stop_at); returns a summary. Writes run_dir/metrics.jsonl and
    checkpoints; resume=True continues from run_dir's latest checkpoint exactly."""
    s.validate()
    say = log_fn or print
    device = pick_device(s)
    d = init_distributed(device)
    if device.type == "cuda":
        device = torch.device("cuda", d.local_rank)
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
    if s.threads > 0:
        torch.set_num_threads(s.threads)
    run_dir = Path(s.run_dir)
    data = open_tokens(s.tokens_dir, s.languages, s.holdout_permille)
    maker = BatchMaker(data, s)
    model = build_model(s, data).to(device)
    opt = build_optimizer(model, s, device)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(s))

    start, totals = 0, {"tokens": 0, "predicted": 0, "examples": 0}
    ckpt_path = latest_checkpoint(run_dir) if resume else None
    if resume and ckpt_path is None and d.main:
        say(f"no checkpoint in {run_dir / 'checkpoints'}: starting from step 0")
    if ckpt_path is not None:
        ck = load_checkpoint(ckpt_path, map_location=device)
        _check_compatible(ck["settings"], s, ck.get("world_x_accum"), d.world * s.grad_accum)
        if ck["sampler"]["streams"] != maker.sampler.state_dict()["streams"]:
            raise ValueError("cannot resume: the token data's streams differ from the checkpoint's")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        start, totals = ck["step"], ck["totals"]
        torch.set_rng_state(ck["rng"]["torch"].cpu())
        if device.type == "cuda" and ck["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state(ck["rng"]["cuda"].cpu())
        if d.main:
            say(f"resumed from {ckpt_path.name} (step {start})")
    if d.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        s.save(run_dir / SETTINGS_FILE)
        _truncate_metrics(run_dir / METRICS_FILE, start)

    ddp = DDP(model, device_ids=[device.index] if device.type == "cuda" else None) if d.world > 1 else None
    net = ddp or model
    if s.compile:
        net = torch.compile(net)
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" and s.precision == "bf16"
                else contextlib.nullcontext())
    peak = device_peak_flops(torch.cuda.get_device_name(device), s.peak_tflops) if device.type == "cuda" else None
    end = min(s.steps, stop_at) if stop_at is not None else s.steps
    stats = WindowStats(len(OBJECTIVE_NAMES), len(data.languages), device)
    writer = _tensorboard(run_dir) if s.tensorboard and d.main else None
    progress = _progress(s.progress and d.main, start, end)
    metrics_f = open(run_dir / METRICS_FILE, "a", encoding="utf-8") if d.main else None
    prefetch = Prefetcher(maker, d.rank, start, end)
    last_loss = float("nan")
    window_t0 = time.perf_counter()
    window_steps = 0
    model.train()
    try:
        for step in range(start, end):
            t_wait = time.perf_counter()
            got, mbs = prefetch.get()
            assert got == step, (got, step)
            stats.wait += time.perf_counter() - t_wait
            # Global number of predicted tokens of this step: the loss normaliser.
            n_pred = _all_reduce(torch.tensor([float(sum(len(m.labels) for m in mbs))], device=device), d)
            scale = d.world / n_pred.clamp_min(1.0)  # DDP averages gradients over ranks; undo that
            for i, mb in enumerate(mbs):
                mb = mb.to(device)
                sync = ddp is None or i == len(mbs) - 1
                with (contextlib.nullcontext() if sync else ddp.no_sync()), autocast:
                    losses = net(mb.input_ids, mb.position_ids, mb.doc_ids, mb.pred_index, mb.labels,
                                 mb.lang_ids if s.lang_embeddings else None)
                (losses.sum() * scale).backward()
                stats.add(losses, mb)
                stats.tokens += mb.n_tokens
                totals["examples"] += mb.n_examples
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            window_steps += 1
            done = step + 1
            if done % s.log_every == 0 or done == end:
                rec = _log_record(stats, d, data, s, model.config, done, window_t0, window_steps, totals,
                                  sched.get_last_lr()[0], float(grad_norm), peak)
                last_loss = rec["loss"]
                if metrics_f is not None:
                    metrics_f.write(json.dumps(rec, sort_keys=True) + "\n")
                    metrics_f.flush()
                if writer is not None:
                    for k in ("loss", "lr", "grad_norm", "tokens_per_s", "data_wait_pct"):
                        writer.add_scalar(f"train/{k}", rec[k], done)
                    for k, v in rec["loss_by_objective"].items():
                        writer.add_scalar(f"loss_objective/{k}", v, done)
                if progress is not None:
                    progress.update(done, rec)
                stats.reset()
                window_t0, window_steps = time.perf_counter(), 0
            if done % s.ckpt_every == 0 or done == end:
                _checkpoint(run_dir, done, model, opt, sched, s, d, totals, maker)
    finally:
        prefetch.close()
        if progress is not None:
            progress.close()
        if metrics_f is not None:
            metrics_f.close()
        if writer is not None:
            writer.close()
    return {"steps": end, "start_step": start, "tokens": totals["tokens"], "predicted": totals["predicted"],
            "examples": totals["examples"], "loss": last_loss, "run_dir": str(run_dir), "world": d.world,
            "device": str(device)}


def _log_record(stats: WindowStats, d: Dist, data: TokenData, s: TrainSettings, mc: ModelConfig, step: int,
                t0: float, n_steps: int, totals: dict, lr: float, grad_norm: float, peak: float | None) -> dict:
    loss = _all_reduce(stats.loss.clone(), d).cpu().numpy().reshape(len(OBJECTIVE_NAMES), -1)
    count = _all_reduce(stats.count.clone(), d).cpu().numpy().reshape(len(OBJECTIVE_NAMES), -1)
    side = _all_reduce(torch.tensor([float(stats.tokens), stats.wait], dtype=torch.float64, device=stats.device),
                       d).cpu().numpy()
    tokens, wait = int(side[0]), float(side[1]) / d.world
    elapsed = max(time.perf_counter() - t0, 1e-9)
    n_pred = int(count.sum())
    totals["tokens"] += tokens
    totals["predicted"] += n_pred
    by_obj = {OBJECTIVE_NAMES[o]: float(loss[o].sum() / count[o].sum()) for o in range(len(OBJECTIVE_NAMES))
              if count[o].sum() > 0}
    by_lang = {data.languages[g]: float(loss[:, g].sum() / count[:, g].sum()) for g in range(len(data.languages))
               if count[:, g].sum() > 0}
    rec = {"step": step, "loss": float(loss.sum() / max(n_pred, 1)), "lr": lr, "grad_norm": grad_norm,
           "tokens": tokens, "predicted": n_pred, "tokens_per_s": tokens / elapsed,
           "predicted_per_s": n_pred / elapsed, "data_wait_pct": 100.0 * wait / elapsed,
           "step_time_s": elapsed / max(n_steps, 1), "loss_by_objective": by_obj, "loss_by_lang": by_lang}
    if peak:
        rec["mfu"] = mfu(mc, s.seq_len, n_pred / max(tokens, 1), tokens / elapsed, peak, d.world)
    return rec


def _checkpoint(run_dir: Path, step: int, model: Encoder, opt, sched, s: TrainSettings, d: Dist, totals: dict,
                maker: BatchMaker) -> None:
    if d.main:
        state = {
            "step": step, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "settings": s.to_dict(), "totals": dict(totals),
            "model_config": model.config.__dict__, "languages": maker.data.languages,
            "sampler": maker.sampler.state_dict(), "world_x_accum": d.world * s.grad_accum,
            "rng": {"torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state() if torch.cuda.is_available() else None},
        }
        save_checkpoint(run_dir, step, state, s.keep_checkpoints)
    if d.world > 1:
        dist.barrier()


# Settings that change which batches are drawn or what the model is: a resume must not change them.
_RESUME_KEYS = ("seed", "size", "seq_len", "batch_rows", "objective_weights", "languages", "mask_rate",
                "entity_masking", "entity_prob", "holdout_permille", "lang_embeddings", "max_positions")


def _check_compatible(saved: dict, s: TrainSettings, saved_wa: int | None, wa: int) -> None:
    now = s.to_dict()
    diff = [k for k in _RESUME_KEYS if json.dumps(saved.get(k)) != json.dumps(now.get(k))]
    if diff:
        raise ValueError(f"cannot resume: settings differ from the checkpoint's in {diff}")
    if saved_wa is not None and saved_wa != wa:
        raise ValueError(f"cannot resume: ranks × grad_accum was {saved_wa}, now {wa} (the global batch would change)")


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop records logged after the checkpoint we resume from (a crashed run may have logged further)."""
    if not path.is_file():
        return
    keep = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln and json.loads(ln)["step"] <= step]
    atomic_write_text(path, "".join(ln + "\n" for ln in keep))


def _tensorboard(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:  # asked for explicitly: say so rather than silently not logging
        raise RuntimeError("train.tensorboard is on but the tensorboard package is not installed "
                           "(pip install tensorboard)") from e
    return SummaryWriter(log_dir=str(run_dir / "tensorboard"))


class _Progress:
    def __init__(self, start: int, end: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.p = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                          TextColumn("{task.fields[info]}"))
        self.task = self.p.add_task("train", total=end, completed=start, info="")
        self.p.start()

    def update(self, step: int, rec: dict) -> None:
        info = f"loss {rec['loss']:.3f}  {rec['tokens_per_s']:.0f} tok/s  wait {rec['data_wait_pct']:.0f}%"
        if "mfu" in rec:
            info += f"  MFU {100 * rec['mfu']:.1f}%"
        self.p.update(self.task, completed=step, info=info)

    def close(self) -> None:
        self.p.stop()


def _progress(on: bool, start: int, end: int) -> _Progress | None:
    return _Progress(start, end) if on else None


def read_metrics(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / METRICS_FILE
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln]

