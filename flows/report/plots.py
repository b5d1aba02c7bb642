"""Matplotlib figures of the report, each returned as a base64 PNG (embedded in the HTML)."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display on build machines; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from flows.report.collect import LID_BINS, UnitCounts  # noqa: E402

MAX_BARS = 40  # more languages than this: show the largest, say so in the title


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _top(values: dict[str, float], n: int = MAX_BARS) -> tuple[list[str], str]:
    keys = sorted(values, key=lambda k: (-values[k], k))[:n]
    note = f" (largest {n} of {len(values)})" if len(values) > n else ""
    return sorted(keys), note


def sampling_probs(streams: dict[str, dict], objective: str) -> str:
    """p before and after smoothing, per language (or pair) of one objective."""
    keys, note = _top({k: v.get("tokens", 0) for k, v in streams.items()})
    x = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(keys) + 2), 3.6))
    ax.bar(x - 0.2, [streams[k].get("p_raw", 0) for k in keys], 0.4, label="p raw (∝ tokens)")
    ax.bar(x + 0.2, [streams[k].get("p_smoothed", 0) for k in keys], 0.4, label="p smoothed")
    ax.set_xticks(x, keys, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("sampling probability")
    ax.set_title(f"{objective}: sampling probability before / after smoothing{note}")
    ax.legend()
    return _png(fig)


def sampling_sizes(streams: dict[str, dict], objective: str) -> str:
    """Examples and tokens per language of one objective (log scale: corpora differ by orders)."""
    keys, note = _top({k: v.get("tokens", 0) for k, v in streams.items()})
    x = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(keys) + 2), 3.6))
    ax.bar(x - 0.2, [max(streams[k].get("examples", 0), 0) for k in keys], 0.4, label="examples")
    ax.bar(x + 0.2, [max(streams[k].get("tokens", 0), 0) for k in keys], 0.4, label="tokens")
    ax.set_yscale("symlog")
    ax.set_xticks(x, keys, rotation=60, ha="right", fontsize=8)
    ax.set_title(f"{objective}: examples and tokens per stream{note}")
    ax.legend()
    return _png(fig)


def rows_per_partition(partitions: dict[str, int], title: str) -> str:
    keys, note = _top({k: float(v) for k, v in partitions.items()})
    fig, ax = plt.subplots(figsize=(max(6, 0.4 * len(keys) + 2), 3.4))
    ax.bar(keys, [partitions[k] for k in keys], color="tab:green")
    ax.set_xticks(range(len(keys)), keys, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("rows")
    ax.set_title(title + note)
    return _png(fig)


def lid_scores(hist: dict[str, list[int]]) -> str:
    """LID score distribution per language (fraction of the language's documents per score bin)."""
    langs, note = _top({k: float(sum(v)) for k, v in hist.items()}, 12)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    centers = (LID_BINS[:-1] + LID_BINS[1:]) / 2
    for lang in langs:
        counts = np.asarray(hist[lang], dtype=float)
        ax.plot(centers, counts / max(counts.sum(), 1), drawstyle="steps-mid", label=f"{lang} ({int(counts.sum())})")
    ax.set_xlabel("LID score of the assigned language")
    ax.set_ylabel("fraction of documents")
    ax.set_xlim(0, 1)
    ax.set_title("LID score distribution" + note)
    ax.legend(fontsize=7, ncol=2)
    return _png(fig)


def drop_reasons(stages: dict[str, dict[str, UnitCounts]]) -> str | None:
    """Kept vs dropped (by reason) for every stage/unit with a .read counter."""
    rows = [(f"{s}: {u}", c) for s, units in sorted(stages.items()) for u, c in sorted(units.items()) if c.read]
    if not rows:
        return None
    reasons = sorted({r for _, c in rows for r in c.dropped})
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.8))
    y = np.arange(len(rows))
    left = np.array([c.kept / c.read for _, c in rows], dtype=float)
    ax.barh(y, left, color="tab:green", label="kept")
    cmap = plt.get_cmap("tab20")
    colors = [cmap(i) for i in range(20) if i not in (4, 5)]  # greens mean "kept"
    for i, reason in enumerate(reasons):
        share = np.array([c.dropped.get(reason, 0) / c.read for _, c in rows], dtype=float)
        ax.barh(y, share, left=left, color=colors[i % len(colors)], label=reason)
        left += share
    ax.set_yticks(y, [name for name, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of records read")
    ax.set_title("kept and dropped per stage (by reason)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return _png(fig)


def dup_clusters(sizes: dict[int, int]) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.4))
    keys = sorted(sizes)
    ax.bar([str(k) for k in keys], [sizes[k] for k in keys], color="tab:purple")
    ax.set_yscale("log")
    ax.set_xlabel("near-duplicate cluster size (1 = unique)")
    ax.set_ylabel("documents kept")
    ax.set_title("dedup cluster-size distribution")
    return _png(fig)


def _bar_panels(stats: dict[str, dict], panels: list[tuple[str, str, str]], figsize: tuple[float, float],
                rotate: bool = False) -> str:
    """One bar chart per (stat, color, title), side by side, over the sorted keys of `stats`."""
    keys = sorted(stats)
    fig, axes = plt.subplots(1, len(panels), figsize=figsize)
    for ax, (stat, color, title) in zip(axes, panels, strict=True):
        ax.bar(keys, [stats[k][stat] for k in keys], color=color)
        ax.set_title(title)
        if rotate:
            ax.tick_params(axis="x", rotation=60, labelsize=8)
    return _png(fig)


def alignment(stats: dict[str, dict]) -> str:
    return _bar_panels(stats, [("pairs", "tab:blue", "aligned pairs"),
                               ("links_per_src_token", "tab:orange", "links per source word")], (9, 3.4), rotate=True)


def codeswitch(stats: dict[str, dict]) -> str:
    return _bar_panels(stats, [("samples", "tab:cyan", "samples"),
                               ("spans_per_sample", "tab:red", "switched spans per sample"),
                               ("switched_frac", "tab:olive", "share of switched characters")], (10, 3.2))


def training(metrics: list[dict]) -> str:
    """Loss (overall and per objective), learning rate and throughput against the step."""
    steps = [m["step"] for m in metrics]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    axes[0].plot(steps, [m.get("loss", np.nan) for m in metrics], label="loss", color="black")
    objectives = sorted({o for m in metrics for o in (m.get("loss_by_objective") or {})})
    for o in objectives:
        axes[0].plot(steps, [(m.get("loss_by_objective") or {}).get(o, np.nan) for m in metrics], label=o, lw=1)
    axes[0].set_title("training loss")
    axes[0].set_xlabel("step")
    axes[0].legend(fontsize=7)
    axes[1].plot(steps, [m.get("lr", np.nan) for m in metrics], color="tab:blue")
    axes[1].set_title("learning rate")
    axes[1].set_xlabel("step")
    axes[2].plot(steps, [m.get("tokens_per_s", np.nan) for m in metrics], color="tab:green")
    axes[2].set_title("tokens / s")
    axes[2].set_xlabel("step")
    return _png(fig)
