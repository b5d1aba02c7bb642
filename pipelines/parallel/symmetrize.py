"""grow-diag-final-and: symmetrize forward and reverse word alignments (Koehn et al. 2003, Moses).

Start from the intersection; repeatedly add union links that neighbour (8-neighbourhood) a current
link and align a still-unaligned word on either side; finally add union links — forward first, then
reverse — whose words are *both* unaligned ("final-and").
"""

from __future__ import annotations

from collections.abc import Iterable

Link = tuple[int, int]
_NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


def grow_diag_final_and(fwd: Iterable[Link], rev: Iterable[Link]) -> list[Link]:
    """Symmetrized links (sorted) from forward and reverse links, both as (src index, tgt index)."""
    fwd_set, rev_set = set(fwd), set(rev)
    union = fwd_set | rev_set
    links = fwd_set & rev_set
    src_done = {i for i, _ in links}
    tgt_done = {j for _, j in links}

    def add(i: int, j: int) -> None:
        links.add((i, j))
        src_done.add(i)
        tgt_done.add(j)

    # grow-diag: scan links in order, adding qualifying neighbours, until a pass adds nothing
    grew = True
    while grew:
        grew = False
        for i, j in sorted(links):
            for di, dj in _NEIGHBOURS:
                cand = (i + di, j + dj)
                if cand in union and cand not in links and (cand[0] not in src_done or cand[1] not in tgt_done):
                    add(*cand)
                    grew = True
    # final-and: forward, then reverse
    for direction in (fwd_set, rev_set):
        for i, j in sorted(direction):
            if i not in src_done and j not in tgt_done:
                add(i, j)
    return sorted(links)


def parse_pharaoh(line: str) -> list[Link]:
    """'0-0 1-2' → [(0, 0), (1, 2)]."""
    out = []
    for item in line.split():
        i, _, j = item.partition("-")
        out.append((int(i), int(j)))
    return out
