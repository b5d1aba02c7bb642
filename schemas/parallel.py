"""`pairs`, `alignments` and `lexicon`: the products of the parallel stage.

Word tokens travel with everything that refers to them: alignments hold the exact token lists their
links index, and pairs hold each token's char offsets so a link maps back to the text.
"""

import pyarrow as pa

from schemas.base import with_identity

OFFSET = pa.struct([pa.field("start", pa.int32()), pa.field("end", pa.int32())])  # char offsets, end exclusive
LINK = pa.struct([pa.field("src", pa.int32()), pa.field("tgt", pa.int32())])  # word indices into the token lists

PAIRS = with_identity(
    "pairs",
    1,
    [
        pa.field("pair_id", pa.string(), nullable=False),  # stable: corpus + position + both texts
        pa.field("corpus", pa.string(), nullable=False),  # corpus name from the config (default: file stem)
        pa.field("src_lang", pa.string(), nullable=False),  # xxx_Scrp
        pa.field("tgt_lang", pa.string(), nullable=False),
        pa.field("src_text", pa.string(), nullable=False),
        pa.field("tgt_text", pa.string(), nullable=False),
        pa.field("src_tokens", pa.list_(pa.string()), nullable=False),  # word tokens used for alignment
        pa.field("tgt_tokens", pa.list_(pa.string()), nullable=False),
        pa.field("src_offsets", pa.list_(OFFSET), nullable=False),  # one (start, end) per token in src_text
        pa.field("tgt_offsets", pa.list_(OFFSET), nullable=False),
        pa.field("src_lid_score", pa.float32()),  # LID probability of the declared language (null: LID off)
        pa.field("tgt_lid_score", pa.float32()),
        pa.field("length_ratio", pa.float32()),  # max(chars) / min(chars) of the two sides
    ],
)

ALIGNMENTS = with_identity(
    "alignments",
    1,
    [
        pa.field("pair_id", pa.string(), nullable=False),
        pa.field("src_lang", pa.string(), nullable=False),
        pa.field("tgt_lang", pa.string(), nullable=False),
        pa.field("src_tokens", pa.list_(pa.string()), nullable=False),  # the tokens `links` index
        pa.field("tgt_tokens", pa.list_(pa.string()), nullable=False),
        pa.field("links", pa.list_(LINK), nullable=False),  # sorted (src, tgt)
        pa.field("aligner", pa.string(), nullable=False),  # eflomal | simalign
        pa.field("params", pa.string(), nullable=False),  # JSON of the aligner parameters
    ],
)

LEXICON = with_identity(
    "lexicon",
    1,
    [
        pa.field("entry_id", pa.string(), nullable=False),  # stable: (src_lang, tgt_lang, src, tgt)
        pa.field("src_lang", pa.string(), nullable=False),
        pa.field("tgt_lang", pa.string(), nullable=False),
        pa.field("src", pa.string(), nullable=False),  # lowercased word
        pa.field("tgt", pa.string(), nullable=False),
        pa.field("p_tgt_given_src", pa.float32(), nullable=False),  # count / count(src linked to anything)
        pa.field("p_src_given_tgt", pa.float32(), nullable=False),
        pa.field("count", pa.int64(), nullable=False),  # symmetrized links between src and tgt
    ],
)

# Shared alignment priors of one language pair (eflomal's priors, the eflomal-makepriors statistics),
# counted over the links of a deterministic sample of the pair (pass 1). One row is one prior:
#   LEX  src tgt      — times src was linked to tgt        FERF src fert — times src had `fert` links
#   FERR tgt fert     — times tgt had `fert` links          HMMF / HMMR jump — forward / reverse jump lengths
ALIGN_PRIORS = with_identity(
    "align_priors",
    1,
    [
        pa.field("entry_id", pa.string(), nullable=False),  # stable: (pair, kind, src, tgt, value)
        pa.field("src_lang", pa.string(), nullable=False),
        pa.field("tgt_lang", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # LEX | FERF | FERR | HMMF | HMMR
        pa.field("src", pa.string(), nullable=False),  # lowercased source word ("" for FERR, HMM*)
        pa.field("tgt", pa.string(), nullable=False),  # lowercased target word ("" for FERF, HMM*)
        pa.field("value", pa.int32(), nullable=False),  # fertility (FER*) or jump (HMM*); 0 for LEX
        pa.field("count", pa.int64(), nullable=False),  # times seen in the sample's links: eflomal's alpha
    ],
)
