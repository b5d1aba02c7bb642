"""NearDedup end to end on a generated corpus with planted near-duplicate families, checked against
brute-force all-pairs Jaccard; CJK; chains; determinism across runs and worker counts; non-convergence."""

from __future__ import annotations

import glob
import json
import random

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.counters import metrics_by_name
from pipelines.neardup.components import components_reference
from pipelines.neardup.params import NearDupParams
from pipelines.neardup.shingles import shingle_strings
from pipelines.neardup.transform import ConnectedComponents, NearDedup

PARAMS = NearDupParams(seed=3, threshold=0.7, verify="estimated", batch_size=64)
HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 2500)]
KANA = [chr(c) for c in range(0x3042, 0x3094)]


def _edit(tokens: list[str], rate: float, rnd: random.Random, pool: list[str]) -> list[str]:
    out = []
    for t in tokens:
        r = rnd.random()
        if r < rate / 3:
            continue  # deletion
        if r < 2 * rate / 3:
            out.append(rnd.choice(pool))  # substitution
        elif r < rate:
            out += [t, rnd.choice(pool)]  # insertion
        else:
            out.append(t)
    return out


def make_corpus(seed: int = 42) -> tuple[list[dict], list[str]]:
    """Documents with planted families (random word edits at known rates), unique documents, Chinese
    and Japanese families, and a chain whose ends are not near-duplicates. Returns (docs, chain ids)."""
    rnd = random.Random(seed)
    vocab = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9))) for _ in range(4000)]
    texts: list[str] = []
    for _ in range(45):
        base = [rnd.choice(vocab) for _ in range(rnd.randint(80, 350))]
        texts.append(" ".join(base).capitalize() + ".")
        for _ in range(rnd.randint(1, 4)):
            rate = rnd.choice([0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.15])
            texts.append(" ".join(_edit(base, rate, rnd, vocab)) + "!")
    texts += [" ".join(rnd.choice(vocab) for _ in range(rnd.randint(3, 300))) for _ in range(70)]
    for fam in range(8):  # Chinese (no kana) and Japanese (kana + kanji) families: character shingles
        pool = HAN if fam < 5 else HAN[:300] + KANA * 4
        base = [rnd.choice(pool) for _ in range(rnd.randint(150, 400))]
        texts.append("".join(base) + "。")
        for rate in (0.01, 0.02, 0.04):
            texts.append("".join(_edit(base, rate, rnd, pool)))
    words = [rnd.choice(vocab) for _ in range(560)]
    chain = [" ".join(words[i * 35 : i * 35 + 420]) for i in range(5)]  # neighbours ~0.84, ends ~0.48
    docs = [_doc(f"d{i:04d}", t) for i, t in enumerate(texts)]
    docs += [_doc(f"chain{i}", t) for i, t in enumerate(chain)]
    return docs, [f"chain{i}" for i in range(5)]


def _doc(doc_id: str, text: str) -> dict:
    return {"doc_id": doc_id, "text": text, "source": "gen.jsonl", "source_offset": len(doc_id), "lang": "xxx_Latn",
            "url": f"https://example.org/{doc_id}"}


def run_neardedup(docs: list[dict], out_dir, params: NearDupParams, workers: int = 1) -> tuple[list, list, dict]:
    args = ["--runner=FnApiRunner"]
    if workers > 1:
        args += ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
    p = beam.Pipeline(options=PipelineOptions(args))
    kept, rejects = p | beam.Create(docs, reshuffle=False) | "NearDedup" >> NearDedup(params, stage="mono")
    kept | "KeptJson" >> beam.Map(lambda d: json.dumps(d, sort_keys=True)) | "WriteKept" >> beam.io.WriteToText(
        str(out_dir / "kept"))
    rejects | "RejJson" >> beam.Map(lambda d: json.dumps(d, sort_keys=True)) | "WriteRej" >> beam.io.WriteToText(
        str(out_dir / "rejects"))
    result = p.run()
    result.wait_until_finish()

    def read(prefix):
        return sorted(line for f in glob.glob(str(out_dir / prefix) + "*") for line in open(f, encoding="utf-8"))

    return read("kept"), read("rejects"), metrics_by_name(result, "mono")


@pytest.fixture(scope="module")
def corpus():
    return make_corpus()


