"""Shuffles that count what they carry: `CountedGroupByKey` and `CountedCoGroupByKey`.

Every shuffle of a stage should go through these, so its manifest says how many bytes crossed
workers: counters ``shuffle.<name>.bytes`` (encoded size of key + value of every input element,
as Beam's default coder writes them) and ``shuffle.<name>.elements``. The sum over a stage,
``shuffle_bytes(counters)``, is what `xlcorpus report` sets against the input text bytes.

The count is taken over the elements handed to the shuffle, before any runner-side combining, so it
is the same on every runner and worker count (and a manifest stays byte-identical across reruns).
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.coders import FastPrimitivesCoder

from pipelines.counters import inc
from pipelines.shuffle_counters import PREFIX, shuffle_bytes, shuffle_table

__all__ = ["CountedCoGroupByKey", "CountedDistinct", "CountedGroupByKey", "encoded_size", "shuffle_bytes",
           "shuffle_table"]
_CODER = FastPrimitivesCoder()


def encoded_size(element) -> int:
    """Bytes of one shuffle input element (a (key, value) pair) under Beam's default coder."""
    key, value = element
    return len(_CODER.encode(key)) + len(_CODER.encode(value))


class _CountBytes(beam.DoFn):
    """Pass-through that counts bytes and elements; counter updates are batched per bundle."""

    def __init__(self, stage: str, name: str):
        self.stage, self.name = stage, name

    def start_bundle(self):
        self._bytes = 0
        self._n = 0

    def process(self, element):
        self._bytes += encoded_size(element)
        self._n += 1
        yield element

    def finish_bundle(self):
        if self._n:
            inc(self.stage, f"{PREFIX}{self.name}.bytes", self._bytes)
            inc(self.stage, f"{PREFIX}{self.name}.elements", self._n)


class _Counted(beam.PTransform):
    """A shuffle whose input is counted as ``shuffle.<name>.*`` in `stage`."""

    def __init__(self, stage: str, name: str, label: str | None = None):
        super().__init__(label)
        self.stage, self.name = stage, name


class CountedGroupByKey(_Counted):
    """`beam.GroupByKey()` whose input bytes are counted as ``shuffle.<name>.*`` in `stage`."""

    def expand(self, pcoll):
        return (
            pcoll
            | "CountShuffleBytes" >> beam.ParDo(_CountBytes(self.stage, self.name))
            | "GroupByKey" >> beam.GroupByKey()
        )


class CountedCoGroupByKey(_Counted):
    """`beam.CoGroupByKey()` over a dict of PCollections; every input's bytes count as ``shuffle.<name>.*``."""

    def expand(self, pcolls: dict):
        counted = {
            tag: pc | f"CountShuffleBytes_{tag}" >> beam.ParDo(_CountBytes(self.stage, self.name))
            for tag, pc in sorted(pcolls.items())
        }
        return counted | "CoGroupByKey" >> beam.CoGroupByKey()


def _nothing(_values) -> None:
    return None


class CountedDistinct(_Counted):
    """`beam.Distinct()` whose input is counted as ``shuffle.<name>.*``; combined per key before the
    shuffle (combiner lifting), so a frequent value is not a hot key. The count is taken before that
    combining: an upper bound of what crosses, the same on every runner."""

    def expand(self, pcoll):
        return (
            pcoll
            | "KeyOnly" >> beam.Map(lambda x: (x, None))
            | "CountShuffleBytes" >> beam.ParDo(_CountBytes(self.stage, self.name))
            | "Combine" >> beam.CombinePerKey(_nothing)
            | "Keys" >> beam.Keys()
        )
