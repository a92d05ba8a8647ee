"""The monthly public accountability report, as numbers: what the ledger's views say
about a month, the previous month and the same month a year before, with small cells
suppressed (:mod:`sinergi.report.suppression`). Pure: the views are read by
:mod:`sinergi.report.source`, the pages drawn by the renderers.

Each month's tables are suppressed together, as one linked system (see
:func:`period_grid`); months are suppressed apart, since no published figure adds
months together: a change between two months is shown only when both are published.
Rows come in a fixed order (reference order or by name), never by size, which would
tell where a withheld count lies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from schemas import reference
from sinergi.report import labels
from sinergi.report.suppression import (
    CTDC_K,
    TOTAL,
    Cell,
    Grid,
    Line,
    Outcome,
    one_way,
    suppress,
    two_way,
)


class ReportError(ValueError):
    """A month that cannot be reported (malformed), in one sentence."""


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        found = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text)
        if not found or not 1 <= int(found.group(2)) <= 12:
            raise ReportError(
                f"a month is written YYYY-MM, e.g. 2026-03 (got {text.strip()[:20]!r})"
            )
        return cls(int(found.group(1)), int(found.group(2)))

    def shifted(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        """The first day after the month."""
        return self.shifted(1).first_day

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Figures:
    """What the ledger's views say about one month, before suppression."""

    month: Month
    post_route: Mapping[tuple[str, str], int] = field(default_factory=dict)
    destinations: Mapping[str, int] = field(default_factory=dict)
    origins: Mapping[str, int] = field(default_factory=dict)
    repatriations: Mapping[tuple[str, str], int] = field(default_factory=dict)  # kind, proc.
    repatriation_countries: Mapping[str, int] = field(default_factory=dict)
    alerts_raised: Mapping[str, int] = field(default_factory=dict)  # by rule
    alerts_acknowledged: int = 0
    ack_median_s: float | None = None
    prevention_activities: Mapping[str, int] = field(default_factory=dict)
    prevention_attendance: Mapping[str, int] = field(default_factory=dict)


# --- the published report ------------------------------------------------------------------

Values = tuple[int | None, ...]  # this month, previous month, same month last year


@dataclass(frozen=True)
class Row:
    code: str
    label: str
    values: Values  # None: withheld
    total: bool = False


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    rows: tuple[Row, ...]
    protected: bool = True  # small cells suppressed (prevention is published whole)


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    values: tuple[float | None, ...]
    kind: str = "count"  # count, share (0..1) or duration (seconds)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    tables: tuple[Table, ...]
    note: str | None = None


@dataclass(frozen=True)
class MonthlyReport:
    month: Month
    periods: tuple[Month, ...]
    lang: str
    k: int
    read_at: datetime
    headlines: tuple[Headline, ...]
    sections: tuple[Section, ...]
    suppressed: int  # cells withheld in all, over the three months

    def table(self, key: str) -> Table:
        for section in self.sections:
            for table in section.tables:
                if table.key == key:
                    return table
        raise KeyError(key)

    def headline(self, key: str) -> Headline:
        return next(h for h in self.headlines if h.key == key)


# --- one month's linked tables ----------------------------------------------------------------

INTERCEPTIONS = "int"
GRAND = (INTERCEPTIONS, TOTAL, TOTAL)
REPATRIATIONS = "rep"
REP_GRAND = (REPATRIATIONS, TOTAL, TOTAL)
ACKNOWLEDGED: Cell = ("ack", TOTAL, TOTAL)
DECEASED = "deceased"
KINDS = ("deported", "sick", DECEASED, "voluntary", "trafficking_victim")
PROCEDURAL = ("non_procedural", "procedural", "unknown")
RULES = (
    "RECRUITER_NETWORK",
    "MINOR_INTERCEPTED",
    "REPEAT_INTERCEPTION",
    "TIP_MATCHED",
    "DECEASED_AFTER_INTERCEPTION",
    "DECEASED_UNREGISTERED",
    "GROUP_INTERCEPTED",
    "UNDERAGE_REGISTRATION",
)
PREVENTION = (
    "village_socialisation",
    "school_session",
    "religious_gathering",
    "radio_broadcast",
    "task_force_meeting",
    "other",
)


