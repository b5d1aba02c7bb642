"""`python -m xlmodel train|eval|export` — also what torchrun launches, one process per rank:

    torchrun --nproc_per_node=8 -m xlmodel train --settings run.json
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m xlmodel")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train (then evaluate and export on rank 0)")
    t.add_argument("--settings", required=True, help="JSON file of TrainSettings fields")
    t.add_argument("--resume", action="store_true", help="continue from the run's latest checkpoint")
    t.add_argument("--stop-at", type=int, default=None, help="stop after this step (schedule unchanged)")
    t.add_argument("--no-eval", action="store_true")
    t.add_argument("--no-export", action="store_true")
    t.add_argument("--summary", default=None, help="write the run summary (JSON) here (rank 0)")
    e = sub.add_parser("eval", help="evaluate a run's latest checkpoint on held-out data")
    e.add_argument("run_dir")
    e.add_argument("--tokens", default=None, help="tokens folder (default: the one the run trained on)")
    e.add_argument("--pairs", action="append", default=None,
                   help="held-out parallel file or folder (TSV, Moses/Tatoeba, FLORES; repeatable)")
    x = sub.add_parser("export", help="export a run's latest checkpoint to Hugging Face format")
    x.add_argument("run_dir")
    x.add_argument("out_dir", nargs="?", default=None)
    a = p.parse_args(argv)

    if a.cmd == "train":
        import torch.distributed as dist

        from xlmodel.config import TrainSettings
        from xlmodel.run import run

        s = TrainSettings.load(a.settings)
        summary = run(s, resume=a.resume, stop_at=a.stop_at, do_eval=not a.no_eval, do_export=not a.no_export)
        if a.summary and (not dist.is_initialized() or dist.get_rank() == 0):
            with open(a.summary, "w", encoding="utf-8") as f:
                json.dump(summary, f, indent=2, sort_keys=True)
        return 0
    if a.cmd == "eval":
        from xlmodel.evaluate import evaluate_run

        print(json.dumps(evaluate_run(a.run_dir, a.tokens, parallel=a.pairs), indent=2, sort_keys=True))
        return 0
    from xlmodel.run import export_run

    print(export_run(a.run_dir, a.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
