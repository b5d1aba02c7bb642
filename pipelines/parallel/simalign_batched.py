"""SimAlign on real encoder sizes: batched, length-sorted, and only up to the layer that is read.

simalign's `SentenceAligner.get_word_aligns` embeds one pair per forward pass through the whole
model. Here (1) the encoder is loaded with only the layers up to the one read — a 12-layer model
read at layer 8 runs 8 layers, two thirds of the work (post-LN encoders: BERT, RoBERTa, XLM-R,
whose hidden state after layer L does not depend on later layers; other model types run whole);
(2) the distinct sentences of a chunk are sorted by subword length and padded into batches (at
most `batch_size` sentences and `max_batch_tokens` padded positions each), so little is padding;
(3) on CUDA the encoder runs in bfloat16 (float16 where bf16 is unsupported) unless `dtype` says
otherwise. Each sentence's subword vectors are sliced out and the pair's similarity matrix goes
through simalign's own functions (apply_distortion, get_alignment_matrix, iter_max,
get_max_weight_match; get_similarity is reproduced without scikit-learn's per-call validation
overhead), so on CPU (float32) the links equal simalign's per-pair links — tests and
benchmarks/align.py check it. Unlike simalign, a sentence longer than the model's limit is never
truncated silently: `too_long` names it and the caller skips it with a reason.
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
    device: str = "cpu"  # cpu | cuda | cuda:N
    dtype: str = "auto"  # auto (bfloat16 / float16 on CUDA, float32 on CPU) | float32 | bfloat16 | float16
    max_batch_tokens: int = 16384  # padded subword positions per forward pass (bounds memory on long sentences)

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


# Encoders whose hidden state after layer L is the same whether or not later layers exist (post-LN,
# no final norm): these are loaded with only L layers.
TRUNCATABLE = frozenset({"bert", "roberta", "xlm-roberta", "camembert"})
DTYPES = ("auto", "float32", "bfloat16", "float16")


class SimAlignSetupError(ValueError):
    """The simalign configuration cannot run here (device, dtype, layer)."""


def resolve_dtype(torch, device: str, dtype: str):
    """The torch dtype the encoder runs in: float32 on CPU unless asked; bf16 (else fp16) on CUDA."""
    if dtype not in DTYPES:
        raise SimAlignSetupError(f"unknown simalign dtype {dtype!r}: choose one of {', '.join(DTYPES)}")
    if dtype == "auto":
        if not device.startswith("cuda"):
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return getattr(torch, dtype)


def load_encoder(path: str, layer: int, device: str, dtype):
    """(tokenizer, model, layers run, cut): the model cut after `layer` where that leaves its output
    unchanged (cut: read its last hidden state; else hidden state `layer` of the whole model)."""
    import transformers
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    config = AutoConfig.from_pretrained(path)
    n_layers = config.num_hidden_layers
    if layer > n_layers:
        raise SimAlignSetupError(f"simalign layer {layer} > the model's {n_layers} layers: set a smaller layer")
    kwargs: dict = {"output_hidden_states": True}
    run = n_layers
    if config.model_type in TRUNCATABLE:
        run = layer  # the last hidden state of the cut model is hidden state `layer` of the whole one
        kwargs = {"num_hidden_layers": layer, "add_pooling_layer": False}
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # "weights not used": the layers above `layer`, on purpose
    try:
        model = AutoModel.from_pretrained(path, **kwargs)
    finally:
        transformers.logging.set_verbosity(verbosity)
    model = model.to(device=device, dtype=dtype).eval()
    return AutoTokenizer.from_pretrained(path), model, run, config.model_type in TRUNCATABLE


class BatchedSimAligner:
    """Loads the tokenizer and the (cut) encoder once; the matching is simalign's own."""

    def __init__(self, params: SimAlignParams):
        import torch
        from simalign import SentenceAligner

        from pipelines.remote_files import local_copy

        if not params.model_path:
            raise ValueError("simalign needs parallel.align.simalign.model_path: a local BERT-like model folder")
        if params.method not in METHODS:
            raise ValueError(f"unknown simalign method {params.method!r}: choose one of {', '.join(METHODS)}")
        if params.device.startswith("cuda") and not torch.cuda.is_available():
            raise SimAlignSetupError(f"simalign device {params.device!r}, but torch sees no CUDA device here")
        self.params = params
        self.torch = torch
        self.sa = SentenceAligner  # its matching functions are static: no second model is loaded
        self.dtype = resolve_dtype(torch, params.device, params.dtype)
        # a gs:// / s3:// model folder is fetched once per worker
        self.tokenizer, self.model, self.layers_run, self.cut = load_encoder(local_copy(params.model_path), params.layer,
                                                                   params.device, self.dtype)
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

    def batches(self, lengths: list[int]) -> list[list[int]]:
        """Sentence indices by ascending length, cut into batches of at most batch_size sentences and
        max_batch_tokens padded positions (a batch pads to its longest, i.e. last, sentence)."""
        order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
        special = self.tokenizer.num_special_tokens_to_add()
        out: list[list[int]] = []
        for i in order:
            width = lengths[i] + special
            if out and len(out[-1]) < self.params.batch_size and (len(out[-1]) + 1) * width <= self.params.max_batch_tokens:
                out[-1].append(i)
            else:
                out.append([i])
        return out

    def embed(self, sentences: list[list[str]]) -> list[np.ndarray]:
        """Subword vectors (n_subwords × dim) of each word-tokenized sentence, in input order. A sentence
        that occurs several times in the chunk ("Yes." against several translations) is embedded once."""
        first: dict[tuple[str, ...], int] = {}
        which = [first.setdefault(tuple(s), len(first)) for s in sentences]
        if len(first) < len(sentences):
            distinct = self.embed([list(s) for s in first])
            return [distinct[k] for k in which]
        out: list[np.ndarray | None] = [None] * len(sentences)
        lengths = [sum(self.n_pieces(w) for w in s) for s in sentences]
        with self.torch.inference_mode():
            for idx in self.batches(lengths):
                enc = self.tokenizer([sentences[i] for i in idx], is_split_into_words=True, padding=True,
                                     truncation=False, return_tensors="pt").to(self.params.device)
                result = self.model(**enc)
                hidden = result.last_hidden_state if self.cut else result.hidden_states[self.params.layer]
                hidden = hidden.float()
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
        sim = sa.apply_distortion(similarity(xs, ys), self.params.distortion)
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