@dataclass(frozen=True)
class Categories:
    """The rows of each table: the same for the three months, so they line up."""

    posts: tuple[str, ...]
    routes: tuple[str, ...]
    destinations: tuple[str, ...]
    origins: tuple[str, ...]
    kinds: tuple[str, ...]
    countries: tuple[str, ...]
    rules: tuple[str, ...]


def categories(months: Sequence[Figures]) -> Categories:
    """Fixed lists where the reference has them (active posts, the 22 regencies, every
    kind and rule), plus whatever any of the months holds; never ordered by size."""

    def seen(pick: Callable[[Figures], Iterable[str]]) -> set[str]:
        return {code for f in months for code in pick(f)}

    known_posts = [p.post_id for p in reference.posts().values()]
    posts = {p for p in known_posts if reference.posts()[p].active} | seen(
        lambda f: (p for (p, _), n in f.post_route.items() if n)
    )
    routes = seen(lambda f: (r for (_, r), n in f.post_route.items() if n))
    regencies = sorted(reference.regencies(), key=lambda c: reference.regencies()[c].name)
    origins = [*regencies, *sorted(seen(lambda f: f.origins) - set(regencies))]
    kinds = [*KINDS, *sorted(seen(lambda f: (k for k, _ in f.repatriations)) - set(KINDS))]
    rules = [*RULES, *sorted(seen(lambda f: f.alerts_raised) - set(RULES))]
    return Categories(
        posts=tuple(_in_order(posts, known_posts)),
        routes=tuple(_in_order(routes, list(reference.routes()))),
        destinations=tuple(sorted(seen(lambda f: f.destinations), key=_unknown_last)),
        origins=tuple(o for o in origins if o in regencies or o in seen(lambda f: f.origins)),
        kinds=tuple(kinds),
        countries=tuple(sorted(seen(lambda f: f.repatriation_countries), key=_unknown_last)),
        rules=tuple(rules),
    )


def _in_order(codes: set[str], order: Sequence[str]) -> list[str]:
    known = [c for c in order if c in codes]
    return known + sorted(codes - set(order), key=_unknown_last)


def _unknown_last(code: str) -> tuple[bool, str]:
    return (code in labels.UNKNOWN_CODES, code)


def period_grid(f: Figures, cats: Categories) -> Grid[Cell]:
    """One month's tables as one linked system of cells and equations.

    - interceptions by post x route (never shown: only their margins are), whose grand
      total is also the total of the destinations and of the origins;
    - repatriations by kind x procedural status, shown as margins and the deceased row,
      whose grand total is also the total of the countries;
    - alerts raised by rule, and the alerts acknowledged (a cell of its own).
    """
    values: dict[Cell, int] = {}
    lines: list[Line[Cell]] = []
    shown: set[Cell] = set()

    def add(part: tuple[dict[Cell, int], list[Line[Cell]]], show: Iterable[Cell]) -> None:
        values.update(part[0])
        lines.extend(part[1])
        shown.update(show)

    # The crossed cells are never shown, only their margins; but a reader may know which
    # crossings cannot happen (a direct flight leaves only from El Tari, El Tari has no
    # ferry), so every crossed cell that is 0 is taken as known to them, as if shown:
    # otherwise a post's count and its one route's are the same number, and a hidden
    # route falls out of the totals.
    crossed = two_way(INTERCEPTIONS, f.post_route, cats.posts, cats.routes)
    add(crossed, (c for c in crossed[0] if TOTAL in c[1:] or crossed[0][c] == 0))
    for name, parts in (("dest", f.destinations), ("origin", f.origins)):
        table = one_way(
            name,
            _complete(parts, cats.destinations if name == "dest" else cats.origins),
            total=GRAND,
        )
        add(table, table[0])
    rep = two_way(REPATRIATIONS, f.repatriations, cats.kinds, PROCEDURAL)
    add(rep, (c for c in rep[0] if TOTAL in c[1:] or c[1] == DECEASED or rep[0][c] == 0))
    countries = one_way(
        "repc", _complete(f.repatriation_countries, cats.countries), total=REP_GRAND
    )
    add(countries, countries[0])
    alerts = one_way("alert", _complete(f.alerts_raised, cats.rules))
    add(alerts, alerts[0])
    add(({ACKNOWLEDGED: f.alerts_acknowledged}, []), [ACKNOWLEDGED])
    return Grid(values, tuple(lines), frozenset(shown))


