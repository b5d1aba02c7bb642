"""`documents` (cleaned monolingual documents) and `rejects` (what was dropped or unreadable)."""

import pyarrow as pa

from schemas.base import with_identity

DOCUMENTS = with_identity(
    "documents",
    1,
    [
        pa.field("doc_id", pa.string(), nullable=False),  # sha1 of (source ref + normalized text), hex
        pa.field("source", pa.string(), nullable=False),  # input file (as given in config)
        pa.field("source_offset", pa.int64()),  # byte offset of the WARC record / line number of JSONL
        pa.field("url", pa.string()),
        pa.field("date", pa.string()),  # WARC-Date when known
        pa.field("lang", pa.string(), nullable=False),  # xxx_Scrp
        pa.field("lang_score", pa.float32(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        # quality signals (see pipelines.quality)
        pa.field("n_chars", pa.int32()),
        pa.field("n_words", pa.int32()),
        pa.field("n_lines", pa.int32()),
        pa.field("mean_word_len", pa.float32()),
        pa.field("symbol_ratio", pa.float32()),
        pa.field("digit_ratio", pa.float32()),
        pa.field("punct_end_frac", pa.float32()),
        pa.field("dup_line_frac", pa.float32()),
        pa.field("lines_removed", pa.int32()),  # lines dropped by corpus-wide line dedup
        # near-duplicate clustering (pipelines.neardup); size 1 = unique
        pa.field("dup_cluster_id", pa.string()),
        pa.field("dup_cluster_size", pa.int32()),
        # fraction of non-empty lines whose own LID label is `lang` (null unless mono.lid_per_line)
        pa.field("line_lang_frac", pa.float32()),
    ],
)

REJECTS = with_identity(
    "rejects",
    1,
    [
        pa.field("reject_id", pa.string(), nullable=False),  # stable: sha1 of (stage, source, offset/record id, reason)
        pa.field("stage", pa.string(), nullable=False),  # mono, wiki, parallel, ...
        pa.field("step", pa.string(), nullable=False),  # the transform that dropped it, e.g. ReadWarc, IdentifyLanguage
        pa.field("source", pa.string()),  # input file
        pa.field("offset", pa.int64()),  # byte offset or line number in source, when known
        pa.field("record_id", pa.string()),  # doc_id / pair_id / sent_id when the record had one
        pa.field("reason", pa.string(), nullable=False),  # same name as the Beam counter dropped.<reason>
        pa.field("detail", pa.string()),  # human-readable: exception text, score, cluster id
        pa.field("sample", pa.string()),  # first 200 chars of the content, for inspection
    ],
)
