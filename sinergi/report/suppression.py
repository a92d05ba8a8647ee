"""Small cells suppressed, and nothing suppressed can be worked out again.

The method is the classic one for tables of counts (Hundepool et al., *Statistical
Disclosure Control*, Wiley 2012, ch. 4; Cox, "Suppression methodology and statistical
disclosure control", JASA 75, 1980), applied to all the tables of one period at once:

1. **Primary suppression, threshold rule**: a cell counting 1 to k-1 is not published
   (IOM's CTDC: k = 11). Zero is published: it counts nobody.
2. **Secondary (complementary) suppression** so that no suppressed cell can be worked
   out from what is published. The tables are *linked*: a period's cells form one
   system of equations ``total = sum(parts)`` (each row and column of a table with its
   margin, and the same total shared by several tables: every breakdown of the month's
   interceptions adds up to the one grand total). Cells that are never shown (the
   interceptions by post *and* route, which the report shows only as margins) are
   unknowns of the same system, so what ties the tables together (El Tari's airport
   post has one route, the direct flight) is taken into account. Two rules are
   enforced, each by suppressing the smallest published non-zero cell that helps,
   until both hold:

   - **protection of the remainder**: in every line whose total is published, the
     cells not published add up to 0 or to at least k (else their sum, a small cell
     itself, could be read off as total minus the rest);
   - **no exact recovery (the audit)**: no suppressed cell, and no unshown cell
     counting 1 to k-1, is determined by the published values. A cell is determined
     exactly when its unit vector lies in the row space of the equations restricted to
     the unknowns; this is decided exactly, with fractions, by Gauss-Jordan
     elimination (:func:`determined`).

Every suppressed cell is non-zero (complements are chosen among non-zero cells), so a
non-exact cell also keeps at least two feasible non-negative values (the unit tests
enumerate them on small tables). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Generic, TypeVar

# A cell's name: anything hashable and orderable (the report uses tuples of strings).
C = TypeVar("C", bound=Hashable)

CTDC_K = 11  # IOM's Counter Trafficking Data Collaborative publishes with k = 11


class SuppressionError(ValueError):
    """A table that does not add up, or a k below 2."""


@dataclass(frozen=True)
class Line(Generic[C]):
    """One equation of a table: ``total = sum(parts)`` (a row or column with its margin)."""

    total: C
    parts: tuple[C, ...]


@dataclass(frozen=True)
class Grid(Generic[C]):
    """The linked tables of one period: every cell's value, the equations between
    them, and which cells are meant to be shown (the others are never published)."""

    values: Mapping[C, int]
    lines: tuple[Line[C], ...]
    shown: frozenset[C]

    def check(self) -> None:
        """Refuse negative counts, unknown cells, and lines that do not add up."""
        for cell, value in self.values.items():
            if value < 0:
                raise SuppressionError(f"cell {cell!r} is negative ({value})")
        for line in self.lines:
            missing = [c for c in (line.total, *line.parts) if c not in self.values]
            if missing:
                raise SuppressionError(f"line of {line.total!r} names unknown cells {missing!r}")
            parts = sum(self.values[p] for p in line.parts)
            if parts != self.values[line.total]:
                raise SuppressionError(
                    f"{line.total!r} is {self.values[line.total]} but its parts add up to {parts}"
                )
        stray = self.shown - set(self.values)
        if stray:
            raise SuppressionError(f"shown cells without a value: {sorted(map(repr, stray))}")


@dataclass(frozen=True)
class Outcome(Generic[C]):
    """What is published: the shown cells less those suppressed, and why each was."""

    k: int
    primary: frozenset[C]
    secondary: frozenset[C]
    values: Mapping[C, int] = field(repr=False)
    shown: frozenset[C] = field(repr=False)

    @property
    def suppressed(self) -> frozenset[C]:
        return self.primary | self.secondary

    def published(self, cell: C) -> int | None:
        """The cell's value, or None when it is suppressed or never shown."""
        if cell not in self.shown or cell in self.suppressed:
            return None
        return self.values[cell]