def _complete(parts: Mapping[str, int], codes: Sequence[str]) -> dict[str, int]:
    return {code: int(parts.get(code, 0)) for code in codes}


# --- from figures to the report ------------------------------------------------------------------


def build(
    months: Sequence[Figures], *, lang: str, k: int = CTDC_K, read_at: datetime
) -> MonthlyReport:
    """The report of ``months[0]``, compared with ``months[1]`` (the month before) and
    ``months[2]`` (the same month a year before)."""
    cats = categories(months)
    outcomes = [suppress(period_grid(f, cats), k) for f in months]

    def cells(
        cell: Callable[[str], Cell],
        codes: Sequence[str],
        name: Callable[[str], str],
        total: Cell | None = None,
    ) -> tuple[Row, ...]:
        rows = [Row(c, name(c), _values(outcomes, cell(c))) for c in codes]
        if total is not None:
            rows.append(Row(TOTAL, labels.text("total", lang), _values(outcomes, total), True))
        return tuple(rows)

    def t(key: str, rows: tuple[Row, ...], protected: bool = True) -> Table:
        return Table(key, labels.text(f"t.{key}", lang), rows, protected)

    def ln(pick: Callable[[str, str], str]) -> Callable[[str], str]:
        return lambda code: pick(code, lang)

    interceptions = Section(
        "interceptions",
        labels.text("sec.interceptions", lang),
        (
            t(
                "by_post",
                cells(lambda c: (INTERCEPTIONS, c, TOTAL), cats.posts, ln(labels.post), GRAND),
            ),
            t(
                "by_route",
                cells(lambda c: (INTERCEPTIONS, TOTAL, c), cats.routes, ln(labels.route), GRAND),
            ),
            t(
                "by_destination",
                cells(lambda c: ("dest", c, TOTAL), cats.destinations, ln(labels.country), GRAND),
            ),
            t(
                "by_origin",
                cells(lambda c: ("origin", c, TOTAL), cats.origins, ln(labels.regency), GRAND),
            ),
        ),
        labels.text("people_note", lang),
    )
    repatriations = Section(
        "repatriations",
        labels.text("sec.repatriations", lang),
        (
            t(
                "by_kind",
                cells(
                    lambda c: (REPATRIATIONS, c, TOTAL),
                    cats.kinds,
                    ln(labels.repatriation_kind),
                    REP_GRAND,
                ),
            ),
            t(
                "by_procedural",
                cells(
                    lambda c: (REPATRIATIONS, TOTAL, c),
                    PROCEDURAL,
                    ln(labels.procedural),
                    REP_GRAND,
                ),
            ),
            t(
                "deaths",
                cells(
                    lambda c: (REPATRIATIONS, DECEASED, c),
                    PROCEDURAL,
                    ln(labels.procedural),
                    (REPATRIATIONS, DECEASED, TOTAL),
                ),
            ),
            t(
                "by_country",
                cells(lambda c: ("repc", c, TOTAL), cats.countries, ln(labels.country), REP_GRAND),
            ),
        ),
    )
    alerts = Section(
        "alerts",
        labels.text("sec.alerts", lang),
        (
            t(
                "alerts",
                cells(
                    lambda c: ("alert", c, TOTAL),
                    cats.rules,
                    ln(labels.alert_rule),
                    ("alert", TOTAL, TOTAL),
                ),
            ),
        ),
    )
    prevention = Section(
        "prevention",
        labels.text("sec.prevention", lang),
        (
            t("prevention_activities", _whole(months, "prevention_activities", lang), False),
            t("prevention_attendance", _whole(months, "prevention_attendance", lang), False),
        ),
        labels.text("prevention_note", lang),
    )
    return MonthlyReport(
        month=months[0].month,
        periods=tuple(f.month for f in months),
        lang=lang,
        k=k,
        read_at=read_at,
        headlines=_headlines(months, outcomes, lang),
        sections=(interceptions, repatriations, alerts, prevention),
        suppressed=sum(len(o.suppressed) for o in outcomes),
    )


