"""Groupings without hot keys, and a skew counter on every grouping of the parallel stage.

A join keyed by a word sends every occurrence of that word to one worker: for "the", "de" or "的"
that is a large share of the corpus on one machine, however many workers there are. `SaltedJoin`
joins a side with few values per key ("one": a word's translations, a word's total count) to a
side with many ("many": the word's occurrences) without that: the many-side values of a key are
counted first with a combiner (partial sums before the shuffle, so counting is no hot key itself);
a key with more than `max_group` values is *hot* and its values are spread over
ceil(count / max_group) salted keys (salt = a stable hash of each value), with the one-side values
copied to every salt. The hot keys travel to the workers as a small side input: at most
(many-side values) / max_group keys, whatever the vocabulary.

Every grouping records its largest group as the counter ``skew.<name>.max_group`` (and a salted join
the number of hot keys it spread as ``skew.<name>.hot_keys``), so the manifest shows the skew.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import apache_beam as beam

from pipelines.counters import inc
from pipelines.ids import stable_hash64
from pipelines.shuffle import CountedCoGroupByKey, CountedGroupByKey

SKEW_PREFIX = "skew."


def group_size(values) -> int:
    """Values in one group: a GroupByKey iterable, or a CoGroupByKey dict of iterables."""
    if isinstance(values, dict):
        return sum(group_size(v) for v in values.values())
    return sum(1 for _ in values)


def fanout(n_values: int, max_group: int) -> int:
    """Salted keys for a key of n_values values (1: not hot)."""
    return max(1, math.ceil(n_values / max(1, max_group)))


class RecordMaxGroup(beam.PTransform):
    """Counter ``skew.<name>.max_group``: the size of the largest group of a grouped PCollection."""

    def __init__(self, stage: str, name: str):
        super().__init__()
        self.stage, self.name = stage, name

    def expand(self, grouped):
        stage, counter = self.stage, f"{SKEW_PREFIX}{self.name}.max_group"
        return (
            grouped
            | "GroupSize" >> beam.Map(lambda kv: group_size(kv[1]))
            | "Largest" >> beam.CombineGlobally(max).without_defaults()
            | "Count" >> beam.Map(lambda m: inc(stage, counter, m))
        )


class GroupWithSkew(beam.PTransform):
    """A counted GroupByKey (``shuffle.<name>.*``) that also records its largest group."""

    def __init__(self, stage: str, name: str):
        super().__init__()
        self.stage, self.name = stage, name

    def expand(self, pcoll):
        grouped = pcoll | "Group" >> CountedGroupByKey(self.stage, self.name)
        _ = grouped | "Skew" >> RecordMaxGroup(self.stage, self.name)
        return grouped


class CoGroupWithSkew(beam.PTransform):
    """A counted CoGroupByKey (``shuffle.<name>.*``) that also records its largest group."""

    def __init__(self, stage: str, name: str):
        super().__init__()
        self.stage, self.name = stage, name

    def expand(self, pcolls: dict):
        grouped = pcolls | "CoGroup" >> CountedCoGroupByKey(self.stage, self.name)
        _ = grouped | "Skew" >> RecordMaxGroup(self.stage, self.name)
        return grouped


def _hot(kv, max_group: int, stage: str, counter: str):
    key, n = kv
    if n > max_group:
        inc(stage, counter)
        yield key, fanout(n, max_group)


def _salt_many(kv, hot: dict, salt_of: Callable):
    key, value = kv
    n = hot.get(key, 1)
    return (key, stable_hash64(salt_of(value)) % n if n > 1 else 0), value


def _copy_one(kv, hot: dict):
    key, value = kv
    for salt in range(hot.get(key, 1)):
        yield (key, salt), value


class SaltedJoin(beam.PTransform):
    """{"one": (key, value), "many": (key, value)} → (key, {"one": [...], "many": [part of the key's values]}).

    A hot key comes out once per salt, each time with all of its one-side values and a share of its
    many-side values: consumers must treat each output as a partial group (per-value work is).
    salt_of(many value) → str picks a value's salt; it must be stable (an id, a word).
    """

    def __init__(self, stage: str, name: str, max_group: int, salt_of: Callable):
        super().__init__()
        self.stage, self.name, self.max_group, self.salt_of = stage, name, max_group, salt_of

    def expand(self, pcolls: dict):
        one, many = pcolls["one"], pcolls["many"]
        hot = (
            many
            | "KeyOnly" >> beam.Map(lambda kv: (kv[0], 1))
            | "CountPerKey" >> beam.CombinePerKey(sum)  # partial counts before the shuffle: no hot key here
            | "HotKeys" >> beam.FlatMap(_hot, max_group=self.max_group, stage=self.stage,
                                        counter=f"{SKEW_PREFIX}{self.name}.hot_keys")
        )
        hot_keys = beam.pvalue.AsDict(hot)
        salted = {
            "one": one | "CopyOne" >> beam.FlatMap(_copy_one, hot=hot_keys),
            "many": many | "SaltMany" >> beam.Map(_salt_many, hot=hot_keys, salt_of=self.salt_of),
        }
        return (
            salted
            | "Join" >> CoGroupWithSkew(self.stage, self.name)
            | "Unsalt" >> beam.Map(lambda kv: (kv[0][0], {"one": list(kv[1]["one"]), "many": kv[1]["many"]}))
        )
