"""`tokens`: one tokenized training example (Arrow IPC, memory-mapped by xlmodel).

input_ids hold subword ids *without* special tokens; the trainer adds <s> … </s> (and the
TLM separator) so one shard serves any packing scheme.
"""

import pyarrow as pa

from schemas.base import with_identity

TOKEN_SPAN = pa.struct([pa.field("start", pa.int32()), pa.field("end", pa.int32())])  # token indices, end exclusive

OBJECTIVES = ("mlm", "tlm", "cs", "entity")

TOKENS = with_identity(
    "tokens",
    1,
    [
        pa.field("example_id", pa.string(), nullable=False),  # parent record id + block index
        pa.field("objective", pa.string(), nullable=False),  # mlm | tlm | cs | entity
        pa.field("lang", pa.string(), nullable=False),  # language (source side for tlm, matrix lang for cs)
        pa.field("lang2", pa.string()),  # target language for tlm, else null
        pa.field("input_ids", pa.list_(pa.int32()), nullable=False),
        pa.field("segment_start", pa.int32(), nullable=False),  # index of the first tgt token (tlm), else -1
        pa.field("entity_spans", pa.list_(TOKEN_SPAN)),  # entity subword spans (entity, cs objectives)
        pa.field("n_tokens", pa.int32(), nullable=False),
    ],
)
