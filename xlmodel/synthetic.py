"""A small synthetic token corpus that follows the tokens contract exactly (test fixtures only:
tests/test_xlmodel*.py; nothing in the flows, CLI or benchmarks uses it).

Every language gets its own made-up lexicon over shared concepts, so a TLM pair is a real word-by-word
translation (retrieval is learnable) and entity examples carry EntityCS-style language markers
around entity subwords. Text is tokenized with a SentencePiece model trained here (ids: <s>=0,
<pad>=1, </s>=2, <unk>=3, then <mask> and the markers), shards are Arrow IPC files with a manifest
per objective directory, and sampling.json carries smoothed stream probabilities.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from schemas.manifest import build_manifest, write_manifest
from schemas.tokens import TOKENS

SYLLABLES = {
    "eng_Latn": ["th", "an", "er", "in", "on", "st", "ow", "ea", "ing", "ly"],
    "deu_Latn": ["sch", "ei", "en", "ch", "ung", "ie", "au", "st", "er", "ge"],
    "fra_Latn": ["eu", "ou", "ai", "qu", "ion", "el", "an", "re", "es", "oi"],
    "spa_Latn": ["ll", "ar", "os", "ue", "ci", "ña", "ero", "al", "do", "ta"],
}


def _lexicon(lang: str, n: int, rng: np.random.Generator) -> list[str]:
    syl = SYLLABLES[lang]
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < n:
        w = "".join(syl[i] for i in rng.integers(0, len(syl), rng.integers(1, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def write_synthetic_corpus(out: str | Path, langs: tuple[str, ...] = ("eng_Latn", "deu_Latn", "fra_Latn"),
                           n_mono: int = 200, n_pairs: int = 120, n_entity: int = 120, n_cs: int = 80,
                           vocab_size: int = 400, n_concepts: int = 300, sent_len: tuple[int, int] = (5, 25),
                           seed: int = 0, hf_tokenizer: bool = False) -> Path:
    """Write OUT/tokenizer/spm.model (+ hf/ when asked) and OUT/tokens/…; returns OUT/tokens."""
    import sentencepiece as spm

    out = Path(out)
    rng = np.random.default_rng(seed)
    lex = {lang: _lexicon(lang, n_concepts, rng) for lang in langs}
    zipf = 1.0 / np.arange(1, n_concepts + 1)
    zipf /= zipf.sum()
    n_entities = 40  # the rarest concepts double as named entities

    def sentence() -> np.ndarray:
        return rng.choice(n_concepts, size=int(rng.integers(*sent_len)), p=zipf)

    def render(concepts, lang: str) -> str:
        return " ".join(lex[lang][c] for c in concepts)

    markers = {lang: (f"<{lang}>", f"</{lang}>") for lang in langs}
    train_text = [render(sentence(), lang) for lang in langs for _ in range(400)]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(train_text), model_writer=buf, vocab_size=vocab_size, model_type="unigram",
        bos_id=0, pad_id=1, eos_id=2, unk_id=3, character_coverage=1.0, hard_vocab_limit=False,
        user_defined_symbols=["<mask>"] + [m for pair in markers.values() for m in pair], minloglevel=2,
        num_threads=1)
    (out / "tokenizer").mkdir(parents=True, exist_ok=True)
    (out / "tokenizer" / "spm.model").write_bytes(buf.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())

    def enc(text: str) -> list[int]:
        return sp.encode(text)

    records: dict[tuple[str, str], list[dict]] = {}

    def add(objective, key, lang, ids, lang2=None, seg=-1, spans=None):
        lst = records.setdefault((objective, key), [])
        lst.append({"example_id": f"{objective}-{key}-{len(lst):05d}", "objective": objective, "lang": lang,
                    "lang2": lang2, "input_ids": ids, "segment_start": seg, "entity_spans": spans,
                    "n_tokens": len(ids)})

    for i, lang in enumerate(langs):
        for _ in range(max(1, n_mono // (i + 1))):  # unequal sizes so smoothing matters
            add("mlm", lang, lang, enc(render(sentence(), lang)))
    for a in langs[1:]:
        b = langs[0]
        for _ in range(n_pairs):
            c = sentence()
            src, tgt = enc(render(c, a)), enc(render(c, b))
            add("tlm", f"{a}-{b}", a, src + tgt, lang2=b, seg=len(src))
    for lang in langs[1:]:
        for _ in range(n_entity):  # EntityCS: English matrix sentence, entities switched to `lang` + markers
            c = sentence()
            pos = rng.choice(len(c), size=min(len(c), int(rng.integers(1, 3))), replace=False)
            c[pos] = rng.integers(n_concepts - n_entities, n_concepts, len(pos))
            ids, spans = [], []
            for j, concept in enumerate(c):
                if j in pos:
                    open_, close = markers[lang]
                    ids += sp.piece_to_id([open_])
                    start = len(ids)
                    ids += enc(lex[lang][concept])
                    spans.append({"start": start, "end": len(ids)})
                    ids += sp.piece_to_id([close])
                else:
                    ids += enc(lex[langs[0]][concept])
            add("entity", lang, lang, ids, spans=spans)
        for _ in range(n_cs):  # code-switched: matrix lang `lang`, ~25% words from English
            c = sentence()
            switch = rng.random(len(c)) < 0.25
            ids, spans = [], []
            for concept, sw in zip(c, switch, strict=True):
                piece = enc(lex[langs[0] if sw else lang][concept])
                if sw:
                    spans.append({"start": len(ids), "end": len(ids) + len(piece)})
                ids += piece
            add("cs", lang, lang, ids, spans=spans)

    tokens = out / "tokens"
    objectives: dict[str, dict] = {}
    for (objective, key), rows in sorted(records.items()):
        rel = f"{objective}/{key}/part-00000.arrow"
        path = tokens / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(rows, schema=TOKENS)
        with ipc.new_file(str(path), TOKENS) as w:
            for b in table.to_batches(max_chunksize=64):  # several record batches: exercise chunk lookup
                w.write_batch(b)
        objectives.setdefault(objective, {"streams": {}})["streams"][key] = {
            "examples": len(rows), "tokens": int(sum(r["n_tokens"] for r in rows)), "files": [rel]}
    # Exponential smoothing, alpha 0.3, within each objective (of example counts: enough for a fixture;
    # the encode stage smooths token counts with pipelines.smoothing, which xlmodel may not import).
    for section in objectives.values():
        n = np.array([s["examples"] for s in section["streams"].values()], dtype=float)
        p_raw, p_s = n / n.sum(), n ** 0.3 / (n ** 0.3).sum()
        for s, a, b in zip(section["streams"].values(), p_raw, p_s, strict=True):
            s["p_raw"], s["p_smoothed"] = float(a), float(b)
    for objective in objectives:
        d = str(tokens / objective)
        counters = {"examples.kept": sum(len(v) for (o, _), v in records.items() if o == objective)}
        write_manifest(d, build_manifest(d, TOKENS, "encode", counters, "synthetic", {}, "synthetic"))
    tok_info = {"sha256": "synthetic", "vocab_size": sp.get_piece_size(), "model": "../tokenizer/spm.model",
                "special": {"bos": 0, "pad": 1, "eos": 2, "unk": 3, "mask": sp.piece_to_id("<mask>")},
                "markers": {lang: [sp.piece_to_id(a), sp.piece_to_id(b)] for lang, (a, b) in markers.items()}}
    if hf_tokenizer:
        hf_tokenizer_from_spm(out / "tokenizer" / "spm.model").save_pretrained(str(out / "tokenizer" / "hf"))
        tok_info["hf_dir"] = "../tokenizer/hf"
    sampling = {"format": 1, "alpha": 0.3, "seed": seed, "tokenizer": tok_info, "objectives": objectives}
    (tokens / "sampling.json").write_text(json.dumps(sampling, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return tokens


def hf_tokenizer_from_spm(model_path: str | Path):
    """A fast HF tokenizer with the SentencePiece model's pieces and ids (Unigram + Metaspace)."""
    import sentencepiece as spm
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    vocab = [(sp.id_to_piece(i), float(sp.get_score(i))) for i in range(sp.get_piece_size())]
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp.unk_id()))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", sp.bos_id()), ("</s>", sp.eos_id())])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", mask_token="<mask>", cls_token="<s>", sep_token="</s>")
