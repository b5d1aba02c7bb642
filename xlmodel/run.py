"""Train, then (on rank 0) evaluate the final checkpoint and export it to Hugging Face format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from xlmodel.config import TrainSettings
from xlmodel.evaluate import evaluate_run, load_model
from xlmodel.export import export_hf
from xlmodel.shards import load_vocab, read_sampling
from xlmodel.train import train

HF_DIR = "hf"


def export_run(run_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    model, s, _ = load_model(run_dir)
    root = Path(s.tokens_dir)
    vocab = load_vocab(read_sampling(root), root)  # only the tokenizer section: no shard is opened
    return export_hf(model, out_dir or Path(run_dir) / HF_DIR, vocab.hf_dir, vocab.bos, vocab.eos)


def run(s: TrainSettings, resume: bool = False, stop_at: int | None = None, do_eval: bool = True,
        do_export: bool = True, log_fn: Callable[[str], None] | None = None) -> dict:
    summary = train(s, resume=resume, stop_at=stop_at, log_fn=log_fn)
    import torch.distributed as dist

    main = not dist.is_initialized() or dist.get_rank() == 0
    finished = summary["steps"] == s.steps
    if main and finished and do_eval:
        summary["eval"] = evaluate_run(s.run_dir)
    if main and finished and do_export:
        if s.lang_embeddings:
            summary["export"] = "skipped: language embeddings have no place in XLMRobertaForMaskedLM"
        else:
            summary["export"] = str(export_run(s.run_dir))
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    return summary
