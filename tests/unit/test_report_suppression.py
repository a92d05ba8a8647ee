"""Small cells suppressed, and what is suppressed cannot be worked out again: no published
count is below k, and for every suppressed cell another table exists that agrees with
everything published but differs in that cell (found by brute force, independently of
the module's own audit)."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sinergi.report.suppression import (
    TOTAL,
    Cell,
    Grid,
    Line,
    Outcome,
    SuppressionError,
    determined,
    exposed,
    one_way,
    small_remainders,
    suppress,
    two_way,
)

K = 4  # small, so that brute force stays small; the rules do not depend on its size


def grid_of(values: dict[Cell, int], lines: list[Line[Cell]]) -> Grid[Cell]:
    return Grid(values, tuple(lines), frozenset(values))


def published_below_k(outcome: Outcome[Cell], k: int) -> list[Cell]:
    return [c for c in outcome.shown if (v := outcome.published(c)) is not None and 0 < v < k]


# --- brute force: the tables a reader cannot tell apart from the true one ------------------


def alternatives(
    grid: Grid[Cell], outcome: Outcome[Cell], max_space: int = 10**9
) -> dict[Cell, set[int]] | None:
    """Values each suppressed cell takes over the non-negative integer tables that agree
    with every published cell and every line: the unknown leaves (cells that are no
    line's total) are enumerated, each up to the published total of one of its lines
    (else the grand sum), the totals computed from them. Stops once every suppressed
    cell has shown two values."""
    totals = {line.total for line in grid.lines}
    leaves = [c for c in grid.values if c not in totals]
    unknown = sorted((c for c in leaves if outcome.published(c) is None), key=repr)
    everything = sum(grid.values[c] for c in leaves)
    bounds = [
        min(
            [everything]
            + [
                grid.values[line.total]
                for line in grid.lines
                if c in line.parts and outcome.published(line.total) is not None
            ]
        )
        for c in unknown
    ]
    if math.prod(b + 1 for b in bounds) > max_space:
        return None  # too many tables to try: the exact audit alone speaks
    seen: dict[Cell, set[int]] = {c: set() for c in outcome.suppressed}
    for guess in itertools.product(*(range(b + 1) for b in bounds)):
        table = {c: grid.values[c] for c in leaves} | dict(zip(unknown, guess, strict=True))
        if not _complete(grid, table) or any(
            table[c] != v for c in grid.values if (v := outcome.published(c)) is not None
        ):
            continue
        for cell in seen:
            seen[cell].add(table[cell])
        if all(len(v) >= 2 for v in seen.values()):
            break
    return seen


def _complete(grid: Grid[Cell], table: dict[Cell, int]) -> bool:
    """Fill in the totals from their parts; False when two lines disagree on one."""
    pending = list(grid.lines)
    while pending:
        ready = [line for line in pending if all(p in table for p in line.parts)]
        if not ready:
            return False
        for line in ready:
            pending.remove(line)
            value = sum(table[p] for p in line.parts)
            if table.setdefault(line.total, value) != value:
                return False
    return True


def assert_protected(
    grid: Grid[Cell], outcome: Outcome[Cell], k: int, max_space: int = 10**9
) -> None:
    assert not published_below_k(outcome, k)
    assert not exposed(grid, outcome.suppressed, k)
    assert not small_remainders(grid, outcome.suppressed, k)
    values = alternatives(grid, outcome, max_space)
    assert values is not None or max_space < 10**9, "the examples must be brute-forced"
    for cell in outcome.suppressed if values is not None else ():
        assert len(values[cell]) >= 2, f"{cell} can be worked out: {values[cell]}"
    for line in grid.lines:  # the remainder of a published total is 0 or at least k
        if outcome.published(line.total) is not None:
            rest = sum(grid.values[p] for p in line.parts if outcome.published(p) is None)
            assert rest == 0 or rest >= k


# --- examples ------------------------------------------------------------------------------


def test_a_small_cell_is_hidden_with_the_smallest_other_cell_of_its_row():
    values, lines = one_way("t", {"a": 3, "b": 20, "c": 30, "d": 0})
    outcome = suppress(grid_of(values, lines), k=11)
    assert outcome.primary == {("t", "a", TOTAL)}
    assert outcome.secondary == {("t", "b", TOTAL)}
    assert outcome.published(("t", TOTAL, TOTAL)) == 53
    assert outcome.published(("t", "d", TOTAL)) == 0  # zero counts nobody: published


def test_two_small_cells_adding_up_to_less_than_k_take_a_third_with_them():
    values, lines = one_way("t", {"a": 2, "b": 3, "c": 12, "d": 40})
    outcome = suppress(grid_of(values, lines), k=11)
    assert outcome.suppressed == {("t", "a", TOTAL), ("t", "b", TOTAL), ("t", "c", TOTAL)}


def test_a_table_whose_only_non_zero_cell_is_small_hides_its_total():
    values, lines = one_way("t", {"a": 4, "b": 0})
    outcome = suppress(grid_of(values, lines), k=11)
    assert outcome.published(("t", TOTAL, TOTAL)) is None


def test_a_total_shared_by_two_tables_links_them():
    posts, post_lines = one_way("post", {"eltari": 30, "tenau": 25})
    dests, dest_lines = one_way("dest", {"MY": 50, "SG": 5}, total=("post", TOTAL, TOTAL))
    grid = grid_of({**posts, **dests}, post_lines + dest_lines)
    outcome = suppress(grid, k=11)
    assert outcome.published(("dest", "SG", TOTAL)) is None
    assert outcome.published(("dest", "MY", TOTAL)) is None  # else SG = 55 - MY
    assert_protected(grid, outcome, 11)


def test_one_route_per_post_means_the_post_and_its_route_are_one_number():
    """El Tari's post has one route (the direct flight): its count and the route's are
    the same number, so hiding one and publishing the other would give it away."""
    cells = {("eltari", "direct"): 5, ("tenau", "sea"): 30, ("tenau", "ferry"): 14}
    posts, routes = ["eltari", "tenau"], ["direct", "sea", "ferry"]
    values, lines = two_way("int", cells, posts, routes)
    shown = frozenset(c for c in values if TOTAL in c[1:])  # margins only
    grid = Grid(values, tuple(lines), shown)
    outcome = suppress(grid, k=11)
    assert outcome.published(("int", "eltari", TOTAL)) is None
    assert outcome.published(("int", TOTAL, "direct")) is None
    grand = outcome.published(("int", TOTAL, TOTAL))
    tenau = outcome.published(("int", "tenau", TOTAL))
    assert grand is None or tenau is None  # else El Tari = grand - Tenau
    assert not exposed(grid, outcome.suppressed, 11)
    assert not small_remainders(grid, outcome.suppressed, 11)
    # Another table a reader cannot tell from this one, with El Tari at 6: one
    # interception moved from Tenau's ferry to El Tari's.
    other = dict(cells) | {("eltari", "ferry"): 1, ("tenau", "ferry"): 13}
    other_values, _ = two_way("int", other, posts, routes)
    assert other_values[("int", "eltari", TOTAL)] == 6
    for cell in shown:
        if outcome.published(cell) is not None:
            assert other_values[cell] == values[cell]


def test_nothing_to_suppress_publishes_everything():
    values, lines = two_way("t", {("a", "x"): 20, ("a", "y"): 0, ("b", "x"): 11}, "ab", "xy")
    outcome = suppress(grid_of(values, lines), k=11)
    assert not outcome.suppressed


def test_a_table_that_does_not_add_up_or_a_k_below_two_is_refused():
    values, lines = one_way("t", {"a": 3, "b": 20})
    values[("t", TOTAL, TOTAL)] = 24
    with pytest.raises(SuppressionError, match="add up"):
        suppress(grid_of(values, lines))
    values, lines = one_way("t", {"a": 3})
    with pytest.raises(SuppressionError, match="at least 2"):
        suppress(grid_of(values, lines), k=1)


def test_the_audit_finds_a_cell_given_away_by_two_lines():
    # a + b = T (published), a + c = U (published), b and c published: a follows.
    lines = [Line("T", ("a", "b")), Line("U", ("a", "c"))]
    assert determined(lines, {"a"}) == {"a"}
    assert determined(lines, {"a", "b"}) == {"a", "b"}  # from U, then T
    assert determined(lines, {"a", "b", "c"}) == set()


# --- properties ------------------------------------------------------------------------------

small = st.integers(min_value=0, max_value=8)


@settings(max_examples=150)
@given(st.lists(small, min_size=1, max_size=5))
def test_one_way_tables_publish_nothing_below_k_and_nothing_recoverable(counts):
    values, lines = one_way("t", {str(i): n for i, n in enumerate(counts)})
    grid = grid_of(values, lines)
    outcome = suppress(grid, K)
    assert_protected(grid, outcome, K)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=2, max_value=3),
    st.integers(min_value=2, max_value=3),
    st.data(),
)
def test_two_way_tables_with_margins_publish_nothing_below_k_and_nothing_recoverable(
    rows, columns, data
):
    cells = {(str(r), str(c)): data.draw(small) for r in range(rows) for c in range(columns)}
    names = ([str(r) for r in range(rows)], [str(c) for c in range(columns)])
    values, lines = two_way("t", cells, *names)
    grid = grid_of(values, lines)
    outcome = suppress(grid, K)
    assert not published_below_k(outcome, K)
    assert not exposed(grid, outcome.suppressed, K)
    assert not small_remainders(grid, outcome.suppressed, K)
    if len(outcome.suppressed) <= 6:  # brute force where it stays small
        assert_protected(grid, outcome, K)
