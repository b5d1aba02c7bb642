"""SimAlign with batched forward passes.

simalign's `SentenceAligner.get_word_aligns` embeds one pair per forward pass. Here the sentences of
many pairs are sorted by length, padded into batches and embedded together; each sentence's subword
vectors are sliced out and the pair's similarity matrix goes through simalign's own functions
(apply_distortion, get_alignment_matrix, iter_max, get_max_weight_match; get_similarity is
reproduced without scikit-learn's per-call validation overhead), so the links equal simalign's
per-pair links. Unlike simalign, a sentence longer than the model's limit is
never truncated silently: `too_long` names it and the caller skips it with a reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from pipelines.parallel.symmetrize import Link

METHODS = {"inter": "a", "itermax": "i", "mwmf": "m"}  # simalign's names → its matching_methods letters


@dataclass(frozen=True)
class SimAlignParams:
    model_path: str | None = None  # a local BERT-like model folder (config, weights, tokenizer files)
    layer: int = 8  # hidden layer whose embeddings are compared (simalign's default)
    method: str = "inter"  # inter (ArgMax) | itermax | mwmf (Match)
    distortion: float = 0.0
    batch_size: int = 32  # sentences per forward pass
    device: str = "cpu"

    def as_dict(self) -> dict:
        return asdict(self)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    norms[norms == 0.0] = 1.0
    return x / norms[:, np.newaxis]


def similarity(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """simalign's get_similarity, (cosine + 1) / 2, with the same float operations as scikit-learn's
    cosine_similarity (row norms by einsum, divide, matmul) minus its ~1 ms of input validation per
    call, which dominated batched alignment. Tests assert the links equal simalign's own."""
    return (_unit_rows(xs) @ _unit_rows(ys).T + 1.0) / 2.0


class BatchedSimAligner:
    """Loads the model once (through simalign, so tokenizer and model are exactly simalign's)."""

    def __init__(self, params: SimAlignParams):
        import torch
        from simalign import SentenceAligner

        if not params.model_path:
            raise ValueError("simalign needs parallel.align.simalign.model_path: a local BERT-like model folder")
        if params.method not in METHODS:
            raise ValueError(f"unknown simalign method {params.method!r}: choose one of {', '.join(METHODS)}")
        self.params = params
        self.torch = torch
        from pipelines.remote_files import local_copy

        # a gs:// / s3:// model folder is fetched once per worker
        self.sa = SentenceAligner(model=local_copy(params.model_path), token_type="bpe", matching_methods=METHODS[params.method],
                                  distortion=params.distortion, device=params.device, layer=params.layer)
        self.tokenizer = self.sa.embed_loader.tokenizer
        self.model = self.sa.embed_loader.emb_model
        n_layers = self.model.config.num_hidden_layers
        if params.layer > n_layers:
            raise ValueError(f"simalign layer {params.layer} > the model's {n_layers} layers: set a smaller layer")
        limits = [getattr(self.model.config, "max_position_embeddings", None), self.tokenizer.model_max_length]
        self.max_subwords = min(x for x in limits if x and x < 10**9) - self.tokenizer.num_special_tokens_to_add()
        self._pieces: dict[str, int] = {}

    def n_pieces(self, word: str) -> int:
        """Subwords of one word, as simalign counts them (tokenize each word on its own); cached."""
        n = self._pieces.get(word)
        if n is None:
            n = self._pieces[word] = len(self.tokenizer.tokenize(word))
        return n

    def too_long(self, words: list[str]) -> int | None:
        """Subword count when over the model's limit, else None."""
        n = sum(self.n_pieces(w) for w in words)
        return n if n > self.max_subwords else None

    def embed(self, sentences: list[list[str]]) -> list[np.ndarray]:
        """Subword vectors (n_subwords × dim) of each word-tokenized sentence, in input order."""
        out: list[np.ndarray | None] = [None] * len(sentences)
        lengths = [sum(self.n_pieces(w) for w in s) for s in sentences]
        order = sorted(range(len(sentences)), key=lambda i: (lengths[i], i))  # little padding per batch
        bs = max(1, self.params.batch_size)
        with self.torch.no_grad():
            for start in range(0, len(order), bs):
                idx = order[start : start + bs]
                enc = self.tokenizer([sentences[i] for i in idx], is_split_into_words=True, padding=True,
                                     truncation=False, return_tensors="pt").to(self.params.device)
                hidden = self.model(**enc)["hidden_states"][self.params.layer]
                content = enc["attention_mask"].sum(1) - self.tokenizer.num_special_tokens_to_add()
                for row, i in enumerate(idx):
                    if int(content[row]) != lengths[i]:
                        raise RuntimeError(
                            f"tokenizer gives {int(content[row])} subwords for a sentence whose words give "
                            f"{lengths[i]}: this model's tokenizer does not split words independently"
                        )
                    # simalign drops the first (CLS) position and keeps the sentence's subwords
                    out[i] = hidden[row, 1 : 1 + lengths[i]].cpu().numpy()
        return out  # type: ignore[return-value]

    def links_from_vectors(self, src_words: list[str], tgt_words: list[str], xs: np.ndarray, ys: np.ndarray) -> list[Link]:
        """simalign's matching on one pair's subword vectors, mapped back to word links."""
        sa = self.sa
        if len(xs) == 0 or len(ys) == 0:
            return []
        sim = sa.apply_distortion(similarity(xs, ys), sa.distortion)
        method = self.params.method
        if method == "inter":
            fwd, rev = sa.get_alignment_matrix(sim)
            mat = fwd * rev
        elif method == "itermax":
            mat = sa.iter_max(sim)
        else:
            mat = sa.get_max_weight_match(sim)
        b2w_src = np.repeat(np.arange(len(src_words)), [self.n_pieces(w) for w in src_words])
        b2w_tgt = np.repeat(np.arange(len(tgt_words)), [self.n_pieces(w) for w in tgt_words])
        ii, jj = np.nonzero(mat > 0)
        return sorted({(int(b2w_src[i]), int(b2w_tgt[j])) for i, j in zip(ii, jj, strict=True)})

    def align(self, pairs: list[tuple[list[str], list[str]]]) -> list[list[Link]]:
        """Links of each (src words, tgt words) pair; every sentence must be within the length limit."""
        vectors = self.embed([s for s, _ in pairs] + [t for _, t in pairs])
        n = len(pairs)
        return [self.links_from_vectors(s, t, vectors[k], vectors[n + k]) for k, (s, t) in enumerate(pairs)]
