"""Memory-mapped token shards and the sampling manifest (OUT/tokens/sampling.json).

Each stream (objective, language or pair) is a list of Arrow IPC files with the TOKENS schema.
Uncompressed files are read zero-copy: every column below is a numpy *view* into the mapped file,
so opening a corpus costs page-table entries, not RAM (LZ4 files are decompressed once on open).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from schemas.tokens import OBJECTIVES

OBJECTIVE_IDS = {name: i for i, name in enumerate(OBJECTIVES)}  # mlm 0, tlm 1, cs 2, entity 3
OBJECTIVE_NAMES = tuple(OBJECTIVE_IDS)


class DataError(ValueError):
    """The token directory is missing or does not follow the tokens/sampling.json contract."""


@dataclass
class Vocab:
    size: int
    bos: int
    pad: int
    eos: int
    unk: int
    mask: int
    markers: dict[str, tuple[int, int]]
    hf_dir: Path | None  # HF tokenizer folder, when the tokenizer stage wrote one

    @functools.cached_property
    def marker_ids(self) -> np.ndarray:  # cached: every micro-batch reads it
        return np.array(sorted({i for pair in self.markers.values() for i in pair}), dtype=np.int32)

    def replacement_ids(self) -> np.ndarray:
        """Ids a "random token" replacement may draw from: everything but specials and markers."""
        banned = {self.bos, self.pad, self.eos, self.unk, self.mask, *self.marker_ids.tolist()}
        ids = np.arange(self.size, dtype=np.int32)
        return ids[~np.isin(ids, np.array(sorted(banned), dtype=np.int32))]


def _chunk_views(table: pa.Table) -> list[dict[str, np.ndarray]]:
    """Per record-batch numpy views of the columns the trainer reads (zero-copy where Arrow allows)."""
    views = []
    for batch in table.to_batches():
        ids = batch.column("input_ids")
        spans = batch.column("entity_spans")
        span_values = spans.values  # StructArray of (start, end), indexed by span offsets
        views.append({
            "offsets": ids.offsets.to_numpy(zero_copy_only=False).astype(np.int64, copy=False),
            "values": ids.values.to_numpy(zero_copy_only=True),
            "segment_start": batch.column("segment_start").to_numpy(zero_copy_only=False),
            "span_offsets": spans.offsets.to_numpy(zero_copy_only=False).astype(np.int64, copy=False),
            "span_start": span_values.field("start").to_numpy(zero_copy_only=False),
            "span_end": span_values.field("end").to_numpy(zero_copy_only=False),
            "n_tokens": batch.column("n_tokens").to_numpy(zero_copy_only=False),
            "parent_hash": batch.column("parent_hash").to_numpy(zero_copy_only=False),
        })
    return views


def holdout_mask(parent_hash: np.ndarray, holdout_permille: int) -> np.ndarray:
    """True where an example is held out: its parent's hash % 1000 falls below holdout_permille.
    Every example of one parent (the blocks of a document; a pair's tlm example and its code-switched
    samples) lands on the same side, so nothing derived from a held-out parent is trained on."""
    return (parent_hash % np.uint64(1000)).astype(np.int32) < holdout_permille


@dataclass
class Stream:
    """All examples of one (objective, language or pair), split into train and held-out rows."""

    objective: str
    key: str  # "eng_Latn" or "deu_Latn-eng_Latn"
    p_smoothed: float
    table: pa.Table
    lang_ids: np.ndarray  # global language index per row (source side)
    lang2_ids: np.ndarray  # target language index per row (tlm), else -1
    train_rows: np.ndarray
    eval_rows: np.ndarray
    tokens: int = 0  # Σ n_tokens (sampling.json): what annealed sampling weighs by
    max_tokens: int = 0  # longest example's input_ids (without special tokens)
    _views: list[dict[str, np.ndarray]] = field(repr=False, default_factory=list)
    _starts: np.ndarray = field(repr=False, default=None)

    def _locate(self, row: int) -> tuple[dict[str, np.ndarray], int]:
        c = int(np.searchsorted(self._starts, row, side="right")) - 1
        return self._views[c], row - int(self._starts[c])

    def example(self, row: int) -> tuple[np.ndarray, int, np.ndarray]:
        """(input_ids view, segment_start, spans [k, 2]) of one row."""
        v, j = self._locate(row)
        ids = v["values"][v["offsets"][j]:v["offsets"][j + 1]]
        a, b = v["span_offsets"][j], v["span_offsets"][j + 1]
        spans = np.stack([v["span_start"][a:b], v["span_end"][a:b]], axis=1) if b > a else _NO_SPANS
        return ids, int(v["segment_start"][j]), spans


_NO_SPANS = np.zeros((0, 2), dtype=np.int32)


def _open_table(path: Path) -> pa.Table:
    try:
        source = pa.memory_map(str(path), "r")
        return ipc.open_file(source).read_all()
    except FileNotFoundError as e:
        raise DataError(f"token shard {path} listed in sampling.json is missing") from e
    except pa.ArrowInvalid as e:
        raise DataError(f"token shard {path} is not an Arrow IPC file: {e}") from e


def _lang_index(column: pa.ChunkedArray, langs: dict[str, int]) -> np.ndarray:
    enc = pc.dictionary_encode(column.combine_chunks() if column.num_chunks != 1 else column.chunk(0))
    mapping = np.array([langs.get(x, -1) for x in enc.dictionary.to_pylist()] + [-1], dtype=np.int32)
    idx = enc.indices.fill_null(len(enc.dictionary)).to_numpy(zero_copy_only=False)
    return mapping[idx]


@dataclass
class TokenData:
    root: Path
    vocab: Vocab
    languages: list[str]  # global language index → code (sorted)
    streams: list[Stream]
    sampling: dict


def load_vocab(sampling: dict, root: Path) -> Vocab:
    tok = sampling.get("tokenizer") or {}
    sp = tok.get("special") or {}
    try:
        hf = tok.get("hf_dir")
        hf_dir = (root / hf).resolve() if hf else None
        return Vocab(size=int(tok["vocab_size"]), bos=int(sp["bos"]), pad=int(sp["pad"]), eos=int(sp["eos"]),
                     unk=int(sp["unk"]), mask=int(sp["mask"]),
                     markers={k: (int(v[0]), int(v[1])) for k, v in (tok.get("markers") or {}).items()},
                     hf_dir=hf_dir if hf_dir is not None and hf_dir.is_dir() else None)
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(f"{root / 'sampling.json'}: tokenizer section lacks {e} (vocab_size, special ids)") from e


def read_sampling(root: Path) -> dict:
    """root/sampling.json, checked for its format (no shard is opened)."""
    path = root / "sampling.json"
    if not path.is_file():
        raise DataError(f"no sampling.json in {root}: run the encode stage first (or point train.tokens_path at it)")
    sampling = json.loads(path.read_text(encoding="utf-8"))
    if sampling.get("format") != 1:
        raise DataError(f"{path}: unsupported format {sampling.get('format')!r} (expected 1)")
    return sampling


def open_tokens(tokens_dir: str | Path, languages: list[str] | None = None,
                holdout_permille: int = 10) -> TokenData:
    """Read sampling.json and memory-map every stream it lists (optionally only some languages)."""
    root = Path(tokens_dir)
    path = root / "sampling.json"
    sampling = read_sampling(root)
    vocab = load_vocab(sampling, root)
    wanted = set(languages or [])
    picked: list[tuple[str, str, dict]] = []
    for objective, section in sorted((sampling.get("objectives") or {}).items()):
        if objective not in OBJECTIVE_IDS:
            raise DataError(f"{path}: unknown objective {objective!r}")
        for key, info in sorted((section.get("streams") or {}).items()):
            if wanted and not set(key.split("-")) <= wanted:
                continue
            if int(info.get("examples", 1)) == 0:
                continue
            picked.append((objective, key, info))
    if not picked:
        raise DataError(f"{path}: no stream left to train on (languages filter: {sorted(wanted) or 'none'})")
    langs = sorted({lang for _, key, _ in picked for lang in key.split("-")})
    lang_idx = {lang: i for i, lang in enumerate(langs)}
    streams = []
    for objective, key, info in picked:
        tables = [_open_table(root / f) for f in info["files"]]
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        if "parent_hash" not in table.schema.names:
            raise DataError(f"{root / info['files'][0]}: token shards without parent ids (tokens schema v1): "
                            "re-encode them (xlcorpus build --force encode) so the held-out split can follow parents")
        views = _chunk_views(table)
        # Per record batch, on numpy views: no Python object per example (ids are never read here).
        held = np.concatenate([holdout_mask(v["parent_hash"], holdout_permille) for v in views]) if views \
            else np.zeros(0, dtype=bool)
        longest = max((int(v["n_tokens"].max()) for v in views if len(v["n_tokens"])), default=0)
        lang2 = table.column("lang2")
        s = Stream(objective=objective, key=key, p_smoothed=float(info.get("p_smoothed", 1.0)), table=table,
                   lang_ids=_lang_index(table.column("lang"), lang_idx),
                   lang2_ids=_lang_index(lang2, lang_idx) if objective == "tlm" else np.full(len(table), -1, np.int32),
                   train_rows=np.flatnonzero(~held), eval_rows=np.flatnonzero(held),
                   tokens=int(info.get("tokens", 0)), max_tokens=longest)
        s._views = views
        sizes = [len(v["segment_start"]) for v in s._views]
        s._starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        streams.append(s)
    return TokenData(root=root, vocab=vocab, languages=langs, streams=streams, sampling=sampling)
