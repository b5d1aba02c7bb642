"""A synthetic token corpus with a learnable cross-lingual signal, following the tokens contract exactly.

Kept in the package (not under tests/) because benchmarks/data_value.py trains on an enlarged copy
of it; the tests (tests/test_xlmodel*.py) use small ones. Nothing in the flows or the CLI uses it.

Every language gets its own made-up lexicon over shared concepts, so a TLM pair is a real
word-by-word translation and cross-lingual retrieval is learnable; a few concepts are "names"
spelled the same in every language (like numbers and proper nouns in real text), so a bag of
subword ids already retrieves some translations — the baseline a model has to beat.

Records are derived as in the real pipeline, each naming its parent:
- mlm: documents of several sentences, split into blocks (`<doc>-<k>`), parent = the document;
- tlm: translation pairs, parent = the pair;
- cs: ALM-style samples made from a pair (source words switched to the target's), several per pair,
  parent = the pair;
- entity: EntityCS samples (English sentence, entities switched to another language inside
  language markers), one per target language, parent = the sentence.
Text is tokenized with a SentencePiece model trained here (ids: <s>=0, <pad>=1, </s>=2, <unk>=3,
then <mask> and the markers), shards are Arrow IPC files with a manifest per objective directory,
and sampling.json carries token counts and smoothed stream probabilities.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from schemas.manifest import build_manifest, write_manifest
from schemas.tokens import TOKENS, parent_hash

SYLLABLES = {
    "eng_Latn": ["th", "an", "er", "in", "on", "st", "ow", "ea", "ing", "ly"],
    "deu_Latn": ["sch", "ei", "en", "ch", "ung", "ie", "au", "st", "er", "ge"],
    "fra_Latn": ["eu", "ou", "ai", "qu", "ion", "el", "an", "re", "es", "oi"],
    "spa_Latn": ["ll", "ar", "os", "ue", "ci", "ña", "ero", "al", "do", "ta"],
}
NAME_SYLLABLES = ["Ka", "Zo", "Mi", "Ru", "Te", "Vo"]  # names: capitalised, the same in every language


def _words(syl: list[str], n: int, rng: np.random.Generator, taken: set[str]) -> list[str]:
    words: list[str] = []
    while len(words) < n:
        w = "".join(syl[i] for i in rng.integers(0, len(syl), rng.integers(1, 4)))
        if w not in taken:
            taken.add(w)
            words.append(w)
    return words


def write_synthetic_corpus(out: str | Path, langs: tuple[str, ...] = ("eng_Latn", "deu_Latn", "fra_Latn"),
                           n_mono: int = 200, n_pairs: int = 120, n_entity: int = 120, n_cs: int = 80,
                           vocab_size: int = 400, n_concepts: int = 300, sent_len: tuple[int, int] = (4, 12),
                           n_names: int = 30, seed: int = 0, hf_tokenizer: bool = False,
                           max_block_tokens: int = 60, heldout_pairs: int = 0,
                           names_share: float | None = None) -> Path:
    """Write OUT/tokenizer/spm.model (+ hf/ when asked) and OUT/tokens/…; returns OUT/tokens.

    n_mono documents per language (fewer for later languages: smoothing matters), n_pairs pairs per
    non-English language (with English), n_cs code-switched samples per language pair (from its
    pairs, several per pair), n_entity EntityCS sentences, each switched into 1–2 languages.
    Concepts [n_concepts - n_names, n_concepts) are names, spelled alike in every language: the rarest
    concepts of the Zipf distribution, or, with names_share, that share of all words (uniform over names).
    heldout_pairs > 0 also writes OUT/heldout/synthetic.<lang>-eng_Latn.tsv per non-English language:
    that many fresh translation pairs as text (never in the corpus), for the parallel-file eval."""
    import sentencepiece as spm

    out = Path(out)
    rng = np.random.default_rng(seed)
    n_plain = n_concepts - n_names
    names = _words(NAME_SYLLABLES, n_names, rng, set())
    lex = {}
    for lang in langs:
        lex[lang] = _words(SYLLABLES[lang], n_plain, rng, set(names)) + names
    zipf = 1.0 / np.arange(1, n_concepts + 1)
    if names_share is not None:  # names take a fixed share of the words, plain concepts keep their Zipf shape
        zipf[:n_plain] *= (1.0 - names_share) / zipf[:n_plain].sum()
        zipf[n_plain:] = names_share / max(1, n_names)
    zipf /= zipf.sum()
    n_entities = min(40, n_plain)  # the rarest plain concepts double as named entities (EntityCS)

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

    def add(objective, key, lang, ids, parent, example_id=None, lang2=None, seg=-1, spans=None):
        lst = records.setdefault((objective, key), [])
        lst.append({"example_id": example_id or f"{objective}-{key}-{len(lst):05d}", "parent_id": parent,
                    "parent_hash": parent_hash(parent), "objective": objective, "lang": lang, "lang2": lang2,
                    "input_ids": ids, "segment_start": seg, "entity_spans": spans, "n_tokens": len(ids)})

    for i, lang in enumerate(langs):
        for d in range(max(1, n_mono // (i + 1))):  # unequal sizes so smoothing matters
            doc_id = f"doc-{lang}-{d:05d}"
            block: list[int] = []
            k = 0
            for _ in range(int(rng.integers(1, 5))):  # documents of 1–4 sentences, blocks of whole sentences
                ids = enc(render(sentence(), lang))
                if block and len(block) + len(ids) > max_block_tokens:
                    add("mlm", lang, lang, block, doc_id, f"{doc_id}-{k:05d}")
                    block, k = [], k + 1
                block += ids[:max_block_tokens]
            add("mlm", lang, lang, block, doc_id, f"{doc_id}-{k:05d}")
    eng = langs[0]
    for a in langs[1:]:
        pairs = []
        for p in range(n_pairs):
            c = sentence()
            pair_id = f"pair-{a}-{p:05d}"
            src, tgt = enc(render(c, a)), enc(render(c, eng))
            add("tlm", f"{a}-{eng}", a, src + tgt, pair_id, pair_id, lang2=eng, seg=len(src))
            pairs.append((pair_id, c))
        for j in range(n_cs):  # ALM-style: matrix language `a`, ~25% of words from English; parent = the pair
            pair_id, c = pairs[j % len(pairs)]
            switch = rng.random(len(c)) < 0.25
            ids, spans = [], []
            for concept, sw in zip(c, switch, strict=True):
                piece = enc(lex[eng if sw else a][concept])
                if sw:
                    spans.append({"start": len(ids), "end": len(ids) + len(piece)})
                ids += piece
            add("cs", a, a, ids, pair_id, f"{pair_id}-cs{j // len(pairs)}", spans=spans)
    for e in range(n_entity):  # EntityCS: English matrix sentence, entities switched + markers; parent = it
        c = sentence()
        pos = rng.choice(len(c), size=min(len(c), int(rng.integers(1, 3))), replace=False)
        c[pos] = rng.integers(n_plain - n_entities, n_plain, len(pos))
        sent_id = f"sent-{e:05d}"
        targets = rng.choice(np.arange(1, len(langs)), size=min(len(langs) - 1, int(rng.integers(1, 3))),
                             replace=False)
        for t in sorted(targets.tolist()):
            lang = langs[t]
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
                    ids += enc(lex[eng][concept])
            add("entity", lang, lang, ids, sent_id, f"{sent_id}-{lang}", spans=spans)

    if heldout_pairs:  # drawn last, so the corpus itself does not depend on this option
        (out / "heldout").mkdir(parents=True, exist_ok=True)
        for a in langs[1:]:
            lines = []
            for _ in range(heldout_pairs):
                c = sentence()
                lines.append(f"{render(c, a)}\t{render(c, eng)}\n")
            (out / "heldout" / f"synthetic.{a}-{eng}.tsv").write_text("".join(lines), encoding="utf-8")

    tokens = out / "tokens"
    objectives: dict[str, dict] = {}
    for (objective, key), rows in sorted(records.items()):
        rel = f"{objective}/{key}/part-00000.arrow"
        path = tokens / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        rows.sort(key=lambda r: r["example_id"])  # as the encode stage writes them
        table = pa.Table.from_pylist(rows, schema=TOKENS)
        with ipc.new_file(str(path), TOKENS) as w:
            for b in table.to_batches(max_chunksize=64):  # several record batches: exercise chunk lookup
                w.write_batch(b)
        objectives.setdefault(objective, {"streams": {}})["streams"][key] = {
            "examples": len(rows), "tokens": int(sum(r["n_tokens"] for r in rows)), "files": [rel]}
    # Exponential smoothing of token counts, alpha 0.3, within each objective (as the encode stage does;
    # computed here because xlmodel may not import pipelines.smoothing).
    for section in objectives.values():
        n = np.array([s["tokens"] for s in section["streams"].values()], dtype=float)
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
