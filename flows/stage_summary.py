"""What a finished stage says about itself: one log line, and one markdown artifact for Prefect.

- `summary_line(counters)`: every reconciling unit as `read → kept (+dropped by reason, largest
  first)` plus the shuffle bytes, on one line — instead of one log line per counter.
- `stage_markdown(...)`: the table the CLI prints for the stage (its `summarize`), kept/dropped by
  reason per unit, rows per partition (per language / language pair) of every product, and the
  shuffle bytes; published as the stage's Prefect markdown artifact.
"""

from __future__ import annotations

import os

from flows.report.collect import counters_by_unit

MAX_REASONS_IN_LINE = 4
MAX_PLAIN_COUNTERS = 6


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 100_000 else f"{n:,} B"


def summary_line(counters: dict[str, int]) -> str:
    """`docs 279 read → 120 kept (lang_not_wanted 50, too_short 40, +3 more); …; shuffles 1.2 MB`."""
    from pipelines.shuffle import shuffle_bytes

    parts = []
    for unit, c in sorted(counters_by_unit(counters).items()):
        text = f"{unit} {c.read:,} read → {c.kept:,} kept"
        reasons = sorted(c.dropped.items(), key=lambda x: (-x[1], x[0]))
        if reasons:
            shown = ", ".join(f"{r} {n:,}" for r, n in reasons[:MAX_REASONS_IN_LINE])
            more = len(reasons) - MAX_REASONS_IN_LINE
            text += f" ({shown}{f', +{more} more' if more > 0 else ''})"
        parts.append(text)
    shuffled = shuffle_bytes(counters)
    if shuffled:
        parts.append(f"shuffles {_mb(shuffled)}")
    if not parts:  # a stage without read/kept units (tokenizer vocab, train): its first counters
        shown = [f"{k} {v:,}" for k, v in sorted(counters.items())[:MAX_PLAIN_COUNTERS]]
        more = len(counters) - len(shown)
        parts.append(", ".join(shown) + (f", +{more} more" if more > 0 else "") if shown else "no counters")
    return "; ".join(parts)


def _cell(value) -> str:
    from rich.text import Text

    if isinstance(value, Text):
        text = value.plain
    elif isinstance(value, str):
        text = Text.from_markup(value).plain
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", "<br>")


def table_markdown(table) -> str:
    """A rich Table (what the CLI prints) as a markdown table, with its title as a heading."""
    headers = [_cell(c.header) for c in table.columns]
    columns = [list(c.cells) for c in table.columns]
    rows = max((len(c) for c in columns), default=0)
    lines = []
    if table.title:
        lines += [f"#### {_cell(table.title)}", ""]
    lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for i in range(rows):
        lines.append("| " + " | ".join(_cell(c[i]) if i < len(c) else "" for c in columns) + " |")
    return "\n".join(lines)


def renderable_markdown(obj) -> str:
    """What a stage's `summarize` returns — a rich Table, a Group of them, or any other renderable —
    as markdown (tables as tables, anything else as its plain text in a code block)."""
    from rich.console import Console, Group
    from rich.table import Table

    if isinstance(obj, Table):
        return table_markdown(obj)
    if isinstance(obj, Group):
        return "\n\n".join(renderable_markdown(r) for r in obj.renderables)
    console = Console(width=120, record=True, file=open(os.devnull, "w"))  # noqa: SIM115 — closed below
    try:
        console.print(obj)
        text = console.export_text()
    finally:
        console.file.close()
    return "```text\n" + text.rstrip() + "\n```"


def counters_markdown(counters: dict[str, int]) -> str:
    units = counters_by_unit(counters)
    if not units:
        return ""
    lines = ["#### kept / dropped", "", "| unit | read | kept | dropped by reason |", "|---|---:|---:|---|"]
    for unit, c in sorted(units.items()):
        lines.append(f"| {unit} | {c.read:,} | {c.kept:,} | {_cell(c.reasons()) or '-'} |")
    return "\n".join(lines)


def partitions_markdown(products: dict[str, dict]) -> str:
    """Rows per partition of every product (per language, language pair or reject reason)."""
    if not products:
        return ""
    lines = ["#### rows per partition", "", "| product | partition | rows |", "|---|---|---:|"]
    for rel, p in sorted(products.items()):
        parts = p.get("partitions") or {}
        if not parts:
            lines.append(f"| {rel} | (empty) | 0 |")
        for part, rows in sorted(parts.items()):
            lines.append(f"| {rel} | {part} | {rows:,} |")
    return "\n".join(lines)


def shuffles_markdown(counters: dict[str, int]) -> str:
    from pipelines.shuffle import shuffle_table

    table = shuffle_table(counters)
    if not table:
        return ""
    lines = ["#### shuffles", "", "| shuffle | bytes | elements |", "|---|---:|---:|"]
    for name, t in table.items():
        lines.append(f"| {name} | {t.get('bytes', 0):,} | {t.get('elements', 0):,} |")
    return "\n".join(lines)


def stage_markdown(stage: str, result: dict, summary_table=None) -> str:
    """The stage's Prefect artifact: state, its CLI summary table, kept/dropped, partitions, shuffles."""
    state = ("up to date (skipped)" if result.get("skipped")
             else f"done in {result.get('seconds', 0):.1f} s")
    head = f"### {stage}: {state}\n\nstage key `{result.get('key', '')}`"
    counters = result.get("counters", {})
    blocks = [head]
    if summary_table is not None:
        blocks.append(renderable_markdown(summary_table))
    blocks += [counters_markdown(counters), partitions_markdown(result.get("products", {})),
               shuffles_markdown(counters)]
    return "\n\n".join(b for b in blocks if b) + "\n"
