"""SentencePiece training with the fixed special ids and the language-marker symbols.

Ids are a contract with the trainer: <s>=0, <pad>=1, </s>=2, <unk>=3, then <mask> and every
language marker as user-defined symbols (matched whole, never split). No fairseq offset.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import sentencepiece as spm

SPECIALS = {"bos": ("<s>", 0), "pad": ("<pad>", 1), "eos": ("</s>", 2), "unk": ("<unk>", 3)}
MASK = "<mask>"


class TrainError(ValueError):
    """SentencePiece refused the settings for this sample (e.g. a vocabulary too large for it)."""


def marker_symbols(languages: list[str]) -> list[str]:
    """`<xxx_Scrp>`, `</xxx_Scrp>` for every language, sorted: the markers EntityCS/ALM spans use."""
    out: list[str] = []
    for lang in sorted(set(languages)):
        out += [f"<{lang}>", f"</{lang}>"]
    return out


@dataclass
class TrainSettings:
    model_type: str = "unigram"
    vocab_size: int = 8000
    character_coverage: float = 0.9995
    byte_fallback: bool = True
    normalization: str = "nmt_nfkc"
    max_sentence_chars: int = 4000
    hard_vocab_limit: bool = True
    num_threads: int = 1
    seed_sentencepiece_size: int = 1_000_000


def train_spm(sample: str | Iterable[str], model_prefix: str, symbols: list[str], s: TrainSettings,
              log_path: str) -> None:
    """Train on the sample (a text file, or its lines streamed in order); writes <model_prefix>.model
    and .vocab. Raises TrainError."""
    reserved = len(SPECIALS) + len(symbols) + (256 if s.byte_fallback else 0)
    if s.vocab_size <= reserved:
        raise TrainError(
            f"vocab_size {s.vocab_size} leaves no room for pieces: {reserved} ids go to specials, "
            f"{len(symbols)} user symbols and byte fallback; raise tokenizer.vocab_size"
        )
    source = {"input": sample} if isinstance(sample, str) else {"sentence_iterator": iter(sample)}
    kwargs = dict(
        **source,
        model_prefix=model_prefix,
        model_type=s.model_type,
        vocab_size=s.vocab_size,
        character_coverage=s.character_coverage,
        byte_fallback=s.byte_fallback,
        normalization_rule_name=s.normalization,
        bos_id=SPECIALS["bos"][1], pad_id=SPECIALS["pad"][1], eos_id=SPECIALS["eos"][1], unk_id=SPECIALS["unk"][1],
        bos_piece=SPECIALS["bos"][0], pad_piece=SPECIALS["pad"][0], eos_piece=SPECIALS["eos"][0],
        unk_piece=SPECIALS["unk"][0],
        user_defined_symbols=symbols,
        num_threads=s.num_threads,
        # The sample is already the smoothed draw: use all of it, in file order.
        input_sentence_size=0,
        shuffle_input_sentence=False,
        # Bytes, not chars: sized so SentencePiece never silently skips a sampled line.
        max_sentence_length=4 * s.max_sentence_chars + 64,
        hard_vocab_limit=s.hard_vocab_limit,
        seed_sentencepiece_size=s.seed_sentencepiece_size,
        minloglevel=0,
    )
    with open(log_path, "w", encoding="utf-8") as log:
        try:
            spm.SentencePieceTrainer.Train(logstream=log, **kwargs)
        except RuntimeError as e:
            log.flush()
            hint = ""
            if "smaller than required_chars" in str(e):
                hint = " (raise tokenizer.vocab_size or lower tokenizer.character_coverage)"
            elif "Vocabulary size" in str(e):
                hint = " (the sample is too small for this vocab_size: lower tokenizer.vocab_size, " \
                       "raise tokenizer.sample_sentences, or set tokenizer.hard_vocab_limit: false)"
            raise TrainError(f"SentencePiece training failed: {e}{hint}") from e
    for ext in (".model", ".vocab"):
        if not os.path.exists(model_prefix + ext):
            raise TrainError(f"SentencePiece wrote no {model_prefix + ext}")


def tokenizer_info(data: bytes) -> dict:
    """Facts the trainer needs about a model (spm.model's bytes): sha256, vocab size, special and
    marker ids (for sampling.json)."""
    import hashlib

    sp = spm.SentencePieceProcessor(model_proto=data)
    special = {name: sp.piece_to_id(piece) for name, (piece, _) in SPECIALS.items()}
    special["mask"] = sp.piece_to_id(MASK)
    markers: dict[str, list[int]] = {}
    for i in range(sp.get_piece_size()):
        piece = sp.id_to_piece(i)
        if piece.startswith("<") and piece.endswith(">") and not piece.startswith("</") and "_" in piece:
            lang = piece[1:-1]
            close = sp.piece_to_id(f"</{lang}>")
            if close != sp.unk_id():
                markers[lang] = [i, close]
    return {"sha256": hashlib.sha256(data).hexdigest(), "vocab_size": sp.get_piece_size(),
            "special": dict(sorted(special.items())), "markers": dict(sorted(markers.items()))}
