"""Near-dup benchmark: documents/s from text to MinHash signature (shingling included) for xlcorpus's
vectorized implementation vs datasketch `MinHash.update_batch` and rensa `RMinHash` on the same
documents and the same shingles (num_perm = bands·rows), measured in the same run; then end-to-end
NearDedup documents/s at 1 and 2 workers and peak RSS (this process and its children).

    python benchmarks/neardup.py [--quick] [--docs N] [--e2e-docs N]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time

import psutil

from pipelines.neardup.minhash import band_hashes, permutations, signatures
from pipelines.neardup.params import NearDupParams
from pipelines.neardup.shingles import batch_shingle_hashes, shingle_strings


class PeakRss:
    """Samples RSS of this process plus all its children every 50 ms."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(0.05)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def make_docs(n: int, seed: int = 0, dup_rate: float = 0.3) -> list[dict]:
    """Web-like documents: 80% Latin-script word text, 10% Cyrillic, 10% Chinese; ~`dup_rate` of them
    are edited copies of an earlier document (1-5% of words changed)."""
    rnd = random.Random(seed)
    latin = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 10))) for _ in range(20000)]
    cyr = ["".join(rnd.choice("абвгдежзийклмнопрстуфхцчшщыэюя") for _ in range(rnd.randint(2, 10))) for _ in range(5000)]
    han = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    docs: list[dict] = []
    for i in range(n):
        if docs and rnd.random() < dup_rate:
            src = rnd.choice(docs)["text"]
            toks = src.split(" ") if " " in src else list(src)
            rate = rnd.choice([0.01, 0.02, 0.05])
            toks = [t if rnd.random() > rate else rnd.choice(toks) for t in toks]
            text = (" " if " " in src else "").join(toks)
        else:
            r = rnd.random()
            if r < 0.8:
                text = " ".join(rnd.choice(latin) for _ in range(rnd.randint(100, 600))) + "."
            elif r < 0.9:
                text = " ".join(rnd.choice(cyr) for _ in range(rnd.randint(100, 600))) + "."
            else:
                text = "".join(rnd.choice(han) for _ in range(rnd.randint(300, 1500))) + "。"
        docs.append({"doc_id": f"doc{i:07d}", "text": text, "source": "bench", "lang": "und_Zyyy"})
    return docs


def ours(texts: list[str], p: NearDupParams) -> float:
    perm = permutations(p.num_perm, p.seed)
    t0 = time.perf_counter()
    for lo in range(0, len(texts), p.batch_size):
        flat, off = batch_shingle_hashes(texts[lo : lo + p.batch_size], p.ngram, p.char_ngram, p.seed)
        band_hashes(signatures(flat, off, perm), p.bands, p.rows)
    return len(texts) / (time.perf_counter() - t0)


def datasketch_rate(texts: list[str], p: NearDupParams) -> float:
    from datasketch import MinHash

    t0 = time.perf_counter()
    for t in texts:
        m = MinHash(num_perm=p.num_perm, seed=p.seed)
        m.update_batch([s.encode("utf-8") for s in shingle_strings(t, p.ngram, p.char_ngram)])
        m.digest()
    return len(texts) / (time.perf_counter() - t0)


def rensa_rate(texts: list[str], p: NearDupParams) -> float:
    from rensa import RMinHash

    t0 = time.perf_counter()
    for t in texts:
        m = RMinHash(num_perm=p.num_perm, seed=p.seed)
        m.update(shingle_strings(t, p.ngram, p.char_ngram))
        m.digest()
    return len(texts) / (time.perf_counter() - t0)


def end_to_end(docs: list[dict], p: NearDupParams, workers: int) -> tuple[float, int, int, int]:
    """docs/s of a whole NearDedup pipeline (Create → NearDedup → count), kept, removed, peak RSS."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.counters import metrics_by_name
    from pipelines.neardup.transform import NearDedup

    args = ["--runner=FnApiRunner"]
    if workers > 1:
        args += ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
    with tempfile.TemporaryDirectory() as tmp, PeakRss() as rss:
        t0 = time.perf_counter()
        pipe = beam.Pipeline(options=PipelineOptions(args))
        kept, _rejects = pipe | beam.Create(docs) | NearDedup(p, stage="bench")
        (kept | beam.combiners.Count.Globally() | beam.Map(str) | beam.io.WriteToText(f"{tmp}/kept"))
        result = pipe.run()
        result.wait_until_finish()
        dt = time.perf_counter() - t0
        with open(next(iter(__import__("glob").glob(f"{tmp}/kept*")))) as f:
            n_kept = int(f.read())
    removed = metrics_by_name(result, "bench").get("docs.dropped.near_duplicate", 0)
    return len(docs) / dt, n_kept, removed, rss.peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (~20 s)")
    ap.add_argument("--docs", type=int, default=None, help="documents for the signature comparison")
    ap.add_argument("--e2e-docs", type=int, default=None, help="documents for the end-to-end runs")
    a = ap.parse_args()
    n_sig = a.docs or (600 if a.quick else 2500)
    n_e2e = a.e2e_docs or (1000 if a.quick else 3000)
    p = NearDupParams()
    docs = make_docs(n_sig)
    texts = [d["text"] for d in docs]
    words = sum(len(t.split()) for t in texts) / len(texts)
    print(f"signatures: {n_sig} docs (mean {words:.0f} whitespace tokens), {p.bands}x{p.rows} = {p.num_perm} perms")

    batch_shingle_hashes(texts[:10])  # build lookup tables before timing (once per process)
    # Interleaved repetitions, best of each: a shared machine's load hits all three alike.
    r_ours = r_rensa = r_ds = 0.0
    for _ in range(3):
        r_ours = max(r_ours, ours(texts, p))
        r_rensa = max(r_rensa, rensa_rate(texts, p))
        r_ds = max(r_ds, datasketch_rate(texts[: max(200, n_sig // 5)], p))
    print(f"  xlcorpus (numpy, batched)     {r_ours:9.0f} docs/s")
    print(f"  rensa RMinHash                {r_rensa:9.0f} docs/s   ours/rensa      = {r_ours / r_rensa:5.2f}x")
    print(f"  datasketch update_batch       {r_ds:9.0f} docs/s   ours/datasketch = {r_ours / r_ds:5.2f}x")

    e2e = make_docs(n_e2e, seed=1)
    print(f"end-to-end NearDedup (verify={p.verify}, max_rounds={p.max_rounds}): {n_e2e} docs")
    base = None
    for w in (1, 2):
        rate, kept, removed, peak = end_to_end(e2e, p, w)
        base = base or rate
        print(f"  {w} worker(s): {rate:7.0f} docs/s  (x{rate / base:4.2f} vs 1 worker)  kept {kept}, "
              f"removed {removed}, peak RSS {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
