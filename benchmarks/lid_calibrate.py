"""Per-language LID thresholds for a target precision, picked on held-out labelled lines.

    python benchmarks/lid_calibrate.py --labelled held_out.tsv --precision 0.95 --out lid_thresholds.tsv
    python benchmarks/lid_calibrate.py            # the demo's 12 languages as the held-out set

held_out.tsv: one line per example, `xxx_Scrp<TAB>text` (the true language, then the text; lines of
the kind the crawl holds: pages or paragraphs, not word lists). The model is the one the mono stage
uses (`--model`, default the embedded lid.176). The output is a table for `mono.lid_thresholds_path`;
entries in `mono.lid_thresholds` still win over it.

Printed, measured in this run on the same lines: for the calibrated table and for one threshold for
every language (`--baseline`, default 0.5, CCNet's): precision and recall over all lines, and their
ratio (calibrated / baseline).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.langcodes import check_project_code  # noqa: E402
from pipelines.lid import LanguageIdentifier, calibrate_thresholds, write_thresholds_tsv  # noqa: E402


def read_labelled(path: str) -> tuple[list[str], list[str]]:
    truth, texts = [], []
    for no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        lang, sep, text = line.partition("\t")
        if not sep or not text.strip():
            sys.exit(f"{path}:{no}: expected 'xxx_Scrp<TAB>text'")
        try:
            truth.append(check_project_code(lang.strip()))
        except ValueError as e:
            sys.exit(f"{path}:{no}: {e}")
        texts.append(text.strip())
    return truth, texts


def demo_lines() -> tuple[list[str], list[str]]:
    """The demo sentences, whole and cut in halves (short lines are where LID is least sure)."""
    from flows.demo.crawl_text import SENTENCES
    from pipelines.langcodes import lang_code

    truth, texts = [], []
    for lang, sents in SENTENCES.items():
        code = lang_code(lang, sents[0])
        for s in sents:
            words = s.split()
            cut = len(words) // 2 if len(words) > 1 else len(s) // 2
            parts = [s] + ([" ".join(words[:cut]), " ".join(words[cut:])] if len(words) > 1 else [s[:cut], s[cut:]])
            for p in parts:
                truth.append(code)
                texts.append(p)
    return truth, texts


def scores(preds, truth, thresholds: dict[str, float], default: float) -> tuple[float, float]:
    kept = [(lang, gold) for (lang, p), gold in zip(preds, truth, strict=True) if p >= thresholds.get(lang, default)]
    correct = sum(lang == gold for lang, gold in kept)
    return (correct / len(kept) if kept else 0.0), correct / len(truth)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--labelled", help="held-out lines, xxx_Scrp<TAB>text (default: the demo sentences)")
    ap.add_argument("--precision", type=float, default=0.95, help="target precision per language")
    ap.add_argument("--min-lines", type=int, default=20, help="fewer predicted lines: no threshold for it")
    ap.add_argument("--model", help="fastText LID model (default: embedded lid.176)")
    ap.add_argument("--baseline", type=float, default=0.5, help="the one threshold compared against")
    ap.add_argument("--out", help="write the table here (TSV for mono.lid_thresholds_path)")
    ap.add_argument("--quick", action="store_true", help="accepted for make bench; the demo lines are small already")
    args = ap.parse_args()
    truth, texts = read_labelled(args.labelled) if args.labelled else demo_lines()
    lid = LanguageIdentifier(args.model)
    preds = lid.predict_batch(texts)
    cal = calibrate_thresholds(preds, truth, args.precision, args.min_lines)
    for lang, t in cal.thresholds.items():
        print(f"{lang}\t{t:.4f}\tprecision {cal.precision[lang]:.3f}\trecall {cal.recall[lang]:.3f}")
    for lang, why in cal.skipped.items():
        print(f"{lang}\t-\t{why}")
    # Languages without a calibrated threshold keep the baseline one, as the stage would.
    p_cal, r_cal = scores(preds, truth, cal.thresholds, args.baseline)
    p_base, r_base = scores(preds, truth, {}, args.baseline)
    print(f"{len(texts):,} lines, {len(set(truth))} languages")
    print(f"calibrated: precision {p_cal:.3f}, recall {r_cal:.3f}; one threshold {args.baseline}: "
          f"precision {p_base:.3f}, recall {r_base:.3f}")
    print(f"ratio calibrated / one threshold: precision {p_cal / p_base if p_base else float('nan'):.3f}x, "
          f"recall {r_cal / r_base if r_base else float('nan'):.3f}x")
    if args.out:
        write_thresholds_tsv(cal, args.out, args.precision)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
