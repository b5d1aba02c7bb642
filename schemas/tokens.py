"""`tokens`: one tokenized training example (Arrow IPC, memory-mapped by xlmodel).

input_ids hold subword ids *without* special tokens; the trainer adds <s> … </s> (and the
TLM separator) so one shard serves any packing scheme.

Every example names its parent — the source record it was derived from: the document of an mlm
block, the pair of a tlm example and of its ALM / dictionary code-switched samples, the Wikipedia
sentence of an EntityCS sample. The trainer's held-out split hashes the parent (parent_hash, so it
never hashes strings at start-up), so nothing derived from a held-out parent is trained on.
"""

import hashlib

import pyarrow as pa

from schemas.base import with_identity

TOKEN_SPAN = pa.struct([pa.field("start", pa.int32()), pa.field("end", pa.int32())])  # token indices, end exclusive

OBJECTIVES = ("mlm", "tlm", "cs", "entity")

TOKENS = with_identity(
    "tokens",
    2,
    [
        pa.field("example_id", pa.string(), nullable=False),  # parent record id (+ block index for mlm)
        pa.field("parent_id", pa.string(), nullable=False),  # doc_id | pair_id | sent_id (see module doc)
        pa.field("parent_hash", pa.uint64(), nullable=False),  # parent_hash(parent_id): the held-out split key
        pa.field("objective", pa.string(), nullable=False),  # mlm | tlm | cs | entity
        pa.field("lang", pa.string(), nullable=False),  # language (source side for tlm, matrix lang for cs)
        pa.field("lang2", pa.string()),  # target language for tlm, else null
        pa.field("input_ids", pa.list_(pa.int32()), nullable=False),
        pa.field("segment_start", pa.int32(), nullable=False),  # index of the first tgt token (tlm), else -1
        pa.field("entity_spans", pa.list_(TOKEN_SPAN)),  # entity subword spans (entity, cs objectives)
        pa.field("n_tokens", pa.int32(), nullable=False),
    ],
)


def parent_hash(parent_id: str) -> int:
    """Unsigned 64-bit hash of a parent id, the same on every machine (blake2b, 8 bytes, little endian:
    equal to pipelines.ids.stable_hash64). The held-out bucket of an example is parent_hash % 1000."""
    digest = hashlib.blake2b(parent_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")
