"""The training loop: one process, or one per GPU/CPU rank under torchrun (DDP).

Per step each rank builds its `grad_accum` micro-batches (a pure function of seed, step, rank),
all ranks all-reduce their counts first (predicted tokens, tokens and examples per stream), and
every micro-batch's summed token loss is divided by the global predicted count: the step's loss is
the mean over every predicted token of the global batch, however the batch is split across
micro-batches and ranks. XLCO's per-query loss is divided by the global query count and added
× xlco_weight. The all-reduced counts also feed the running totals every step (on the device), so
totals are exact whatever log_every and ckpt_every are, and survive a resume.

Dropout is seeded per micro-batch from (seed, step, g = rank × grad_accum + micro): ranks draw
different masks, and a resumed run draws the same ones without any saved RNG state.
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
from xlmodel.packing import check_fits
from xlmodel.parallel_files import read_parallel
from xlmodel.schedule import state_at
from xlmodel.shards import OBJECTIVE_NAMES, TokenData, open_tokens
from xlmodel.xlco import Xlco

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


def resolve_attention(s: TrainSettings, device: torch.device) -> str:
    """auto: the unpadded jagged path on CUDA (flash kernels), the dense mask on CPU, where SDPA on
    nested tensors falls back to a slow per-example loop."""
    if s.attention == "auto":
        return "nested" if device.type == "cuda" else "dense"
    if s.attention == "varlen" and device.type != "cuda":
        raise ValueError("train.attention varlen needs CUDA (flash varlen kernels): use nested or dense on CPU")
    return s.attention


def build_model(s: TrainSettings, data: TokenData, attention: str = "dense") -> Encoder:
    c = ModelConfig.from_size(s.size, data.vocab.size, max_positions=s.max_positions, dropout=s.dropout,
                              n_langs=len(data.languages) if s.lang_embeddings else 0, pad_id=data.vocab.pad)
    torch.manual_seed(s.seed)  # identical initial weights on every rank and every run
    return Encoder(c, attention=attention)


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
    """Loss sums per (objective, language) and XLCO sums over the current log window, on the device."""

    n_obj: int
    n_lang: int
    device: torch.device
    loss: torch.Tensor = field(init=False)
    count: torch.Tensor = field(init=False)
    xlco: torch.Tensor = field(init=False)  # [loss sum, hits, queries]
    wait: float = 0.0

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.loss = torch.zeros(self.n_obj * self.n_lang, dtype=torch.float64, device=self.device)
        self.count = torch.zeros_like(self.loss)
        self.xlco = torch.zeros(3, dtype=torch.float64, device=self.device)
        self.wait = 0.0

    def add(self, losses: torch.Tensor, mb: MicroBatch) -> None:
        idx = mb.pred_objective * self.n_lang + mb.pred_lang
        self.loss.index_add_(0, idx, losses.detach().double())
        self.count.index_add_(0, idx, torch.ones_like(losses, dtype=torch.float64))

    def add_xlco(self, losses: torch.Tensor, hits: torch.Tensor) -> None:
        self.xlco += torch.stack([losses.detach().double().sum(), hits.double().sum(),
                                  torch.tensor(float(len(losses)), dtype=torch.float64, device=self.device)])


class Counts:
    """Per-step counts as one float64 vector, all-reduced once per step:
    [predicted, tokens, examples, Σ example length², examples per stream (2S: masked streams, then XLCO),
    tokens per stream (2S)]. Σ length² / tokens is the attended length per token of the unpadded layouts."""

    def __init__(self, n_streams: int):
        self.S = n_streams

    @property
    def size(self) -> int:
        return 4 + 4 * self.S

    def of_step(self, mbs: list[MicroBatch]) -> list[float]:
        ex = sum(m.stream_examples for m in mbs)
        tok = sum(m.stream_tokens for m in mbs)
        return [float(sum(len(m.labels) for m in mbs)), float(sum(m.n_tokens for m in mbs)),
                float(sum(m.n_examples for m in mbs)), float(sum(m.sq_tokens for m in mbs)),
                *ex.astype(float).tolist(), *tok.astype(float).tolist()]

    def describe(self, v, data: TokenData) -> dict:
        """{tokens, predicted, examples, by_objective: {obj: {examples, tokens}}, by_stream: {obj/key: …}}
        (XLCO counts pairs as examples and both sides' tokens as tokens)."""
        v = [int(round(float(x))) for x in v]
        S = self.S
        ex, tok = v[4:4 + 2 * S], v[4 + 2 * S:]
        by_stream: dict[str, dict] = {}
        by_obj: dict[str, dict] = {}
        for i in range(2 * S):
            st = data.streams[i % S]
            obj = st.objective if i < S else "xlco"
            if ex[i] == 0:
                continue
            by_stream[f"{obj}/{st.key}"] = {"examples": ex[i], "tokens": tok[i]}
            o = by_obj.setdefault(obj, {"examples": 0, "tokens": 0})
            o["examples"] += ex[i]
            o["tokens"] += tok[i]
        return {"predicted": v[0], "tokens": v[1], "examples": v[2], "sq_tokens": v[3], "by_objective": by_obj,
                "by_stream": by_stream}


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
    check_fits(data, s.seq_len)  # nothing is truncated: refuse data whose examples do not fit a row
    for path in s.eval_parallel:  # a bad held-out file fails now, not after the last step
        read_parallel(path, data.languages)
    attention = resolve_attention(s, device)
    maker = BatchMaker(data, s, unpadded=attention != "dense")
    model = build_model(s, data, attention).to(device)
    xlco = Xlco(model, s, device) if s.xlco_weight > 0 else None
    opt = build_optimizer(model, s, device)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(s))
    counts = Counts(len(data.streams))
    totals = torch.zeros(counts.size, dtype=torch.float64, device=device)  # running, updated every step

    start = 0
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
        start = ck["step"]
        totals = torch.tensor(ck["totals"]["vector"], dtype=torch.float64, device=device)
        if xlco is not None:
            xlco.load_state_dict(ck["xlco"])
        if d.main:
            say(f"resumed from {ckpt_path.name} (step {start})")
    if d.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        s.save(run_dir / SETTINGS_FILE)
        _truncate_metrics(run_dir / METRICS_FILE, start)
        if attention != "dense":
            say(f"attention: {attention} (unpadded rows" + (", no attention dropout)" if attention == "varlen"
                                                             else ")"))

    ddp = DDP(model, device_ids=[device.index] if device.type == "cuda" else None) if d.world > 1 else None
    net = ddp or model
    if s.compile:
        net = torch.compile(net)
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" and s.precision == "bf16"
                else contextlib.nullcontext())
    peak = device_peak_flops(torch.cuda.get_device_name(device), s.peak_tflops) if device.type == "cuda" else None
    end = min(s.steps, stop_at) if stop_at is not None else s.steps
    stats = WindowStats(len(OBJECTIVE_NAMES), len(data.languages), device)
    window = torch.zeros(counts.size, dtype=torch.float64, device=device)
    writer = _tensorboard(run_dir) if s.tensorboard and d.main else None
    progress = _progress(s.progress and d.main, start, end)
    metrics_f = open(run_dir / METRICS_FILE, "a", encoding="utf-8") if d.main else None
    prefetch = Prefetcher(maker, d.rank, start, end)
    n_queries = 2 * s.xlco_pairs * s.grad_accum * d.world  # XLCO queries of a global step (both directions)
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
            step_counts = _all_reduce(torch.tensor(counts.of_step(mbs), dtype=torch.float64, device=device), d)
            totals += step_counts
            window += step_counts
            # DDP averages gradients over ranks; `world /` undoes that so the loss is a global mean.
            scale = d.world / step_counts[0].clamp_min(1.0)
            keys = []
            for i, mb in enumerate(mbs):
                mb = mb.to(device)
                torch.manual_seed(mb.dropout_seed)
                sync = ddp is None or i == len(mbs) - 1
                with (contextlib.nullcontext() if sync else ddp.no_sync()), autocast:
                    out = net(mb.input_ids, mb.position_ids, mb.doc_ids, mb.pred_index, mb.labels,
                              mb.lang_ids if s.lang_embeddings else None, layout=mb.layout, xlco=mb.xlco,
                              xlco_layer=xlco.layer if xlco else 0, xlco_pooling=s.xlco_pooling)
                    losses = out[0] if xlco else out
                    loss = losses.sum() * scale
                    if xlco is not None:
                        xl, hits, k = xlco.losses(out[1], mb.xlco, autocast)
                        loss = loss + xl.sum() * (s.xlco_weight * d.world / n_queries)
                        stats.add_xlco(xl, hits)
                        keys.append(k)
                loss.backward()
                stats.add(losses, mb)
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            if xlco is not None:
                xlco.after_step(model, keys, d.world)
            window_steps += 1
            done = step + 1
            if done % s.log_every == 0 or done == end:
                rec = _log_record(stats, d, data, s, model.config, done, window_t0, window_steps, counts, window,
                                  totals, sched.get_last_lr()[0], float(grad_norm), peak, attention)
                last_loss = rec["loss"]
                if metrics_f is not None:
                    metrics_f.write(json.dumps(rec, sort_keys=True) + "\n")
                    metrics_f.flush()
                if writer is not None:
                    for k_ in ("loss", "lr", "grad_norm", "tokens_per_s", "data_wait_pct"):
                        writer.add_scalar(f"train/{k_}", rec[k_], done)
                    for k_, v in rec["loss_by_objective"].items():
                        writer.add_scalar(f"loss_objective/{k_}", v, done)
                if progress is not None:
                    progress.update(done, rec)
                stats.reset()
                window.zero_()
                window_t0, window_steps = time.perf_counter(), 0
            if done % s.ckpt_every == 0 or done == end:
                _checkpoint(run_dir, done, model, opt, sched, s, d, counts, totals, maker, xlco)
    finally:
        prefetch.close()
        if progress is not None:
            progress.close()
        if metrics_f is not None:
            metrics_f.close()
        if writer is not None:
            writer.close()
    t = counts.describe(totals.cpu().tolist(), data)
    return {"steps": end, "start_step": start, "tokens": t["tokens"], "predicted": t["predicted"],
            "examples": t["examples"], "by_objective": t["by_objective"], "by_stream": t["by_stream"],
            "loss": last_loss, "run_dir": str(run_dir), "world": d.world, "device": str(device),
            "attention": attention}


