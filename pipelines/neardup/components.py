"""Connected components by large-star / small-star (Kiveris et al., "Connected Components in
MapReduce and Beyond", 2014), as plain per-key steps that the Beam transform runs after GroupByKey.

Nodes are ordered; an edge is (child, parent) with child > parent. Both steps keep the connectivity of
the graph and end, when alternated, in a *star forest*: every component is its minimum node (the root)
with one edge from each other member. Per node u with neighbour set Γ(u):

- large-star: m = min(Γ(u) ∪ {u}); emit (v, m) for every neighbour v > u.
- small-star (Γ⁻(u) = neighbours < u): m = min(Γ⁻(u) ∪ {u}); emit (v, m) for v ∈ Γ⁻(u) ∪ {u}, v ≠ m.

A step's "changed" count is the number of edges it rewired; both are 0 exactly on a star forest.
A Beam graph is static, so the transform unrolls a configured number of rounds and then checks the
star-forest property with one more GroupByKey (`star_check`): a node with two parents, or with a
parent and children, means the rounds did not converge, and the run fails naming `max_rounds`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

N = TypeVar("N")  # any totally ordered node type; NearDedup uses (-n_chars, doc_id)


class NotConvergedError(RuntimeError):
    """Connected components still changing after the configured rounds."""


def large_star(u: N, neighbours: Iterable[N]) -> tuple[list[tuple[N, N]], int]:
    """Edges (v, m) for neighbours v > u, m the smallest of u's closed neighbourhood; and the count
    of edges rewired (0 when u is already the smallest)."""
    nb = set(neighbours)
    m = min(nb | {u})
    out = [(v, m) for v in sorted(nb) if v > u]
    return out, (len(out) if m != u else 0)


def small_star(u: N, smaller: Iterable[N]) -> tuple[list[tuple[N, N]], int]:
    """Edges (v, m) connecting u and its smaller neighbours to the smallest of them; and the count of
    edges rewired (all but the one to m)."""
    nb = set(smaller)
    if not nb:
        return [], 0
    m = min(nb)
    out = [(v, m) for v in sorted(nb | {u}) if v != m]
    return out, len(nb) - 1


def star_check(u: N, tagged: Iterable[tuple[str, N]]) -> tuple[list[N], N | None]:
    """u's role in the final edge set from its ('p', parent) / ('c', child) tags.

    Returns (members, None) for a root — its sorted members, itself first — and ([], parent) for a
    leaf. Raises NotConvergedError when the edges are not a star forest."""
    tagged = list(tagged)
    parents = {x for tag, x in tagged if tag == "p"}
    children = {x for tag, x in tagged if tag == "c"}
    if len(parents) > 1 or (parents and children):
        raise NotConvergedError(
            f"near-duplicate connected components did not converge: node {u!r} still has "
            f"{len(parents)} parent(s) and {len(children)} child(ren) after the last round; "
            "raise neardup.max_rounds and rerun"
        )
    if parents:
        return [], next(iter(parents))
    return [u, *sorted(children)], None


def components_reference(edges: Iterable[tuple[N, N]]) -> dict[N, N]:
    """Node → smallest node of its component, by iterating the two steps in memory until nothing
    changes. For tests and small inputs; the pipeline runs the same steps distributed."""
    cur = {tuple(e) for e in edges}
    while True:
        adj: dict = {}
        for a, b in cur:
            adj.setdefault(a, set()).add(b)
            adj.setdefault(b, set()).add(a)
        nxt, changed = set(), 0
        for u, nb in adj.items():
            out, c = large_star(u, nb)
            nxt.update(out)
            changed += c
        smaller: dict = {}
        for a, b in nxt:
            smaller.setdefault(max(a, b), set()).add(min(a, b))
        cur = set()
        for u, nb in smaller.items():
            out, c = small_star(u, nb)
            cur.update(out)
            changed += c
        if changed == 0:
            return {v: p for v, p in cur} | {p: p for _, p in cur}
