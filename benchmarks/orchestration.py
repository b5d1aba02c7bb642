"""Orchestration benchmark: the build_corpus flow with independent stages at once vs one by one.

On the demo inputs (crawl, wiki dump, parallel corpora), the flow runs mono, wiki and parallel twice
in the same process, against the same temporary Prefect server, every stage forced:

  baseline   : orchestration.concurrent_stages: false (one stage at a time, each with all workers)
  concurrent : the default DAG (mono, wiki and parallel at once, sharing runner.workers)

and prints both wall times, their ratio (baseline / concurrent: > 1 means the overlap pays), the span
of each stage, and whether both runs wrote byte-identical shards (they must: stages in threads of one
process share nothing but the machine).

    python benchmarks/orchestration.py [--workers N] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def shard_digest(out: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in out.rglob("*") if p.suffix in (".parquet", ".arrow") and "_staging" not in p.parts):
        h.update(f.relative_to(out).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def run(config: dict, concurrent: bool) -> tuple[float, list[dict]]:
    from flows.build_corpus import build_corpus

    cfg = {**config, "orchestration": {"concurrent_stages": concurrent, "report": False,
                                       "retry": {"count": 0}}}
    t0 = time.perf_counter()
    results = build_corpus(cfg, force=["all"])
    return time.perf_counter() - t0, results


def spans(results: list[dict]) -> str:
    t0 = min(r["started"] for r in results)
    return ", ".join(f"{r['stage']} {r['started'] - t0:.1f}–{r['finished'] - t0:.1f}s" for r in results)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=1, help="runner.workers (shared by concurrent stages)")
    ap.add_argument("--quick", action="store_true", help="a smaller parallel corpus")
    args = ap.parse_args()

    from flows.config import load_config
    from flows.demo import crawl, parallel, wiki
    from flows.prefect_server import prefect_api

    with tempfile.TemporaryDirectory(prefix="xlcorpus-bench-orch-") as tmp:
        data = Path(tmp) / "data"
        sections: dict = {}
        for make in (crawl.make_section, wiki.make_section):
            sections.update(make(data))
        sections.update(parallel.make_section(data, n_combined=120) if args.quick else parallel.make_section(data))
        # parallel's paths are relative to the demo config's folder: load from a config file there
        (data / "bench.yaml").write_text("{}\n")
        outs = {}
        with prefect_api(lambda m: print(m, file=sys.stderr)):
            timings = {}
            for name, concurrent in (("baseline (one by one)", False), ("concurrent", True)):
                out = Path(tmp) / name.split()[0]
                cfg = load_config(data / "bench.yaml", {
                    "out": str(out), "stages": ["mono", "wiki", "parallel"],
                    "runner.workers": args.workers, **sections})
                seconds, results = run(cfg.model_dump(mode="json"), concurrent)
                timings[name] = seconds
                outs[name] = shard_digest(out)
                print(f"{name:22s} {seconds:6.1f} s   {spans(results)}")
        base, conc = timings["baseline (one by one)"], timings["concurrent"]
        print(f"ratio baseline / concurrent: {base / conc:.2f}x  (workers={args.workers})")
        same = len(set(outs.values())) == 1
        print(f"shards byte-identical between the two runs: {'yes' if same else 'NO'} ({', '.join(outs.values())})")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