def _log_record(stats: WindowStats, d: Dist, data: TokenData, s: TrainSettings, mc: ModelConfig, step: int,
                t0: float, n_steps: int, counts: Counts, window: torch.Tensor, totals: torch.Tensor, lr: float,
                grad_norm: float, peak: float | None, attention: str = "dense") -> dict:
    loss = _all_reduce(stats.loss.clone(), d).cpu().numpy().reshape(len(OBJECTIVE_NAMES), -1)
    count = _all_reduce(stats.count.clone(), d).cpu().numpy().reshape(len(OBJECTIVE_NAMES), -1)
    side = _all_reduce(torch.cat([stats.xlco, torch.tensor([stats.wait], dtype=torch.float64,
                                                           device=stats.device)]), d).cpu().numpy()
    xl_loss, xl_hits, xl_n, wait = float(side[0]), float(side[1]), float(side[2]), float(side[3]) / d.world
    w = counts.describe(window.cpu().tolist(), data)
    elapsed = max(time.perf_counter() - t0, 1e-9)
    tokens, n_pred = w["tokens"], int(count.sum())
    by_obj = {OBJECTIVE_NAMES[o]: float(loss[o].sum() / count[o].sum()) for o in range(len(OBJECTIVE_NAMES))
              if count[o].sum() > 0}
    if xl_n > 0:
        by_obj["xlco"] = xl_loss / xl_n
    by_lang = {data.languages[g]: float(loss[:, g].sum() / count[:, g].sum()) for g in range(len(data.languages))
               if count[:, g].sum() > 0}
    rec = {"step": step, "loss": float(loss.sum() / max(n_pred, 1)), "lr": lr, "grad_norm": grad_norm,
           "tokens": tokens, "predicted": n_pred, "examples": w["examples"], "tokens_per_s": tokens / elapsed,
           "predicted_per_s": n_pred / elapsed, "data_wait_pct": 100.0 * wait / elapsed,
           "step_time_s": elapsed / max(n_steps, 1), "loss_by_objective": by_obj, "loss_by_lang": by_lang,
           "examples_by_objective": {k: v["examples"] for k, v in w["by_objective"].items()},
           "tokens_by_objective": {k: v["tokens"] for k, v in w["by_objective"].items()},
           "examples_by_stream": {k: v["examples"] for k, v in w["by_stream"].items()},
           "tokens_by_stream": {k: v["tokens"] for k, v in w["by_stream"].items()},
           "totals": counts.describe(totals.cpu().tolist(), data), "schedule": state_at(s, step - 1)}
    if xl_n > 0:
        rec["xlco_accuracy"] = xl_hits / xl_n
    if peak:
        # attended length per token: the whole row under the dense mask, the own example when unpadded
        attended = s.seq_len if attention == "dense" else w["sq_tokens"] / max(tokens, 1)
        rec["mfu"] = mfu(mc, attended, n_pred / max(tokens, 1), tokens / elapsed, peak, d.world)
    return rec