def suppress(grid: Grid[C], k: int = CTDC_K) -> Outcome[C]:
    """Suppress the shown cells counting 1 to k-1, then complements until no line's
    unpublished remainder is small and no hidden cell can be worked out exactly."""
    if k < 2:
        raise SuppressionError(f"k must be at least 2, got {k}")
    grid.check()
    primary = frozenset(c for c in grid.shown if 0 < grid.values[c] < k)
    hidden = set(primary)
    while True:
        extra = _remainder_complement(grid, hidden, k)
        if extra is None:
            extra = _audit_complement(grid, hidden, k)
        if extra is None:
            break
        hidden.add(extra)
    return Outcome(k, primary, frozenset(hidden) - primary, grid.values, grid.shown)


# --- the two rules ------------------------------------------------------------------------


def unknowns(grid: Grid[C], hidden: Iterable[C]) -> set[C]:
    """Cells a reader does not see: never shown, or suppressed."""
    return (set(grid.values) - set(grid.shown)) | set(hidden)


def small_remainders(grid: Grid[C], hidden: Iterable[C], k: int) -> list[Line[C]]:
    """Lines with a published total whose unpublished parts add up to 1..k-1."""
    unknown = unknowns(grid, hidden)
    found = []
    for line in grid.lines:
        if line.total in unknown:
            continue
        rest = sum(grid.values[p] for p in line.parts if p in unknown)
        if 0 < rest < k:
            found.append(line)
    return found


def exposed(grid: Grid[C], hidden: Iterable[C], k: int) -> list[C]:
    """Hidden cells a reader can work out exactly: every suppressed one, and unshown
    ones counting 1..k-1 (an unshown cell of 0 or at least k may be worked out)."""
    hidden = set(hidden)
    unknown = unknowns(grid, hidden)
    return sorted(
        (c for c in determined(grid.lines, unknown) if c in hidden or 0 < grid.values[c] < k),
        key=repr,
    )


def determined(lines: Sequence[Line[C]], unknown: set[C]) -> set[C]:
    """The unknowns whose value follows from the lines and the known cells.

    Each line is ``total - sum(parts) = 0``; the known cells move to the right-hand
    side, which does not matter for *whether* an unknown is determined. An unknown x is
    determined iff e_x is in the row space of the coefficient matrix over the unknowns:
    after Gauss-Jordan elimination, x is a pivot column whose row has no entry in a
    free column. Rows are sparse (a line names a few cells), exact (fractions).
    """
    columns = sorted(unknown, key=repr)
    index = {c: i for i, c in enumerate(columns)}
    rows: list[dict[int, Fraction]] = []
    for line in lines:
        row: dict[int, Fraction] = {}
        for cell, sign in ((line.total, 1), *((p, -1) for p in line.parts)):
            if cell in index:
                row[index[cell]] = row.get(index[cell], Fraction(0)) + sign
        row = {col: v for col, v in row.items() if v != 0}
        if row:
            rows.append(row)
    pivots = _reduce(rows)
    pivot_columns = set(pivots)
    return {
        columns[col] for col, row in pivots.items() if all(other in pivot_columns for other in row)
    }


def _reduce(rows: list[dict[int, Fraction]]) -> dict[int, dict[int, Fraction]]:
    """Gauss-Jordan elimination of sparse rows: each pivot column and its reduced row
    (1 at the pivot, 0 in every other pivot column)."""
    pivots: dict[int, dict[int, Fraction]] = {}
    for row in rows:
        row = dict(row)
        for col, prow in pivots.items():  # eliminate the known pivots from the new row
            factor = row.get(col)
            if factor:
                _subtract(row, prow, factor)
        if not row:
            continue
        col = min(row)
        lead = row[col]
        row = {c: v / lead for c, v in row.items()}
        for prow in pivots.values():  # and the new pivot from the earlier rows
            factor = prow.get(col)
            if factor:
                _subtract(prow, row, factor)
        pivots[col] = row
    return pivots


