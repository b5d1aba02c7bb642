"""`xlcorpus report OUT`: what a build produced, as one self-contained HTML page and terminal tables.

collect (read OUT generically, from manifests and the JSON files stages write) → plots (matplotlib
PNGs) → html (one page) / terminal (rich tables). Works on whatever subset of products exists.
"""

from __future__ import annotations

from pathlib import Path

from flows.report.collect import ReportData, collect


def write_html(data: ReportData, html_path: str | Path) -> Path:
    """Render the report of `data` to html_path (written whole, then renamed into place)."""
    from flows.report.html import render

    target = Path(html_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(render(data), encoding="utf-8")
    tmp.replace(target)
    return target


__all__ = ["ReportData", "collect", "write_html"]
