"""k-anonymity by full-domain generalisation and record suppression (Samarati, "Protecting
respondents' identities in microdata release", IEEE TKDE 13(6), 2001; Sweeney,
"Achieving k-anonymity privacy protection using generalization and suppression", 2002).

Each quasi-identifier has a hierarchy of levels: 0 is the value as recorded, each level
above says less, and the top level says nothing (an empty value). A *node* picks one
level per quasi-identifier; under a node the records fall into classes of equal
generalised values. Records in classes smaller than k are suppressed (left out). Of all
nodes whose suppression stays within ``max_suppressed``, the one that loses least is
kept: the smallest sum of levels, each as a share of its hierarchy's height (Sweeney's
precision), then the fewest records suppressed, then the lowest levels in the order
given. The lattice of the export is small (a few dozen nodes), so every node is tried:
the answer is the optimum of that order, not a heuristic's.

The result holds every kept record's generalised values, and every combination of them
occurs at least k times. Pure: no I/O.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Record = tuple[str, ...]


class AnonymityError(ValueError):
    """k below 2, or records of the wrong width."""


@dataclass(frozen=True)
class Hierarchy:
    """How one quasi-identifier is generalised: ``generalise(value, level)`` for levels
    0 (the value itself) to ``height`` (nothing: the empty value)."""

    name: str
    height: int
    generalise: Callable[[str, int], str]

    def at(self, value: str, level: int) -> str:
        if level == 0:
            return value
        if level >= self.height:
            return ""
        return self.generalise(value, level)


def withheld_above(level: int) -> Callable[[str, int], str]:
    """A hierarchy's generalise for levels it has no step of its own: nothing."""

    def generalise(value: str, at: int) -> str:
        return value if at < level else ""

    return generalise


@dataclass(frozen=True)
class Anonymised:
    k: int
    levels: tuple[int, ...]  # the chosen node: one level per quasi-identifier
    records: tuple[Record, ...]  # the kept records, generalised, in input order
    suppressed: int  # records left out

    def classes(self) -> Counter[Record]:
        return Counter(self.records)


def anonymise(
    records: Sequence[Record],
    hierarchies: Sequence[Hierarchy],
    k: int,
    *,
    max_suppressed: int | None = None,
) -> Anonymised:
    """The records k-anonymised over the quasi-identifiers ``hierarchies`` (one per
    column). ``max_suppressed``: how many records may be left out (default: 5% of
    them, at least k-1); when no node keeps within it, the node that leaves out fewest."""
    if k < 2:
        raise AnonymityError(f"k must be at least 2, got {k}")
    width = len(hierarchies)
    if any(len(r) != width for r in records):
        raise AnonymityError(f"every record needs {width} quasi-identifiers")
    budget = max_suppressed if max_suppressed is not None else max(k - 1, len(records) // 20)
    best: tuple[tuple[float, int, tuple[int, ...]], Anonymised] | None = None
    fallback: tuple[tuple[int, float, tuple[int, ...]], Anonymised] | None = None
    for levels in itertools.product(*(range(h.height + 1) for h in hierarchies)):
        result = _at_node(records, hierarchies, k, levels)
        loss = sum(level / h.height for level, h in zip(levels, hierarchies, strict=True))
        if result.suppressed <= budget:
            key = (loss, result.suppressed, levels)
            if best is None or key < best[0]:
                best = (key, result)
        else:
            key2 = (result.suppressed, loss, levels)
            if fallback is None or key2 < fallback[0]:
                fallback = (key2, result)
    chosen = best or fallback
    assert chosen is not None  # the lattice has at least the bottom node
    return chosen[1]


def _at_node(
    records: Sequence[Record], hierarchies: Sequence[Hierarchy], k: int, levels: tuple[int, ...]
) -> Anonymised:
    generalised = [
        tuple(h.at(v, level) for v, h, level in zip(r, hierarchies, levels, strict=True))
        for r in records
    ]
    sizes = Counter(generalised)
    kept = tuple(r for r in generalised if sizes[r] >= k)
    return Anonymised(k, levels, kept, len(records) - len(kept))


def is_k_anonymous(records: Sequence[Record], k: int) -> bool:
    """Every combination of values occurs at least k times (an empty set is)."""
    return all(n >= k for n in Counter(records).values())
