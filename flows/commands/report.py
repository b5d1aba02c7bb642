"""CLI command `xlcorpus report OUT [--html FILE]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report(
    out: Annotated[str, typer.Argument(help="Output root of a build.")],
    html: Annotated[Path | None, typer.Option("--html", help="Where to write the HTML report "
                                              "(default OUT/report.html).")] = None,
) -> None:
    """Write a self-contained HTML report of what OUT holds (plots embedded) and print a summary."""
    from rich.markup import escape

    from flows.cli import console, fail
    from flows.report import collect, write_html
    from flows.report.terminal import tables

    if "://" in out:
        fail(f"report reads a local output root; copy {out} to a local folder first (e.g. gsutil -m cp -r)")
    root = Path(out)
    if not root.is_dir():
        fail(f"{out} is not a directory: pass the output root of a build")
    data = collect(root)
    if data.empty:
        fail(f"no xlcorpus products under {out}: is it the output root of a build?")
    target = write_html(data, html or root / "report.html")
    for t in tables(data):
        console.print(t)
    for p in data.problems:
        console.print(f"[yellow]warning:[/] {escape(p)}", highlight=False)
    console.print(f"report written to [bold]{escape(str(target))}[/]")


def register(app) -> None:
    """Add this module's commands to the typer app."""
    app.command(name="report")(report)
