"""What each event adds to the daily metrics: a pure function of the event (and the
configured age thresholds, :class:`~processors.person_rules.PersonRules`).

Names follow Prometheus conventions (``sinergi_<what>_total`` for counts, one label
set per metric). Each dimension is its own metric rather than one metric with
every label: no cross-tabulation of small numbers (origin x sex x age x
destination) that could single out a person. Labels are codes, never anything
about a person.

Each event is counted on its own, once, when it is stored: what it adds never depends
on the facts that come before or after it. So a minor is counted by the age the
interception itself tells (the one age rule, :func:`processors.person_rules.age_at`),
the same age the ledger and the alerts judge that interception by.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from functools import singledispatch

from processors.person_rules import PersonRules, age_at, is_minor
from processors.ports import MetricKey
from schemas.model import (
    CaseSentToProsecutor,
    Event,
    InterceptionRecorded,
    InvestigationOpened,
    LtsaRegistrationRecorded,
    PlacementRegistered,
    PreventionActivityHeld,
    RepatriationKind,
    RepatriationRecorded,
    SuspectIdentified,
    TipReceived,
)

INTERCEPTIONS = "sinergi_interceptions_total"
INTERCEPTIONS_BY_EXIT = "sinergi_interceptions_by_exit_point_total"
INTERCEPTIONS_BY_DESTINATION = "sinergi_interceptions_by_destination_total"
INTERCEPTIONS_BY_ORIGIN = "sinergi_interceptions_by_origin_total"
INTERCEPTIONS_BY_SEX = "sinergi_interceptions_by_sex_total"
MINORS_INTERCEPTED = "sinergi_minors_intercepted_total"
REPATRIATIONS = "sinergi_repatriations_total"
REPATRIATIONS_BY_COUNTRY = "sinergi_repatriations_by_country_total"
DEATHS = "sinergi_deaths_total"
PLACEMENTS = "sinergi_placements_total"
LTSA_REGISTRATIONS = "sinergi_ltsa_registrations_total"
PREVENTION_ACTIVITIES = "sinergi_prevention_activities_total"
PREVENTION_ATTENDANCE = "sinergi_prevention_attendance_total"
TIPS = "sinergi_tips_total"
INVESTIGATIONS = "sinergi_investigations_opened_total"
SUSPECTS = "sinergi_suspects_identified_total"
PROSECUTIONS = "sinergi_cases_sent_to_prosecutor_total"

Cell = tuple[str, dict[str, str], int]

HELP = {
    INTERCEPTIONS: "Interceptions recorded by the posts, by post.",
    INTERCEPTIONS_BY_EXIT: "Interceptions by exit point.",
    INTERCEPTIONS_BY_DESTINATION: "Interceptions by intended destination (ISO country).",
    INTERCEPTIONS_BY_ORIGIN: "Interceptions by origin regency (Kemendagri code).",
    INTERCEPTIONS_BY_SEX: "Interceptions by sex.",
    MINORS_INTERCEPTED: "Interceptions of minors (under SINERGI_ALERT_MINOR_AGE), by post.",
    REPATRIATIONS: "Repatriations recorded by BP3MI, by kind and procedural status.",
    REPATRIATIONS_BY_COUNTRY: "Repatriations by country returned from.",
    DEATHS: "Deceased migrant workers repatriated, by procedural status.",
    PLACEMENTS: "Procedural placements registered by BP3MI, by country.",
    LTSA_REGISTRATIONS: "Candidates registered at LTSA offices, by regency.",
    PREVENTION_ACTIVITIES: "Prevention activities held, by kind.",
    PREVENTION_ATTENDANCE: "People attending prevention activities, by kind.",
    TIPS: "SI-SAGA hotline tips, by concern.",
    INVESTIGATIONS: "Investigations opened by police, by offence.",
    SUSPECTS: "Suspects identified by police, by role.",
    PROSECUTIONS: "Investigation files sent to the prosecutor.",
}


@singledispatch
def increments(event: Event, rules: PersonRules) -> list[Cell]:
    """The (metric, labels, amount) cells an event adds to; ``rules``: the age thresholds."""
    return []


@increments.register
def _(event: InterceptionRecorded, rules: PersonRules) -> list[Cell]:
    person = event.person
    cells: list[Cell] = [
        (INTERCEPTIONS, {"post": event.post_id}, 1),
        (INTERCEPTIONS_BY_EXIT, {"exit_point": event.exit_point}, 1),
        (INTERCEPTIONS_BY_DESTINATION, {"country": event.destination_country or "unknown"}, 1),
        (INTERCEPTIONS_BY_ORIGIN, {"regency": person.origin_regency or "unknown"}, 1),
        (INTERCEPTIONS_BY_SEX, {"sex": person.sex.value.lower()}, 1),
    ]
    if is_minor(age_at(event.occurred_at, person.birth_date, person.estimated_age), rules):
        cells.append((MINORS_INTERCEPTED, {"post": event.post_id}, 1))
    return cells


@increments.register
def _(event: RepatriationRecorded, rules: PersonRules) -> list[Cell]:
    procedural = event.procedural.value.lower()
    cells: list[Cell] = [
        (REPATRIATIONS, {"kind": event.kind.value.lower(), "procedural": procedural}, 1),
        (REPATRIATIONS_BY_COUNTRY, {"country": event.country}, 1),
    ]
    if event.kind is RepatriationKind.DECEASED:
        cells.append((DEATHS, {"procedural": procedural}, 1))
    return cells


@increments.register
def _(event: PlacementRegistered, rules: PersonRules) -> list[Cell]:
    return [(PLACEMENTS, {"country": event.destination_country}, 1)]


@increments.register
def _(event: LtsaRegistrationRecorded, rules: PersonRules) -> list[Cell]:
    return [(LTSA_REGISTRATIONS, {"regency": event.ltsa_regency}, 1)]


@increments.register
def _(event: PreventionActivityHeld, rules: PersonRules) -> list[Cell]:
    kind = {"kind": event.kind.value.lower()}
    return [(PREVENTION_ACTIVITIES, kind, 1), (PREVENTION_ATTENDANCE, kind, event.attendance)]


@increments.register
def _(event: TipReceived, rules: PersonRules) -> list[Cell]:
    return [(TIPS, {"concern": event.concern.value.lower()}, 1)]


@increments.register
def _(event: InvestigationOpened, rules: PersonRules) -> list[Cell]:
    return [(INVESTIGATIONS, {"offence": event.offence.value.lower()}, 1)]


@increments.register
def _(event: SuspectIdentified, rules: PersonRules) -> list[Cell]:
    return [(SUSPECTS, {"role": event.role.value.lower()}, 1)]


@increments.register
def _(event: CaseSentToProsecutor, rules: PersonRules) -> list[Cell]:
    return [(PROSECUTIONS, {}, 1)]


def tally(cells: Iterable[tuple[date, Cell]]) -> Counter[MetricKey]:
    """Sum (day, cell) pairs per day and cell."""
    total: Counter[MetricKey] = Counter()
    for day, (metric, labels, amount) in cells:
        total[MetricKey(day, metric, tuple(sorted(labels.items())))] += amount
    return total


def event_cells(events: Iterable[Event], rules: PersonRules) -> Iterable[tuple[date, Cell]]:
    """The (day, cell) pairs the events add to, ``rules`` being the configured thresholds."""
    for event in events:
        day = event.occurred_at.date()
        for cell in increments(event, rules):
            yield day, cell
