"""The report's text summary: rich tables for the terminal."""

from __future__ import annotations

from rich.table import Table

from flows.report.collect import ReportData, sampling_streams


def tables(d: ReportData) -> list[Table]:
    out: list[Table] = []
    if d.manifests:
        t = Table(title="products")
        for col in ("directory", "schema", "stage", "rows", "files", "MB"):
            t.add_column(col, justify="right" if col in ("rows", "files", "MB") else "left")
        for rel, m in sorted(d.manifests.items()):
            t.add_row(rel, f"{m.schema_name} v{m.schema_version}", m.stage, f"{m.rows:,}", str(len(m.files)),
                      f"{sum(f.bytes for f in m.files) / 1e6:.2f}")
        out.append(t)
    if d.stages:
        t = Table(title="kept / dropped per stage")
        for col in ("stage", "unit", "read", "kept", "dropped by reason"):
            t.add_column(col)
        for stage, units in sorted(d.stages.items()):
            for unit, c in sorted(units.items()):
                read = f"{c.read:,}" + (f" + {sum(c.created.values()):,} created" if c.created else "")
                t.add_row(stage, unit, read, f"{c.kept:,}", c.reasons() or "-")
        out.append(t)
    if d.shuffles:
        out.append(shuffle_summary(d))
    if d.sampling:
        t = Table(title=f"sampling (alpha={d.sampling.get('alpha')})")
        for col in ("objective", "stream", "examples", "tokens", "p raw", "p smoothed"):
            t.add_column(col)
        for obj, streams in sampling_streams(d.sampling).items():
            for k, v in streams.items():
                t.add_row(obj, k, f"{v.get('examples', 0):,}", f"{v.get('tokens', 0):,}",
                          f"{float(v.get('p_raw', 0)):.4f}", f"{float(v.get('p_smoothed', 0)):.4f}")
        out.append(t)
    if d.metrics:
        last = d.metrics[-1]
        t = Table(title="training")
        for col in ("logged steps", "last step", "loss", "tokens/s"):
            t.add_column(col)
        t.add_row(str(len(d.metrics)), str(last["step"]), f"{last.get('loss', float('nan')):.4f}",
                  f"{last.get('tokens_per_s', float('nan')):,.0f}")
        out.append(t)
        trained = (last.get("totals") or {}).get("by_objective") or {}  # whole run, per objective
        if trained:
            t = Table(title="trained per objective")
            for col in ("objective", "examples", "tokens"):
                t.add_column(col)
            for k, v in sorted(trained.items()):
                t.add_row(k, f"{v['examples']:,}", f"{v['tokens']:,}")
            out.append(t)
    return out


def shuffle_summary(d: ReportData) -> Table:
    """Bytes each stage's shuffles carried, against the text the stage read where it counts it."""
    t = Table(title="shuffles per stage")
    for col in ("stage", "shuffles", "elements", "MB", "input text MB", "× text"):
        t.add_column(col, justify="left" if col == "stage" else "right")
    for stage, info in sorted(d.shuffles.items()):
        moved = sum(v.get("bytes", 0) for v in info["shuffles"].values())
        elements = sum(v.get("elements", 0) for v in info["shuffles"].values())
        text = info["text_bytes"]
        t.add_row(stage, str(len(info["shuffles"])), f"{elements:,}", f"{moved / 1e6:.2f}",
                  f"{text / 1e6:.2f}" if text else "-", f"{moved / text:.3f}" if text else "-")
    return t