def _values(outcomes: Sequence[Outcome[Cell]], cell: Cell) -> Values:
    return tuple(o.published(cell) for o in outcomes)


def _whole(months: Sequence[Figures], name: str, lang: str) -> tuple[Row, ...]:
    """Prevention: not records of people, published as counted."""
    counts = [getattr(f, name) for f in months]
    codes = [*PREVENTION, *sorted({c for m in counts for c in m} - set(PREVENTION))]
    rows = [
        Row(c, labels.prevention_kind(c, lang), tuple(int(m.get(c, 0)) for m in counts))
        for c in codes
    ]
    total = tuple(int(sum(m.values())) for m in counts)
    return (*rows, Row(TOTAL, labels.text("total", lang), total, True))


def _headlines(
    months: Sequence[Figures], outcomes: Sequence[Outcome[Cell]], lang: str
) -> tuple[Headline, ...]:
    def h(key: str, values: Sequence[float | None], kind: str = "count") -> Headline:
        return Headline(key, labels.text(f"h.{key}", lang), tuple(values), kind)

    def count(cell: Cell) -> list[float | None]:
        return [o.published(cell) for o in outcomes]

    shares = [_share(o) for o in outcomes]
    medians = [
        f.ack_median_s if o.published(ACKNOWLEDGED) else None
        for f, o in zip(months, outcomes, strict=True)
    ]
    return (
        h("interceptions", count(GRAND)),
        h("repatriations", count(REP_GRAND)),
        h("deaths", count((REPATRIATIONS, DECEASED, TOTAL))),
        h("non_procedural_share", shares, "share"),
        h("alerts_raised", count(("alert", TOTAL, TOTAL))),
        h("alerts_acknowledged", count(ACKNOWLEDGED)),
        h("ack_median", medians, "duration"),
        h("prevention_activities", [sum(f.prevention_activities.values()) for f in months]),
        h("prevention_attendance", [sum(f.prevention_attendance.values()) for f in months]),
    )


def _share(outcome: Outcome[Cell]) -> float | None:
    """Non-procedural repatriations among those of known status, from published cells
    only (a share of withheld cells would give them away)."""
    non = outcome.published((REPATRIATIONS, TOTAL, "non_procedural"))
    pro = outcome.published((REPATRIATIONS, TOTAL, "procedural"))
    if non is None or pro is None:
        return None
    return non / (non + pro) if non + pro else math.nan  # nan: nothing to share


# --- shown values ---------------------------------------------------------------------------


def change(now: float | None, before: float | None, lang: str = "en") -> str:
    """ "+12 (+15%)", "-3 (-4%)", "+5" when nothing before, "" when either is withheld."""
    if now is None or before is None:
        return ""
    diff = now - before
    if diff == 0:
        return "0"
    sign = "+" if diff > 0 else "-"
    amount = f"{sign}{shown(abs(diff), 'count', lang)}"
    if not before:
        return amount
    return f"{amount} ({sign}{abs(diff) / before * 100:.0f}%)"


def duration(seconds: float | None) -> str:
    """A time to acknowledge as people read it: seconds, minutes, hours or days."""
    if seconds is None:
        return NOT_APPLICABLE
    for size, unit in ((86400, "d"), (3600, "h")):
        if abs(seconds) >= 2 * size:
            return f"{seconds / size:.1f} {unit}"
    if abs(seconds) >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


NOT_APPLICABLE = "–"  # nothing to show: no acknowledgement, no repatriation of known status


def shown(value: float | None, kind: str, lang: str) -> str:
    """A figure as the report prints it; x for withheld, – for nothing to show (a
    median withheld with its count, or of no acknowledgement, is – as well)."""
    if value is None:
        return NOT_APPLICABLE if kind == "duration" else labels.text("suppressed_mark", lang)
    if math.isnan(value):
        return NOT_APPLICABLE
    if kind == "share":
        return f"{value * 100:.0f}%"
    if kind == "duration":
        return duration(value)
    return f"{value:,.0f}".replace(",", "." if lang == "id" else ",")
