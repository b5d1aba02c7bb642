"""`codeswitch`: one code-switched sample (kinds: alm, dict from parallel; entitycs from wiki)."""

import pyarrow as pa

from schemas.base import with_identity

SPAN = pa.struct(
    [
        pa.field("start", pa.int32()),  # char offset in `text` (end exclusive)
        pa.field("end", pa.int32()),
        pa.field("lang", pa.string()),  # language of the span's text (xxx_Scrp)
        pa.field("original", pa.string()),  # what stood there before switching
    ]
)

CODESWITCH = with_identity(
    "codeswitch",
    1,
    [
        pa.field("cs_id", pa.string(), nullable=False),
        pa.field("parent_id", pa.string(), nullable=False),  # pair_id or sent_id
        pa.field("kind", pa.string(), nullable=False),  # alm | dict | entitycs
        pa.field("matrix_lang", pa.string(), nullable=False),  # language whose syntax the sample keeps
        pa.field("langs", pa.list_(pa.string()), nullable=False),  # every language present, sorted
        pa.field("text", pa.string(), nullable=False),  # plain code-switched text, no markers
        pa.field("spans", pa.list_(SPAN), nullable=False),  # switched spans in `text`
        pa.field("marked_text", pa.string()),  # text with <xxx_Scrp>…</xxx_Scrp> markers around spans
        pa.field("source_marked_text", pa.string()),  # the unswitched sentence with markers (EntityCS en_sentence)
    ],
)
