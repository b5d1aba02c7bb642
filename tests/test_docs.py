"""The documentation holds together: README stays short, every relative link in README.md and
docs/*.md resolves (file and #anchor), every docs page opens with what a user does with it, and the
generated configuration reference is current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# [text](target) outside code; images too. Targets with a scheme (https:, mailto:) are not checked.
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^(```|~~~)")


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks, with inline code spans blanked."""
    out, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            out.append(re.sub(r"`[^`]*`", "``", line))
    return out


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lowercase, punctuation dropped (word characters, spaces and
    hyphens kept), spaces to hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a markdown file, with GitHub's -1, -2 suffixes for repeats."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        m = re.match(r"^#{1,6} (.+?)\s*#*\s*$", line)
        if fenced or not m:
            continue
        base = github_anchor(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def relative_links(page: Path) -> list[str]:
    links = []
    for line in prose_lines(page.read_text(encoding="utf-8")):
        for target in _LINK.findall(line):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target):
                links.append(target)
    return links


def test_github_anchor_rules():
    assert github_anchor("Stage `mono`: web crawl → `documents/`") == "stage-mono-web-crawl--documents"
    assert github_anchor("Resume, skip and `--force`") == "resume-skip-and---force"
    assert github_anchor("### `runner.dataflow`".lstrip("# ")) == "runnerdataflow"


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move detail into docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    broken = []
    for target in relative_links(page):
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(f"{target}: no file {file_part}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def test_links_checker_sees_a_broken_link(tmp_path):
    page = tmp_path / "p.md"
    (tmp_path / "q.md").write_text("# Real heading\n")
    page.write_text("[a](q.md#real-heading) [b](q.md#nope) `[c](skipped.md)` [d](https://x.org/y)\n")
    assert relative_links(page) == ["q.md#real-heading", "q.md#nope"]
    assert anchors(tmp_path / "q.md") == {"real-heading"}


def test_readme_links_every_docs_page():
    readme_targets = {t.partition("#")[0] for t in relative_links(ROOT / "README.md")}
    missing = [p.name for p in PAGES[1:] if f"docs/{p.name}" not in readme_targets]
    assert not missing, f"README.md links no docs page for {missing}"


@pytest.mark.parametrize("page", PAGES[1:], ids=lambda p: p.name)
def test_every_docs_page_opens_with_what_a_user_does(page: Path):
    lines = [ln for ln in page.read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert lines[0].startswith("# "), f"{page.name} must start with a title"
    assert lines[1].startswith("Use this page to"), f"{page.name}: open with 'Use this page to …'"


def test_configuration_reference_is_current():
    """docs/configuration.md is generated; after a config change run
    `python -m flows.config.reference docs/configuration.md`."""
    from flows.config.reference import reference

    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == reference(), "docs/configuration.md is stale: python -m flows.config.reference docs/configuration.md"