def _checkpoint(run_dir: Path, step: int, model: Encoder, opt, sched, s: TrainSettings, d: Dist, counts: Counts,
                totals: torch.Tensor, maker: BatchMaker, xlco: Xlco | None) -> None:
    if d.main:
        vector = totals.cpu().tolist()
        state = {
            "step": step, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "settings": s.to_dict(),
            "totals": {"vector": vector, **counts.describe(vector, maker.data)},
            "model_config": model.config.__dict__, "languages": maker.data.languages,
            "sampler": maker.sampler.state_dict(), "world_x_accum": d.world * s.grad_accum,
            "schedule": state_at(s, step), "xlco": xlco.state_dict() if xlco is not None else None,
        }
        save_checkpoint(run_dir, step, state, s.keep_checkpoints)
    if d.world > 1:
        dist.barrier()


# Settings that change which batches are drawn or what the model is: a resume must not change them.
_RESUME_KEYS = ("seed", "size", "seq_len", "batch_rows", "objective_weights", "languages", "mask_rate",
                "mask_token_frac", "random_token_frac", "entity_masking", "entity_prob", "holdout_permille",
                "lang_embeddings", "max_positions", "xlco_weight", "xlco_pairs", "xlco_negatives", "xlco_queue",
                "xlco_momentum", "xlco_temperature", "xlco_layer", "xlco_pooling", "alpha_schedule",
                "mask_rate_schedule", "language_phases", "strip_markers")


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

