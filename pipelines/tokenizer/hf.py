"""Export the SentencePiece model as a Hugging Face fast tokenizer (XLM-R style, ids unchanged).

Built with the `tokenizers` library from the model's own pieces and scores: same ids as spm.model
(no fairseq offset), the model's precompiled normalization charsmap, '▁' metaspace with a dummy
prefix on the first segment, byte fallback. <s>/</s>/<pad>/<unk>/<mask> are special tokens; the
language markers are added tokens kept whole (as SentencePiece's user-defined symbols are).
"""

from __future__ import annotations

import sentencepiece as spm
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from pipelines.tokenizer.proto import precompiled_charsmap
from pipelines.tokenizer.train import MASK, SPECIALS

SPIECE = "▁"


def _bpe_merges(sp: spm.SentencePieceProcessor, vocab: dict[str, int]) -> list[tuple[str, str]]:
    """Merges implied by a SentencePiece BPE model: a piece's splits into two known pieces, ranked by
    the piece's score (SentencePiece merges the highest-scoring pair first), then by id."""
    ranked = []
    for piece, pid in vocab.items():
        if not sp.is_unknown(pid) and not sp.is_control(pid) and not sp.is_byte(pid) and len(piece) > 1:
            for k in range(1, len(piece)):
                a, b = piece[:k], piece[k:]
                if a in vocab and b in vocab:
                    ranked.append((-sp.get_score(pid), pid, vocab[a], vocab[b], a, b))
    return [(a, b) for *_, a, b in sorted(ranked)]


def build_tokenizer(model_bytes: bytes, model_type: str) -> Tokenizer:
    sp = spm.SentencePieceProcessor(model_proto=model_bytes)
    n = sp.get_piece_size()
    pieces = [sp.id_to_piece(i) for i in range(n)]
    unk = SPECIALS["unk"][1]
    if model_type == "unigram":
        model = models.Unigram([(p, sp.get_score(i)) for i, p in enumerate(pieces)], unk_id=unk, byte_fallback=True)
    else:
        vocab = {p: i for i, p in enumerate(pieces)}
        model = models.BPE(vocab, _bpe_merges(sp, vocab), unk_token=pieces[unk], fuse_unk=True, byte_fallback=True)
    tok = Tokenizer(model)
    norms = []
    charsmap = precompiled_charsmap(model_bytes)
    if charsmap:
        norms.append(normalizers.Precompiled(charsmap))
    # SentencePiece's remove_extra_whitespaces: collapse runs; drop trailing space (a single leading
    # space is kept so the first-segment prefix check still sees offset 0 and gives one "▁").
    norms += [normalizers.Replace(Regex(" {2,}"), " "), normalizers.Strip(left=False, right=True)]
    tok.normalizer = normalizers.Sequence(norms)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPIECE, prepend_scheme="first", split=True)
    tok.decoder = decoders.Sequence(
        [decoders.Replace(SPIECE, " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    specials = [p for p, _ in SPECIALS.values()] + [MASK]
    user = [p for i, p in enumerate(pieces) if sp.is_control(i) is False and _is_user_symbol(sp, i) and p != MASK]
    tok.add_special_tokens([AddedToken(p, normalized=False, special=True) for p in specials])
    tok.add_tokens([AddedToken(p, normalized=False, special=False) for p in user])
    bos, eos = SPECIALS["bos"], SPECIALS["eos"]
    # XLM-R templates: <s> A </s> and <s> A </s></s> B </s>.
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos[0]} $A {eos[0]}",
        pair=f"{bos[0]} $A {eos[0]} {eos[0]} $B {eos[0]}",
        special_tokens=[(bos[0], bos[1]), (eos[0], eos[1])],
    )
    return tok


def _is_user_symbol(sp: spm.SentencePieceProcessor, i: int) -> bool:
    """User-defined symbols: not control/unknown/byte/unused, and scored 0 like SentencePiece gives them."""
    return not (sp.is_unknown(i) or sp.is_byte(i) or sp.is_unused(i)) and sp.get_score(i) == 0.0 and \
        sp.id_to_piece(i).startswith("<") and sp.id_to_piece(i).endswith(">") and len(sp.id_to_piece(i)) > 2


def save_hf(model_bytes: bytes, model_type: str, out_dir: str) -> None:
    """Write tokenizer.json + config files loadable with AutoTokenizer.from_pretrained(out_dir)."""
    from transformers import PreTrainedTokenizerFast

    tok = build_tokenizer(model_bytes, model_type)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=SPECIALS["bos"][0], eos_token=SPECIALS["eos"][0], unk_token=SPECIALS["unk"][0],
        pad_token=SPECIALS["pad"][0], mask_token=MASK, cls_token=SPECIALS["bos"][0], sep_token=SPECIALS["eos"][0],
        model_max_length=512,
    )
    fast.save_pretrained(out_dir)
