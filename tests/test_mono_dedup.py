"""DedupDocuments + DedupLines on a planted corpus, in a real Beam pipeline (FnApiRunner)."""

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from pipelines.counters import metrics_by_name
from pipelines.mono.dedup import DedupDocuments, DedupLines, doc_key, remove_lines
from pipelines.mono.transforms import BatchDocs, unbatch
from pipelines.quality import quality_signals


def _doc(doc_id, text, lang="eng_Latn"):
    return {"doc_id": doc_id, "source": "s.jsonl", "source_offset": 0, "lang": lang, "text": text,
            **quality_signals(text).as_dict()}


BOILER = "Accept all cookies and enjoy the site"
A = f"Alpha paragraph one with words\n{BOILER}\nAlpha closing line here"
B = f"Beta text about something else\n{BOILER}\nbeta closing LINE 123"
C = f"Gamma text is unique in every way\n\n{BOILER}\nBeta closing line 999!"  # last line == B's in normal form
D = f"{BOILER}\nshort"  # nothing but boilerplate + a word
A_COPY = A.replace("one", "ONE")  # same normal form as A: exact duplicate


def test_plain_helpers():
    assert doc_key(A) == doc_key(A_COPY) != doc_key(B)
    d = remove_lines(_doc("x", A), {1})
    assert d["text"] == "Alpha paragraph one with words\nAlpha closing line here" and d["lines_removed"] == 1


def test_dedup_planted_corpus():
    docs = [_doc("a", A), _doc("b", B), _doc("c", C), _doc("d", D), _doc("e", A_COPY)]
    p = beam.Pipeline(runner="FnApiRunner")
    # Batches of two and three partitions: copies meet across batches and partitions.
    kept, r1 = p | beam.Create(docs) | BatchDocs(2) | "Docs" >> DedupDocuments("t", partitions=3)
    kept, r2 = kept | "Lines" >> DedupLines("t", min_chars=20, min_words=3, partitions=3)
    assert_that(kept | beam.FlatMap(unbatch) | "Texts" >> beam.Map(lambda d: (d["doc_id"], d["text"], d["lines_removed"])), equal_to([
        ("a", A, 0),
        ("b", "Beta text about something else\nbeta closing LINE 123", 1),
        ("c", "Gamma text is unique in every way", 2),
    ]), label="Kept")
    rejects = (r1, r2) | beam.Flatten() | beam.Map(lambda r: (r["record_id"], r["reason"], r["step"]))
    assert_that(rejects, equal_to([("e", "exact_duplicate", "DedupDocuments"),
                                   ("d", "too_short_after_dedup", "DedupLines")]), label="Rejects")
    result = p.run()
    result.wait_until_finish()
    c = metrics_by_name(result, "t")
    # 11 non-empty lines in a-d; copies: boilerplate ×3, B/C closing line ×1
    assert c["lines.read"] == 11 and c["lines.dropped.duplicate"] == 4 and c["lines.kept"] == 7
    assert c["docs.dropped.exact_duplicate"] == 1 and c["docs.dropped.too_short_after_dedup"] == 1
