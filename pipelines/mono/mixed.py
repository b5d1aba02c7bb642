"""Mixed-language documents: per-line labels, line_lang_frac, and runs of foreign lines split off.

A page that is half translated (a Korean handbook with untranslated English sections) gets one
document-level label. With ``mono.split_mixed`` each line is labelled too; the document keeps its
lines in its own language, and every run of at least ``min_lines`` consecutive lines confidently
labelled with one other language either becomes a document of its own (``split``) or is removed
(``drop``). Blank lines inside a run belong to it; any other line ends it. Shorter runs stay (one
English sentence in a German page is part of that page, as in CC-100's document-level LID).

Everything here is plain functions over one document; pipelines.mono.steps.identify_batch
calls them with the labels of a whole batch (one fastText call).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from pipelines.ids import stable_id
from pipelines.normalize import join_lines, split_lines

LineLabel = tuple[str, float]  # (xxx_Scrp, probability) of one line
SPLIT, DROP = "split", "drop"
MIXED_ACTIONS = (SPLIT, DROP)


def line_texts(text: str) -> list[str]:
    """The lines of a document that get a label: its non-blank lines, in order."""
    return [ln for ln in split_lines(text) if ln]


def line_labels(text: str, labels: list[LineLabel]) -> list[LineLabel | None]:
    """Labels of the non-blank lines (line_texts order) spread over every line; None for blank lines."""
    it = iter(labels)
    out = [next(it) if ln else None for ln in split_lines(text)]
    if next(it, None) is not None:
        raise ValueError("more labels than non-blank lines")
    return out


def line_lang_frac(labels: list[LineLabel | None], lang: str) -> float:
    """Fraction of a document's non-blank lines whose own label is `lang` (0.0 without lines)."""
    labelled = [lab for lab in labels if lab is not None]
    return sum(1 for lab in labelled if lab[0] == lang) / len(labelled) if labelled else 0.0


@dataclass(frozen=True)
class Run:
    """Lines [start, end) of a document (split_lines indexes) labelled with one other language."""

    start: int
    end: int
    lang: str
    n_lines: int  # non-blank lines
    score: float  # character-weighted mean of the lines' probabilities


def foreign_runs(lines: list[str], labels: list[LineLabel | None], main_lang: str, min_lines: int,
                 confident: Callable[[str, float], bool]) -> list[Run]:
    """Runs of ≥ min_lines consecutive non-blank lines whose labels are one language other than
    main_lang, each label confident (`confident(lang, score)`); blank lines inside a run join it."""
    runs: list[Run] = []
    cur: list[int] = []  # non-blank line indexes of the current run
    cur_lang: str | None = None

    def close():
        if cur_lang is not None and len(cur) >= min_lines:
            chars = [max(1, len(lines[i])) for i in cur]
            score = sum(c * labels[i][1] for c, i in zip(chars, cur, strict=True)) / sum(chars)
            runs.append(Run(cur[0], cur[-1] + 1, cur_lang, len(cur), score))

    for i, lab in enumerate(labels):
        if lab is None:
            continue
        lang, score = lab
        foreign = lang != main_lang and confident(lang, score)
        if foreign and lang == cur_lang:
            cur.append(i)
            continue
        close()
        cur, cur_lang = ([i], lang) if foreign else ([], None)
    close()
    return runs


@dataclass
class MixedResult:
    """What split_mixed did to one document."""

    main: dict  # the document (its text without the runs taken out; unchanged when none was)
    split_off: list[dict] = field(default_factory=list)  # new documents, one per run (action split)
    counts: Counter = field(default_factory=Counter)  # counter name → increment


def split_doc_id(parent_id: str, run: Run) -> str:
    """Stable id of a split-off document: its parent's id and its line range."""
    return stable_id(parent_id, "split_mixed", run.start, run.end)


def split_mixed(doc: dict, labels: list[LineLabel | None], min_lines: int, action: str,
                confident: Callable[[str, float], bool]) -> MixedResult:
    """Keep `doc`'s lines in its language (doc["lang"]); move runs of ≥ min_lines foreign lines into
    documents of their own (action "split": lang = the run's language, lang_score = its lines'
    mean probability, same source/url/date) or remove them (action "drop").

    The document is left whole when no line of it would remain in its own language (the line
    labels then disagree with the document label; counted as mixed.unsplit_no_main_lines).
    Counters: mixed_lines.read / .kept / .dropped.foreign_run (non-blank lines looked at),
    mixed.docs_split, mixed.runs_split, mixed.runs_dropped, mixed.unsplit_no_main_lines.
    """
    if action not in MIXED_ACTIONS:
        raise ValueError(f"unknown split_mixed action {action!r} (choose {' or '.join(MIXED_ACTIONS)})")
    lines = split_lines(doc["text"])
    if len(labels) != len(lines):
        raise ValueError(f"{len(labels)} line labels for {len(lines)} lines")
    n_labelled = sum(lab is not None for lab in labels)
    counts: Counter = Counter({"mixed_lines.read": n_labelled})
    runs = foreign_runs(lines, labels, doc["lang"], min_lines, confident)
    taken = {i for r in runs for i in range(r.start, r.end)}
    if runs and not any(lab is not None and lab[0] == doc["lang"] for i, lab in enumerate(labels) if i not in taken):
        counts["mixed.unsplit_no_main_lines"] += 1
        runs, taken = [], set()
    if not runs:
        counts["mixed_lines.kept"] += n_labelled
        return MixedResult({**doc, "line_lang_frac": line_lang_frac(labels, doc["lang"])}, [], +counts)
    main_labels = [lab for i, lab in enumerate(labels) if i not in taken]
    main = {**doc, "text": join_lines([ln for i, ln in enumerate(lines) if i not in taken]),
            "line_lang_frac": line_lang_frac(main_labels, doc["lang"])}
    moved = sum(r.n_lines for r in runs)
    counts["mixed.docs_split"] += 1
    new_docs = []
    if action == DROP:
        counts["mixed.runs_dropped"] += len(runs)
        counts["mixed_lines.dropped.foreign_run"] += moved
        counts["mixed_lines.kept"] += n_labelled - moved
    else:
        counts["mixed.runs_split"] += len(runs)
        counts["mixed_lines.kept"] += n_labelled
        for r in runs:
            new_docs.append({**doc, "doc_id": split_doc_id(doc["doc_id"], r), "text": join_lines(lines[r.start:r.end]),
                             "lang": r.lang, "lang_score": r.score, "line_lang_frac": 1.0})
    return MixedResult(main, new_docs, +counts)
