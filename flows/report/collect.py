"""Gather what a build produced, generically: every product manifest under OUT, the stage markers,
tokens/sampling.json, a few columns of documents / alignments / codeswitch shards, and the trainer's
metrics.jsonl / eval.json. Whatever is missing is simply absent from the report; whatever is present
but unreadable is listed in `problems` (shown in the report), never skipped silently.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.shuffle_counters import shuffle_table
from schemas.manifest import MANIFEST_NAME, Manifest, ManifestError, read_manifest

LID_BINS = np.linspace(0.0, 1.0, 21)
# Column scans stop after this many rows per product: the report stays fast on a full crawl and says so.
MAX_SCAN_ROWS = 500_000
SKIP_DIRS = {"_staging", "_dryrun"}


@dataclass
class UnitCounts:
    read: int = 0
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)  # records made out of others (read + created = kept + dropped)

    def reasons(self) -> str:
        """`reason=n, ...`, largest first ("" when nothing was dropped)."""
        return ", ".join(f"{r}={n:,}" for r, n in sorted(self.dropped.items(), key=lambda x: -x[1]))


@dataclass
class Scan:
    """Rows scanned of a product (== total unless capped at MAX_SCAN_ROWS)."""

    scanned: int = 0
    total: int = 0


@dataclass
class ReportData:
    out: str
    manifests: dict[str, Manifest] = field(default_factory=dict)  # rel dir → manifest
    stages: dict[str, dict[str, UnitCounts]] = field(default_factory=dict)  # stage → unit → counts
    stage_keys: dict[str, str] = field(default_factory=dict)  # stage → key of its completion marker
    sampling: dict | None = None
    lid_hist: dict[str, list[int]] = field(default_factory=dict)  # lang → counts per LID_BINS bin
    lid_scan: Scan | None = None
    lid_counters: dict[str, int] = field(default_factory=dict)  # mono's lid.* / mixed.* counters (script attribution, splits)
    line_lang: dict[str, dict] = field(default_factory=dict)  # lang → docs, mean line_lang_frac, docs under 0.5
    dup_sizes: dict[int, int] = field(default_factory=dict)  # cluster size → documents
    alignment: dict[str, dict] = field(default_factory=dict)  # pair → pairs, links, links/src token
    alignment_scan: Scan | None = None
    codeswitch: dict[str, dict] = field(default_factory=dict)  # kind → samples, spans, langs
    metrics: list[dict] = field(default_factory=list)
    evaluation: dict | None = None
    # stage → {"shuffles": {name: {"bytes", "elements"}}, "text_bytes": input text bytes (0 if unknown)}
    shuffles: dict[str, dict] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.manifests or self.sampling or self.metrics or self.evaluation)


def counters_by_unit(counters: dict[str, int]) -> dict[str, UnitCounts]:
    """`<unit>.read/.kept/.dropped.<reason>` → per-unit counts, for units with a `.read` counter (those
    reconcile: read = kept + dropped); breakdowns without one (e.g. per-language kept) are left out."""
    units: dict[str, UnitCounts] = {}
    for name, value in sorted(counters.items()):
        if ".dropped." in name:
            unit, reason = name.split(".dropped.", 1)
            units.setdefault(unit, UnitCounts()).dropped[reason] = int(value)
        elif ".created." in name:
            unit, reason = name.split(".created.", 1)
            units.setdefault(unit, UnitCounts()).created[reason] = int(value)
        elif name.endswith((".read", ".kept")):
            unit, kind = name.rsplit(".", 1)
            setattr(units.setdefault(unit, UnitCounts()), kind, int(value))
    return {u: c for u, c in units.items() if f"{u}.read" in counters}


def _product_dirs(out: Path) -> list[Path]:
    return sorted(
        p.parent for p in out.rglob(MANIFEST_NAME) if not SKIP_DIRS.intersection(p.relative_to(out).parts)
    )


def _shards(product: Path, manifest: Manifest) -> list[Path]:
    return [product / f.path for f in manifest.files if f.path.endswith(".parquet")]


def _scan(product: Path, manifest: Manifest, columns: list[str], take: Callable[[pa.Table], None]) -> Scan:
    """Feed `take` the requested columns, shard by shard, up to MAX_SCAN_ROWS rows."""
    scan = Scan(total=manifest.rows)
    for path in _shards(product, manifest):
        if scan.scanned >= MAX_SCAN_ROWS:
            break
        table = pq.read_table(path, columns=columns).slice(0, MAX_SCAN_ROWS - scan.scanned)
        scan.scanned += table.num_rows
        take(table)
    return scan


def _documents(data: ReportData, product: Path, m: Manifest) -> None:
    shards = _shards(product, m)
    names = set(pq.read_schema(shards[0]).names) if shards else set()
    cols = [c for c in ("lang", "lang_score", "dup_cluster_size", "line_lang_frac") if c in names]
    hist: dict[str, np.ndarray] = {}
    sizes: Counter[int] = Counter()
    fracs: dict[str, list[float]] = {}  # lang → [documents, sum of line_lang_frac, documents under 0.5]

    def take(t: pa.Table) -> None:
        if "lang_score" in t.column_names:
            langs = t.column("lang").to_numpy(zero_copy_only=False)
            scores = t.column("lang_score").to_numpy(zero_copy_only=False).astype(float)
            for lang in np.unique(langs):
                counts, _ = np.histogram(scores[langs == lang], bins=LID_BINS)
                hist[lang] = hist.get(lang, np.zeros(len(LID_BINS) - 1, dtype=np.int64)) + counts
        if "line_lang_frac" in t.column_names:  # null unless mono.lid_per_line / split_mixed
            for lang, frac in zip(t.column("lang").to_pylist(), t.column("line_lang_frac").to_pylist(), strict=True):
                if frac is not None:
                    acc = fracs.setdefault(lang, [0, 0.0, 0])
                    acc[0], acc[1], acc[2] = acc[0] + 1, acc[1] + frac, acc[2] + (frac < 0.5)
        if "dup_cluster_size" in t.column_names:
            vc = pc.value_counts(t.column("dup_cluster_size").drop_null())
            for item in vc.to_pylist():
                sizes[int(item["values"])] += int(item["counts"])

    data.lid_scan = _scan(product, m, cols, take)
    data.lid_hist = {k: v.tolist() for k, v in sorted(hist.items())}
    data.dup_sizes = dict(sorted(sizes.items()))
    data.line_lang = {lang: {"docs": n, "mean": total / n, "under_half": low}
                      for lang, (n, total, low) in sorted(fracs.items())}
    data.lid_counters = {k: v for k, v in sorted(m.counters.items()) if k.startswith(("lid.", "mixed.", "mixed_lines."))
                         or k.startswith("docs.created.")}


def _alignments(data: ReportData, product: Path, m: Manifest) -> None:
    acc: dict[str, list[int]] = {}

    def take(t: pa.Table) -> None:
        pairs = pc.binary_join_element_wise(t.column("src_lang"), t.column("tgt_lang"), "-").to_pylist()
        links = pc.list_value_length(t.column("links")).to_numpy(zero_copy_only=False)
        src = pc.list_value_length(t.column("src_tokens")).to_numpy(zero_copy_only=False)
        for pair, n_links, n_src in zip(pairs, links, src, strict=True):
            a = acc.setdefault(pair, [0, 0, 0])
            a[0], a[1], a[2] = a[0] + 1, a[1] + int(n_links), a[2] + int(n_src)

    data.alignment_scan = _scan(product, m, ["src_lang", "tgt_lang", "links", "src_tokens"], take)
    data.alignment = {
        pair: {"pairs": n, "links": links, "links_per_pair": links / n, "links_per_src_token": links / max(src, 1)}
        for pair, (n, links, src) in sorted(acc.items())
    }


def _codeswitch(data: ReportData, rel: str, product: Path, m: Manifest) -> None:
    kind = rel.split("/", 1)[1] if "/" in rel else rel
    stats = {"samples": m.rows, "spans": 0, "switched_chars": 0, "chars": 0, "matrix_langs": dict(m.partitions)}

    def take(t: pa.Table) -> None:
        spans = t.column("spans")
        stats["spans"] += int(pc.sum(pc.list_value_length(spans)).as_py() or 0)
        flat = pc.list_flatten(spans)
        if len(flat):
            stats["switched_chars"] += int(pc.sum(pc.subtract(pc.struct_field(flat, "end"),
                                                              pc.struct_field(flat, "start"))).as_py() or 0)
        stats["chars"] += int(pc.sum(pc.utf8_length(t.column("text"))).as_py() or 0)

    scan = _scan(product, m, ["spans", "text"], take)
    stats["scanned"] = scan.scanned
    stats["spans_per_sample"] = stats["spans"] / max(scan.scanned, 1)
    stats["switched_frac"] = stats["switched_chars"] / max(stats["chars"], 1)
    data.codeswitch[kind] = stats


def _read_json(path: Path, data: ReportData):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        data.problems.append(f"{path.name} is unreadable: {e}")
        return None


def _metrics(data: ReportData, path: Path) -> None:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            data.problems.append(f"{path.name} line {i} is not JSON (a run killed while writing?)")
            continue
        if isinstance(rec, dict) and "step" in rec:
            data.metrics.append(rec)


def collect(out: str | Path) -> ReportData:
    """Everything the report shows, from OUT as it is on disk."""
    root = Path(out)
    data = ReportData(out=str(root))
    for product in _product_dirs(root):
        rel = product.relative_to(root).as_posix()
        try:
            data.manifests[rel] = read_manifest(str(product))
        except ManifestError as e:
            data.problems.append(str(e))
    for rel, m in data.manifests.items():
        # Every product of a stage carries the stage's counters: keep one copy per stage.
        data.stages.setdefault(m.stage, counters_by_unit(m.counters))
        if m.stage not in data.shuffles and shuffle_table(m.counters):
            data.shuffles[m.stage] = {"shuffles": shuffle_table(m.counters),
                                      "text_bytes": m.counters.get("input.text_bytes", 0)}
        product = root / rel
        try:
            if m.schema_name == "documents":
                _documents(data, product, m)
            elif m.schema_name == "alignments":
                _alignments(data, product, m)
            elif m.schema_name == "codeswitch":
                _codeswitch(data, rel, product, m)
        except (OSError, pa.ArrowException, KeyError) as e:
            data.problems.append(f"{rel}: shards unreadable for the report ({e})")
    for marker in sorted((root / "_stages").glob("*.json")):
        info = _read_json(marker, data)
        if isinstance(info, dict):
            data.stage_keys[marker.stem] = str(info.get("key", ""))
            if marker.stem not in data.stages and info.get("counters"):
                data.stages[marker.stem] = counters_by_unit(info["counters"])
    sampling = root / "tokens" / "sampling.json"
    if sampling.is_file():
        data.sampling = _read_json(sampling, data)
    if (root / "model" / "metrics.jsonl").is_file():
        _metrics(data, root / "model" / "metrics.jsonl")
    if (root / "model" / "eval.json").is_file():
        data.evaluation = _read_json(root / "model" / "eval.json", data)
    return data


def sampling_streams(sampling: dict) -> dict[str, dict[str, dict]]:
    """objective → stream (language or pair) → {examples, tokens, p_raw, p_smoothed}."""
    out: dict[str, dict[str, dict]] = {}
    for obj, section in sorted((sampling.get("objectives") or {}).items()):
        streams = section.get("streams", {}) if isinstance(section, dict) else {}
        out[obj] = {k: v for k, v in sorted(streams.items()) if isinstance(v, dict)}
    return out
