"""One self-contained HTML page (inline CSS, PNGs as data: URIs, no scripts, no external links)."""

from __future__ import annotations

import html
import json

from flows.report import plots
from flows.report.collect import ReportData, sampling_streams

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}td,th{border:1px solid #ddd;padding:.25em .6em}
th{background:#f5f5f5;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;margin:.5em 0}.note{color:#666;font-size:.9em}.problem{color:#a00}
"""


def _e(x: object) -> str:
    return html.escape(str(x))


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{_e(_fmt(c))}</td>' if isinstance(c, (int, float)) else f"<td>{_e(c)}</td>"
                         for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def img(b64: str | None, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{b64}">' if b64 else ""


def _scan_note(scan, what: str) -> str:
    if scan is None or scan.scanned >= scan.total:
        return ""
    return f'<p class="note">{_e(what)}: statistics from the first {scan.scanned:,} of {scan.total:,} rows.</p>'


def _products(d: ReportData) -> str:
    rows = [[rel, f"{m.schema_name} v{m.schema_version}", m.stage, m.rows, len(m.files),
             sum(f.bytes for f in m.files), len(m.partitions)] for rel, m in sorted(d.manifests.items())]
    done = ""
    if d.stage_keys:
        done = ('<p class="note">Stages marked done (OUT/_stages): '
                + ", ".join(f"{_e(s)} <code>{_e(k)}</code>" for s, k in sorted(d.stage_keys.items())) + ".</p>")
    return ("<h2>Products</h2>" + done
            + table(["directory", "schema", "stage", "rows", "files", "bytes", "partitions"], rows))


def _languages(d: ReportData) -> str:
    parts = []
    docs = d.manifests.get("documents")
    if docs is not None and docs.partitions:
        parts.append(img(plots.rows_per_partition(docs.partitions, "documents per language"), "documents per language"))
    if d.sampling:
        alpha = d.sampling.get("alpha")
        parts.append(f'<p class="note">Smoothing exponent α = {_e(alpha)} (p ∝ tokens^α within each objective).</p>')
        for obj, streams in sampling_streams(d.sampling).items():
            if not streams:
                continue
            parts.append(f"<h3>{_e(obj)}</h3>")
            parts.append(img(plots.sampling_sizes(streams, obj), f"{obj} sizes"))
            parts.append(img(plots.sampling_probs(streams, obj), f"{obj} probabilities"))
            parts.append(table(["stream", "examples", "tokens", "p raw", "p smoothed"],
                               [[k, v.get("examples", 0), v.get("tokens", 0), float(v.get("p_raw", 0.0)),
                                 float(v.get("p_smoothed", 0.0))] for k, v in streams.items()]))
    if not parts:
        return ""
    return "<h2>Documents and tokens per language</h2>" + "".join(parts)


def _lid(d: ReportData) -> str:
    if not d.lid_hist:
        return ""
    c = d.lid_counters
    parts = ["<h2>Language identification</h2>", _scan_note(d.lid_scan, "documents"),
             img(plots.lid_scores(d.lid_hist), "LID score distribution")]
    if any(k.startswith("lid.script_") for k in c):
        parts.append(f'<p class="note">Script of each label: given by the model {c.get("lid.script_from_model", 0):,}, '
                     f'from the text {c.get("lid.script_from_text", 0):,} (of which {c.get("lid.script_corrected", 0):,} '
                     "corrected: the language's own script, not the text's dominant one), text without letters "
                     f'{c.get("lid.script_from_default", 0):,}.</p>')
    if "mixed.docs_split" in c or "mixed_lines.read" in c:
        parts.append(f'<p class="note">Mixed-language documents: {c.get("mixed.docs_split", 0):,} with runs of lines in '
                     f'another language; {c.get("docs.created.split_mixed", 0):,} documents split off, '
                     f'{c.get("mixed_lines.dropped.foreign_run", 0):,} lines dropped.</p>')
    if d.line_lang:
        parts.append("<h3>line_lang_frac (share of a document's lines labelled with its language)</h3>" + table(
            ["language", "documents", "mean", "documents under 0.5"],
            [[lang, v["docs"], round(v["mean"], 3), v["under_half"]] for lang, v in d.line_lang.items()]))
    return "".join(parts)


def _drops(d: ReportData) -> str:
    rows = []
    for stage, units in sorted(d.stages.items()):
        for unit, c in sorted(units.items()):
            read = f"{c.read:,} + {sum(c.created.values()):,} created" if c.created else c.read
            rows.append([stage, unit, read, c.kept, sum(c.dropped.values()), c.reasons() or "—"])
    if not rows:
        return ""
    return ("<h2>Kept and dropped per stage</h2>" + img(plots.drop_reasons(d.stages), "drop reasons")
            + table(["stage", "unit", "read", "kept", "dropped", "dropped by reason"], rows) + _shuffles(d))


def _dedup(d: ReportData) -> str:
    if not d.dup_sizes:
        return ""
    total = sum(d.dup_sizes.values())
    in_clusters = sum(n for size, n in d.dup_sizes.items() if size > 1)
    return ("<h2>Deduplication</h2>" + _scan_note(d.lid_scan, "documents")
            + f'<p class="note">{in_clusters:,} of {total:,} kept documents had near-duplicates (cluster size &gt; 1).</p>'
            + img(plots.dup_clusters(d.dup_sizes), "dedup clusters")
            + table(["cluster size", "documents"], [[k, v] for k, v in d.dup_sizes.items()]))


def _shuffles(d: ReportData) -> str:
    if not d.shuffles:
        return ""
    rows = []
    for stage, info in sorted(d.shuffles.items()):
        text = info["text_bytes"]
        for name, v in info["shuffles"].items():
            moved = v.get("bytes", 0)
            rows.append([stage, name, v.get("elements", 0), round(moved / 1e6, 3),
                         round(moved / text, 4) if text else "—"])
    return ("<h2>Shuffles</h2><p class=\"note\">Bytes each shuffle carried (encoded key + value of every element "
            "handed to it), against the text the stage read (<code>input.text_bytes</code>): text never crosses "
            "a shuffle of the mono stage.</p>"
            + table(["stage", "shuffle", "elements", "MB", "× input text"], rows))


def _alignment(d: ReportData) -> str:
    parts = []
    if d.alignment:
        parts += [_scan_note(d.alignment_scan, "alignments"), img(plots.alignment(d.alignment), "alignments"),
                  table(["pair", "pairs", "links", "links / pair", "links / source word"],
                        [[k, v["pairs"], v["links"], v["links_per_pair"], v["links_per_src_token"]]
                         for k, v in d.alignment.items()])]
    lex = next((m for m in d.manifests.values() if m.schema_name == "lexicon"), None)
    if lex is not None:
        parts.append("<h3>lexicon</h3>" + table(["pair", "entries"], [[k, v] for k, v in lex.partitions.items()]))
    return "<h2>Alignments</h2>" + "".join(parts) if parts else ""


def _codeswitch(d: ReportData) -> str:
    if not d.codeswitch:
        return ""
    rows = [[k, v["samples"], v["spans_per_sample"], v["switched_frac"],
             ", ".join(f"{lang}={n:,}" for lang, n in sorted(v["matrix_langs"].items()))]
            for k, v in sorted(d.codeswitch.items())]
    return ("<h2>Code-switching</h2>" + img(plots.codeswitch(d.codeswitch), "code-switching")
            + table(["kind", "samples", "spans / sample", "switched chars", "per partition"], rows))


def _training(d: ReportData) -> str:
    parts = []
    if d.metrics:
        last = d.metrics[-1]
        parts.append(f'<p class="note">{len(d.metrics)} logged steps; last step {_e(last["step"])}, '
                     f'loss {_e(_fmt(last.get("loss", "n/a")))}.</p>')
        parts.append(img(plots.training(d.metrics), "training curves"))
        trained = (last.get("totals") or {}).get("by_stream") or {}  # what each objective/stream got, whole run
        if trained:
            parts.append("<h3>trained (examples / tokens per objective and stream)</h3>" + table(
                ["stream", "examples", "tokens"], [[k, v["examples"], v["tokens"]] for k, v in sorted(trained.items())]))
    if d.evaluation is not None:
        flat = _flatten(d.evaluation)
        parts.append("<h3>evaluation</h3>" + table(["metric", "value"], [[k, v] for k, v in flat.items()]))
    return "<h2>Training</h2>" + "".join(parts) if parts else ""


def _flatten(obj, prefix: str = "") -> dict[str, object]:
    """eval.json of any shape → dotted keys with scalar values."""
    if isinstance(obj, dict):
        out: dict[str, object] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    if isinstance(obj, list):
        return {prefix.rstrip("."): json.dumps(obj)[:200]}
    return {prefix.rstrip("."): obj}


SECTIONS = {
    "languages": _languages, "lid": _lid, "drops": _drops, "dedup": _dedup, "alignment": _alignment,
    "codeswitch": _codeswitch, "training": _training,
}


def render(d: ReportData) -> str:
    body = [f"<h1>xlcorpus report</h1><p class=\"note\">{_e(d.out)}</p>"]
    if d.problems:
        body.append("<h2>Problems</h2><ul>" + "".join(f'<li class="problem">{_e(p)}</li>' for p in d.problems) + "</ul>")
    body.append(_products(d))
    missing = []
    for name, section in SECTIONS.items():
        text = section(d)
        body.append(text) if text else missing.append(name)
    if missing:
        body.append(f'<p class="note">Not in this output (stages not run yet): {_e(", ".join(missing))}.</p>')
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>xlcorpus report</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")