@pytest.fixture(scope="module")
def one_worker(corpus, tmp_path_factory):
    return run_neardedup(corpus[0], tmp_path_factory.mktemp("w1"), PARAMS, workers=1)


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def test_precision_recall_against_brute_force(corpus, one_worker):
    docs, chain = corpus
    kept_lines, reject_lines, counters = one_worker
    kept = {d["doc_id"]: d for d in map(json.loads, kept_lines)}
    rejects = [json.loads(r) for r in reject_lines]
    cluster = {d: k["dup_cluster_id"] for d, k in kept.items()}
    for r in rejects:
        assert r["reason"] == "near_duplicate" and r["stage"] == "mono" and r["step"] == "NearDedup"
        cluster[r["record_id"]] = r["detail"].split()[1]
    assert len(cluster) == len(docs) == len(kept) + len(rejects)  # every doc exactly once

    sets = {d["doc_id"]: set(shingle_strings(d["text"])) for d in docs}
    ids = sorted(sets)
    best = dict.fromkeys(ids, (0.0, ""))
    sim = {}
    for i, a in enumerate(ids):  # brute force: every pair
        for b in ids[i + 1 :]:
            j = _jaccard(sets[a], sets[b])
            sim[a, b] = sim[b, a] = j
            best[a] = max(best[a], (j, b))
            best[b] = max(best[b], (j, a))

    t = PARAMS.threshold
    removed = [r["record_id"] for r in rejects]
    good = [d for d in removed if any(sim[d, k] >= t - 0.1 for k in kept)]
    precision = len(good) / len(removed)
    should = [d for d in ids if best[d][0] >= t + 0.1]
    found = [d for d in should if cluster[d] == cluster[best[d][1]]]
    recall = len(found) / len(should)
    assert len(removed) > 60 and len(should) > 60  # the planted families are really there
    print(f"precision {precision:.3f} ({len(removed)} removed), recall {recall:.3f} ({len(should)} to find)")
    assert precision >= 0.95, precision
    assert recall >= 0.90, recall

    # CJK families were found (character shingles); the chain ends in one cluster although its ends differ
    cjk_removed = [d for d in removed if "\u4e00" <= next(x for x in docs if x["doc_id"] == d)["text"][0] <= "\u9fff"]
    assert len(cjk_removed) >= 12
    assert _jaccard(sets[chain[0]], sets[chain[-1]]) < t - 0.2
    assert len({cluster[c] for c in chain}) == 1

    # kept docs: cluster fields set, the cluster's longest text kept, every other field untouched
    by_id = {d["doc_id"]: d for d in docs}
    for d, k in kept.items():
        assert {x: k[x] for x in by_id[d]} == by_id[d]
        members = [m for m, c in cluster.items() if c == k["dup_cluster_id"]]
        assert k["dup_cluster_size"] == len(members)
        assert k["dup_cluster_id"] == min(members, key=lambda m: (-len(by_id[m]["text"]), m)) == d
    assert counters["docs.dropped.near_duplicate"] == len(rejects)
    assert "docs.read" not in counters and "docs.kept" not in counters  # the mono stage counts those
    assert counters["neardup_pairs.read"] == counters["neardup_pairs.kept"] + counters.get(
        "neardup_pairs.dropped.below_threshold", 0)
    assert any(k.startswith("neardup.cc_changed.round_") for k in counters)


def test_same_output_across_runs_and_worker_counts(corpus, one_worker, tmp_path):
    kept, rejects, _ = run_neardedup(corpus[0], tmp_path, PARAMS, workers=2)
    assert kept == one_worker[0]
    assert rejects == one_worker[1]


def test_exact_verification_and_disabled(corpus, tmp_path):
    docs = corpus[0][:60] + [d for d in corpus[0] if d["doc_id"].startswith("chain")]
    kept, rejects, counters = run_neardedup(docs, tmp_path / "exact", NearDupParams(verify="exact", seed=3))
    assert len(kept) + len(rejects) == len(docs) and len(rejects) >= 10
    assert counters["neardup_pairs.dropped.below_threshold"] + counters["neardup_pairs.kept"] == counters[
        "neardup_pairs.read"]
    kept, rejects, _ = run_neardedup(docs[:20], tmp_path / "off", NearDupParams(enabled=False))
    assert rejects == [] and all(json.loads(k)["dup_cluster_size"] == 1 for k in kept)


def _path_edges(n: int) -> list:
    rnd = random.Random(5)
    names = [(0, f"n{i:04d}") for i in range(n)]
    rnd.shuffle(names)
    return [(max(a, b), min(a, b)) for a, b in zip(names, names[1:], strict=False)]


def test_components_converge_or_fail_loudly(tmp_path):
    edges = _path_edges(200) + [((0, "z2"), (0, "z1"))]
    with beam.Pipeline(runner="FnApiRunner") as p:
        (p | beam.Create(edges) | ConnectedComponents(max_rounds=12, stage="mono")
         | beam.Map(json.dumps) | beam.io.WriteToText(str(tmp_path / "cc")))
    got = {m[1]: [r[1], size] for m, (r, size) in
           (json.loads(line) for f in glob.glob(str(tmp_path / "cc*")) for line in open(f))}
    ref = components_reference(edges)
    assert got == {v[1]: [r[1], 200 if r[1] != "z1" else 2] for v, r in ref.items()}
    with pytest.raises(Exception, match="raise neardup.max_rounds"):
        with beam.Pipeline(runner="FnApiRunner") as p:
            _ = p | beam.Create(edges) | ConnectedComponents(max_rounds=2, stage="mono")
