"""pyarrow schemas of every xlcorpus data product and the manifest format.

This package imports pyarrow only: pipelines, flows and xlmodel all depend on it, never the reverse.
"""

from schemas.base import SCHEMA_NAME_KEY, SCHEMA_VERSION_KEY, schema_id, with_identity
from schemas.codeswitch import CODESWITCH
from schemas.documents import DOCUMENTS, REJECTS
from schemas.parallel import ALIGN_PRIORS, ALIGNMENTS, LEXICON, PAIRS
from schemas.tokens import TOKENS
from schemas.wiki import ENTITY_SENTENCES

__all__ = [
    "SCHEMA_NAME_KEY",
    "SCHEMA_VERSION_KEY",
    "schema_id",
    "with_identity",
    "DOCUMENTS",
    "REJECTS",
    "CODESWITCH",
    "TOKENS",
    "PAIRS",
    "ALIGNMENTS",
    "LEXICON",
    "ALIGN_PRIORS",
    "ENTITY_SENTENCES",
]

# Every product schema, by name (reports and validators look products up here).
ALL = {s.metadata[SCHEMA_NAME_KEY].decode(): s for s in
       (DOCUMENTS, REJECTS, CODESWITCH, TOKENS, PAIRS, ALIGNMENTS, LEXICON, ALIGN_PRIORS, ENTITY_SENTENCES)}
