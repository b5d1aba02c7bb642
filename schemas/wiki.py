"""`entity_sentences`: a Wikipedia sentence with its linked entities (stage wiki)."""

import pyarrow as pa

from schemas.base import with_identity

ANCHOR = pa.struct(
    [
        pa.field("start", pa.int32()),  # char offset in `text` (end exclusive)
        pa.field("end", pa.int32()),
        pa.field("title", pa.string()),  # normalized link target as written (before redirects)
        pa.field("qid", pa.string()),  # Wikidata item after redirect + sitelink resolution; null if none
    ]
)

ENTITY_SENTENCES = with_identity(
    "entity_sentences",
    1,
    [
        pa.field("sent_id", pa.string(), nullable=False),
        pa.field("lang", pa.string(), nullable=False),  # xxx_Scrp of the wiki (eng_Latn for enwiki)
        pa.field("title", pa.string(), nullable=False),  # the article the sentence comes from
        pa.field("text", pa.string(), nullable=False),
        pa.field("anchors", pa.list_(ANCHOR), nullable=False),
    ],
)