def _subtract(row: dict[int, Fraction], other: Mapping[int, Fraction], factor: Fraction) -> None:
    """row -= factor * other, dropping the zeros."""
    for col, value in other.items():
        updated = row.get(col, Fraction(0)) - factor * value
        if updated:
            row[col] = updated
        else:
            row.pop(col, None)


# --- choosing a complement ---------------------------------------------------------------


def _candidates(grid: Grid[C], hidden: set[C], cells: Iterable[C]) -> list[C]:
    """Published, non-zero cells among ``cells``: smallest first, then by name."""
    unknown = unknowns(grid, hidden)
    found = {c for c in cells if c not in unknown and grid.values[c] > 0}
    return sorted(found, key=lambda c: (grid.values[c], repr(c)))


def _remainder_complement(grid: Grid[C], hidden: set[C], k: int) -> C | None:
    for line in small_remainders(grid, hidden, k):
        parts = _candidates(grid, hidden, line.parts)
        if parts:
            return parts[0]
        return line.total  # published and non-zero: its remainder is
    return None


def _audit_complement(grid: Grid[C], hidden: set[C], k: int) -> C | None:
    cells = exposed(grid, hidden, k)
    if not cells:
        return None
    cell = cells[0]
    around = [c for line in grid.lines if _names(line, cell) for c in (line.total, *line.parts)]
    choice = _candidates(grid, hidden, around)
    if choice:
        return choice[0]
    # Every neighbour is hidden already: widen to any line that holds a hidden cell.
    unknown = unknowns(grid, hidden)
    wider = [
        c
        for line in grid.lines
        if any(x in unknown for x in (line.total, *line.parts))
        for c in (line.total, *line.parts)
    ]
    choice = _candidates(grid, hidden, wider)
    if not choice:  # pragma: no cover - a determined non-zero cell needs a published one
        raise SuppressionError(f"{cell!r} stays determined with nothing left to suppress")
    return choice[0]


def _names(line: Line[C], cell: C) -> bool:
    return cell == line.total or cell in line.parts


# --- building a grid ------------------------------------------------------------------------

# The report names a cell (table, row, column); "*" is a margin (a total over it).
Cell = tuple[str, str, str]
TOTAL = "*"


def one_way(
    name: str, parts: Mapping[str, int], *, total: Cell | None = None
) -> tuple[dict[Cell, int], list[Line[Cell]]]:
    """A one-way table: cells (name, part, *), and its total (name, *, *) unless
    ``total`` names another table's cell that it adds up to (a shared grand total)."""
    whole = total or (name, TOTAL, TOTAL)
    values: dict[Cell, int] = {(name, part, TOTAL): n for part, n in parts.items()}
    values[whole] = sum(parts.values())
    return values, [Line(whole, tuple((name, part, TOTAL) for part in parts))]


def two_way(
    name: str, cells: Mapping[tuple[str, str], int], rows: Sequence[str], columns: Sequence[str]
) -> tuple[dict[Cell, int], list[Line[Cell]]]:
    """A two-way table with margins: (name, r, c), row totals (name, r, *), column
    totals (name, *, c) and the grand total (name, *, *)."""
    values: dict[Cell, int] = {}
    lines: list[Line[Cell]] = []
    for r in rows:
        parts = tuple((name, r, c) for c in columns)
        for c in columns:
            values[(name, r, c)] = cells.get((r, c), 0)
        values[(name, r, TOTAL)] = sum(values[p] for p in parts)
        lines.append(Line((name, r, TOTAL), parts))
    for c in columns:
        parts = tuple((name, r, c) for r in rows)
        values[(name, TOTAL, c)] = sum(values[p] for p in parts)
        lines.append(Line((name, TOTAL, c), parts))
    grand = (name, TOTAL, TOTAL)
    values[grand] = sum(values[(name, r, TOTAL)] for r in rows)
    lines.append(Line(grand, tuple((name, r, TOTAL) for r in rows)))
    lines.append(Line(grand, tuple((name, TOTAL, c) for c in columns)))
    return values, lines
