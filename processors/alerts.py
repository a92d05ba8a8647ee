"""Alert rules for police: pure functions of a ledger entity.

Each rule looks at one entity's timeline and says which alerts hold. An alert's id
is derived from what it is about (the rule and the causing fact, recruiter or
group), so evaluating again, or replaying the topics, yields the same ids: the
store keeps each id once and an alert is raised once. Thresholds come from
configuration (:class:`AlertRules`; the age rule and the age thresholds are the
ledger's and the metrics' too: :mod:`processors.person_rules`). Summaries are in
Bahasa Indonesia, for the police reader, and carry codes and counts only.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from processors.ledger import Case, Entity, Fact, Group, Recruiter
from processors.person_rules import PersonRules, below_migrant_work_age, is_minor
from schemas.ids import name_uuid
from schemas.model import (
    AlertRule,
    InterceptionRecorded,
    LtsaRegistrationRecorded,
    PlacementRegistered,
    Procedural,
    RepatriationKind,
    RepatriationRecorded,
    Severity,
    TipReceived,
)

_NAMESPACE = uuid.UUID("0b7c2f4e-6a51-4c1e-9e2d-5f8a3b1c7d90")
INTERCEPTION = InterceptionRecorded.event_type
_REGISTRATIONS = (PlacementRegistered.event_type, LtsaRegistrationRecorded.event_type)


@dataclass(frozen=True)
class AlertRules:
    """Thresholds of the rules (SINERGI_ALERT_* settings); the age thresholds are in
    ``person``, shared with the ledger and the metrics."""

    recruiter_people: int = 3
    recruiter_window_days: int = 30
    group_size: int = 5
    tip_match_days: int = 60
    person: PersonRules = field(default_factory=PersonRules)
    enabled: frozenset[AlertRule] = field(default_factory=lambda: frozenset(AlertRule))
    # A rule that rests on a fact being absent (never registered) waits this long after
    # the hub received its cause before it is raised (SINERGI_ALERT_GRACE_HOURS; 0: at
    # once): other agencies' facts normally arrive within it.
    grace: timedelta = timedelta(0)


@dataclass(frozen=True)
class Alert:
    alert_id: str
    rule: AlertRule
    severity: Severity
    case_ids: tuple[str, ...]
    cause_event_ids: tuple[str, ...]
    summary: str
    triggered_at: datetime
    recruiter_ref: str | None = None
    group_ref: str | None = None
    # Recruiter contacts of the causes, sealed for police (the hub cannot read them).
    sealed_contacts: tuple[str, ...] = ()
    # Held back until then (the hub's clock): a rule resting on an absence waits for
    # late facts. None: raised at once.
    due_at: datetime | None = None
    # Where the situation began, for a rule over a window of time (RECRUITER_NETWORK):
    # the first of its window's facts.
    since: datetime | None = None


def alert_to_json(alert: Alert) -> dict[str, Any]:
    """An alert as JSON-ready values (times stay datetimes; orjson writes ISO 8601)."""
    return {
        **{f.name: getattr(alert, f.name) for f in fields(Alert)},
        "rule": alert.rule.value,
        "severity": alert.severity.value,
    }


def _moment(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def alert_from_json(data: Mapping[str, Any]) -> Alert:
    """The alert :func:`alert_to_json` wrote (read back from JSON, times as text)."""
    due = data.get("due_at")
    return Alert(
        alert_id=data["alert_id"],
        rule=AlertRule(data["rule"]),
        severity=Severity(data["severity"]),
        case_ids=tuple(data["case_ids"]),
        cause_event_ids=tuple(data["cause_event_ids"]),
        summary=data["summary"],
        triggered_at=_moment(data["triggered_at"]),
        recruiter_ref=data.get("recruiter_ref"),
        group_ref=data.get("group_ref"),
        sealed_contacts=tuple(data.get("sealed_contacts") or ()),
        due_at=_moment(due) if due else None,
    )


def alert_id(rule: AlertRule, subject: str) -> str:
    return name_uuid(_NAMESPACE, f"{rule.value}:{subject}")


def network_alert_id(recruiter_ref: str) -> str:
    """A recruiter's one network alert: of its raised alerts, the only one that
    :func:`evaluate_scoped` reads (when it began)."""
    return alert_id(AlertRule.RECRUITER_NETWORK, recruiter_ref)


def _after_grace(fact: Fact, rules: AlertRules) -> datetime | None:
    """When an alert resting on an absence may be raised: the grace period after the hub
    received its cause (None: at once, when there is no grace or no receipt time)."""
    if not rules.grace or fact.received_at is None:
        return None
    return fact.received_at + rules.grace


def _short(ref: str) -> str:
    return ref.split(":", 1)[-1][:8]


def _with_contacts(alert: Alert, facts: Iterable[Fact]) -> Alert:
    causes = set(alert.cause_event_ids)
    sealed = sorted(
        {
            f.detail["contact_sealed"]
            for f in facts
            if f.event_id in causes and f.detail.get("contact_sealed")
        }
    )
    return replace(alert, sealed_contacts=tuple(sealed)) if sealed else alert


def evaluate(entity: Entity, rules: AlertRules) -> list[Alert]:
    """Every alert that holds for this entity now, with the sealed recruiter contacts
    of its causes for police."""
    return [_with_contacts(a, entity.facts) for a in _evaluate(entity, rules)]


def reach(rules: AlertRules) -> timedelta:
    """How far in time a recruiter's rules look from a fact: the facts a batch's new ones
    can change an alert with lie within this of them."""
    return timedelta(days=max(rules.recruiter_window_days, rules.tip_match_days))


def evaluate_scoped(
    entity: Entity, rules: AlertRules, raised: Sequence[Alert] = ()
) -> tuple[list[Alert], set[str] | None]:
    """The alerts that hold for what the entity's loaded facts can decide, and the ids
    that decision covers (None: every alert of the entity). A recruiter whose batch
    added facts (``changed``) has only the facts within :func:`reach` of them loaded: it
    decides the tips matched around them and, unless its network alert (``raised``)
    began long before them, the first window in which it linked enough people."""
    if not isinstance(entity, Recruiter) or entity.changed is None:
        return evaluate(entity, rules), None
    if not rules.enabled & {AlertRule.RECRUITER_NETWORK, AlertRule.TIP_MATCHED}:
        return [], set()
    start, end = entity.changed
    considered: set[str] = set()
    found: list[Alert] = []
    if AlertRule.RECRUITER_NETWORK in rules.enabled:
        network = network_alert_id(entity.recruiter_ref)
        before = next((a.since for a in raised if a.alert_id == network and a.since), None)
        first = _first_window_after(entity, rules, start, end, before)
        if first is not False:
            considered.add(network)
            if first is not None:
                found.append(first)
    if AlertRule.TIP_MATCHED in rules.enabled:
        earliest = start - timedelta(days=rules.tip_match_days)
        for tip in _of(entity.facts, TipReceived.event_type):
            if earliest <= tip.occurred_at <= end:
                considered.add(alert_id(AlertRule.TIP_MATCHED, f"{tip.event_id}/recruiter"))
                later = _later_interceptions(tip, entity.facts, rules.tip_match_days)
                if later:
                    who = f"rombongan calo {_short(entity.recruiter_ref)}"
                    found.append(_tip_match(tip, later, "recruiter", who))
    return [_with_contacts(a, entity.facts) for a in found], considered


# The event types whose records can alert on their own (see record_alerts).
RECORD_ALERTING = (INTERCEPTION, *_REGISTRATIONS)


def record_alert_ids(event_id: str) -> set[str]:
    """The ids :func:`record_alerts` can give a record's alerts."""
    rules = (AlertRule.MINOR_INTERCEPTED, AlertRule.UNDERAGE_REGISTRATION)
    return {alert_id(rule, event_id) for rule in rules}


def record_alerts(fact: Fact, case_id: str, rules: AlertRules) -> list[Alert]:
    """The alerts a record raises on its own, whatever else its case holds: a child
    intercepted (MINOR_INTERCEPTED), a registration below the legal age for migrant work
    (UNDERAGE_REGISTRATION); raised at once (no grace period), with the sealed recruiter
    contact of the record. The case's rules raise them through the same functions, so
    the processor's sentinel (:mod:`processors.sentinel`), which raises them the moment a
    record arrives, says what the ledger will."""
    found = [a for a in (_minor(fact, case_id, rules), _underage(fact, case_id, rules)) if a]
    return [_with_contacts(a, (fact,)) for a in found if a.rule in rules.enabled]


def _evaluate(entity: Entity, rules: AlertRules) -> list[Alert]:
    if isinstance(entity, Case):
        found = _case_alerts(entity, rules)
    elif isinstance(entity, Recruiter):
        found = _recruiter_alerts(entity, rules)
    elif isinstance(entity, Group):
        found = _group_alerts(entity, rules)
    else:
        found = []
    return [a for a in found if a.rule in rules.enabled]


def _of(facts: Iterable[Fact], event_type: str) -> list[Fact]:
    return [f for f in facts if f.event_type == event_type]


# --- rules on a person's case --------------------------------------------------------


def _case_alerts(case: Case, rules: AlertRules) -> list[Alert]:
    return [
        *_minor_intercepted(case, rules),
        *_underage_registrations(case, rules),
        *_repeat_interceptions(case),
        *_tips_matched_by_person(case, rules),
        *_deceased(case, rules),
    ]


def _minor_intercepted(case: Case, rules: AlertRules) -> list[Alert]:
    return [a for f in case.facts if (a := _minor(f, case.case_id, rules))]


def _minor(fact: Fact, case_id: str, rules: AlertRules) -> Alert | None:
    if fact.event_type != INTERCEPTION:
        return None
    age = fact.age()
    if not is_minor(age, rules.person):
        return None
    return Alert(
        alert_id=alert_id(AlertRule.MINOR_INTERCEPTED, fact.event_id),
        rule=AlertRule.MINOR_INTERCEPTED,
        severity=Severity.HIGH,
        case_ids=(case_id,),
        cause_event_ids=(fact.event_id,),
        summary=(
            f"Anak berusia {age} tahun dicegah di pos {fact.detail.get('post')}"
            f" (tujuan {fact.detail.get('destination') or '?'})"
        ),
        triggered_at=fact.occurred_at,
        recruiter_ref=fact.detail.get("recruiter"),
    )


def _underage_registrations(case: Case, rules: AlertRules) -> list[Alert]:
    return [a for f in case.facts if (a := _underage(f, case.case_id, rules))]


def _underage(fact: Fact, case_id: str, rules: AlertRules) -> Alert | None:
    """A placement (BP3MI) or an LTSA registration (district) of someone below the legal
    minimum age for migrant work: one alert per registration. In NTT documents are
    falsified to make children old enough to go: the record's own age says otherwise."""
    if fact.event_type not in _REGISTRATIONS:
        return None
    age = fact.age()
    if not below_migrant_work_age(age, rules.person):
        return None
    return Alert(
        alert_id=alert_id(AlertRule.UNDERAGE_REGISTRATION, fact.event_id),
        rule=AlertRule.UNDERAGE_REGISTRATION,
        severity=Severity.HIGH,
        case_ids=(case_id,),
        cause_event_ids=(fact.event_id,),
        summary=(
            f"{_registered_where(fact)} untuk orang berusia {age} tahun, di bawah usia"
            f" minimum {rules.person.min_migrant_work_age} tahun untuk bekerja ke luar"
            " negeri: periksa kemungkinan pemalsuan umur"
        ),
        triggered_at=fact.occurred_at,
    )


def _registered_where(fact: Fact) -> str:
    if fact.event_type == PlacementRegistered.event_type:
        return (
            f"Penempatan BP3MI ke {fact.detail.get('destination')}"
            f" (perusahaan {fact.detail.get('company')})"
        )
    return (
        f"Pendaftaran LTSA di kabupaten {fact.detail.get('ltsa_regency')}"
        f" (tujuan {fact.detail.get('destination') or '?'})"
    )


def _repeat_interceptions(case: Case) -> list[Alert]:
    caught = _of(case.facts, INTERCEPTION)
    alerts = []
    for number, fact in enumerate(caught[1:], start=2):
        alerts.append(
            Alert(
                alert_id=alert_id(AlertRule.REPEAT_INTERCEPTION, fact.event_id),
                rule=AlertRule.REPEAT_INTERCEPTION,
                # Constant: a severity never changes once raised (the count is in the summary).
                severity=Severity.MEDIUM,
                case_ids=(case.case_id,),
                cause_event_ids=(caught[0].event_id, fact.event_id),
                summary=(
                    f"Orang yang sama dicegah untuk ke-{number} kalinya"
                    f" (pos {fact.detail.get('post')}, sebelumnya {caught[0].detail.get('post')})"
                ),
                triggered_at=fact.occurred_at,
                recruiter_ref=fact.detail.get("recruiter"),
            )
        )
    return alerts


def _tip_match(tip: Fact, later: list[Fact], by: str, who: str) -> Alert:
    """A tip followed by an interception; ``by`` is person or recruiter (one alert each)."""
    match = later[0]
    return Alert(
        alert_id=alert_id(AlertRule.TIP_MATCHED, f"{tip.event_id}/{by}"),
        rule=AlertRule.TIP_MATCHED,
        severity=Severity.HIGH,
        case_ids=tuple(
            sorted({c for c in (tip.detail.get("case_id"), match.detail.get("case_id")) if c})
        ),
        cause_event_ids=(tip.event_id, match.event_id),
        summary=(
            f"Laporan SI-SAGA {tip.detail.get('tip')} terbukti: {who} dicegah di pos "
            f"{match.detail.get('post')} {(match.occurred_at - tip.occurred_at).days} hari kemudian"
        ),
        triggered_at=match.occurred_at,
        recruiter_ref=tip.detail.get("recruiter") or match.detail.get("recruiter"),
    )


def _later_interceptions(tip: Fact, facts: Iterable[Fact], days: int) -> list[Fact]:
    end = tip.occurred_at + timedelta(days=days)
    return [f for f in _of(facts, INTERCEPTION) if tip.occurred_at <= f.occurred_at <= end]


def _tips_matched_by_person(case: Case, rules: AlertRules) -> list[Alert]:
    alerts = []
    for tip in _of(case.facts, TipReceived.event_type):
        later = _later_interceptions(tip, case.facts, rules.tip_match_days)
        if later:
            alerts.append(_tip_match(tip, later, "person", "orang yang dilaporkan"))
    return alerts


def _deceased(case: Case, rules: AlertRules) -> list[Alert]:
    alerts = []
    for fact in _of(case.facts, RepatriationRecorded.event_type):
        if fact.detail.get("kind") != RepatriationKind.DECEASED.value:
            continue
        before = [f for f in case.facts if f.sort_key() < fact.sort_key()]
        intercepted = _of(before, INTERCEPTION)
        registered = [
            f
            for f in before
            if f.event_type in (PlacementRegistered.event_type, LtsaRegistrationRecorded.event_type)
        ]
        country = fact.detail.get("country")
        if intercepted:
            alerts.append(
                Alert(
                    alert_id=alert_id(AlertRule.DECEASED_AFTER_INTERCEPTION, fact.event_id),
                    rule=AlertRule.DECEASED_AFTER_INTERCEPTION,
                    severity=Severity.CRITICAL,
                    case_ids=(case.case_id,),
                    cause_event_ids=(intercepted[-1].event_id, fact.event_id),
                    summary=(
                        f"Jenazah dipulangkan dari {country}: orang ini pernah dicegah di pos "
                        f"{intercepted[-1].detail.get('post')} ({len(intercepted)} kali)"
                    ),
                    triggered_at=fact.occurred_at,
                    recruiter_ref=intercepted[-1].detail.get("recruiter"),
                )
            )
        if not registered:
            alerts.append(
                Alert(
                    alert_id=alert_id(AlertRule.DECEASED_UNREGISTERED, fact.event_id),
                    rule=AlertRule.DECEASED_UNREGISTERED,
                    severity=Severity.HIGH,
                    case_ids=(case.case_id,),
                    cause_event_ids=(fact.event_id,),
                    summary=(
                        f"Jenazah dipulangkan dari {country}: tidak pernah terdaftar di LTSA "
                        "atau penempatan BP3MI" + _said_procedural(fact.detail.get("procedural"))
                    ),
                    triggered_at=fact.occurred_at,
                    due_at=_after_grace(fact, rules),
                )
            )
    return alerts


def _said_procedural(procedural: object) -> str:
    """What the repatriation itself says of the departure: BP3MI may record one as
    procedural that the hub never saw registered, and the alert must not contradict it."""
    if procedural == Procedural.PROCEDURAL.value:
        return ", walaupun BP3MI mencatatnya prosedural"
    return " (non-prosedural)"


# --- rules on a recruiter and on a group -------------------------------------------------


def _recruiter_alerts(recruiter: Recruiter, rules: AlertRules) -> list[Alert]:
    alerts = []
    network = _busy_window(recruiter, rules)
    if network is not None:
        alerts.append(network)
    for tip in _of(recruiter.facts, TipReceived.event_type):
        later = _later_interceptions(tip, recruiter.facts, rules.tip_match_days)
        if later:
            who = f"rombongan calo {_short(recruiter.recruiter_ref)}"
            alerts.append(_tip_match(tip, later, "recruiter", who))
    return alerts


def _first_window_after(
    recruiter: Recruiter,
    rules: AlertRules,
    start: datetime,
    end: datetime,
    before: datetime | None,
) -> Alert | Literal[False] | None:
    """The recruiter's first busy window once facts between ``start`` and ``end`` were
    added, its earlier first window beginning at ``before`` (None: there was none); False
    when the new facts cannot change it (so the stored alert stands).

    Only windows that contain a new fact can be new, and they begin at most a window
    before ``start`` and at most at ``end``: all their facts are loaded. The earlier first
    window stands if it began before that, or after ``end`` and no new window precedes it.
    """
    window = timedelta(days=rules.recruiter_window_days)
    if before is not None and before < start - window:
        return False
    first = _busy_window(recruiter, rules)
    if before is None or before <= end:
        return first
    if first is not None and first.since is not None and first.since <= end:
        return first  # a new window, before the earlier first one
    return False


def _busy_window(recruiter: Recruiter, rules: AlertRules) -> Alert | None:
    """The first window of N days in which the recruiter is linked to enough people."""
    linked = [
        (f, c)
        for f in recruiter.facts
        for c in ([f.detail["case_id"]] if f.detail.get("case_id") else [])
        + list(f.detail.get("case_ids") or ())
    ]
    window = timedelta(days=rules.recruiter_window_days)
    # Two pointers over the time-sorted links: [i, j) is the window starting at link i.
    inside: Counter[str] = Counter()
    j = 0
    for i, (start, _) in enumerate(linked):
        while j < len(linked) and linked[j][0].occurred_at - start.occurred_at <= window:
            inside[linked[j][1]] += 1
            j += 1
        if len(inside) >= rules.recruiter_people:
            window_links = linked[i:j]
            people = sorted(inside)
            return Alert(
                alert_id=network_alert_id(recruiter.recruiter_ref),
                rule=AlertRule.RECRUITER_NETWORK,
                severity=Severity.HIGH,
                case_ids=tuple(people),
                cause_event_ids=tuple(sorted({f.event_id for f, _ in window_links})),
                summary=(
                    f"Calo {_short(recruiter.recruiter_ref)} terkait dengan {len(people)} orang "
                    f"dalam {rules.recruiter_window_days} hari"
                ),
                triggered_at=max(f.occurred_at for f, _ in window_links),
                recruiter_ref=recruiter.recruiter_ref,
                since=start.occurred_at,
            )
        _, case = linked[i]
        inside[case] -= 1
        if not inside[case]:
            del inside[case]
    return None


def _group_alerts(group: Group, rules: AlertRules) -> list[Alert]:
    members = _of(group.facts, INTERCEPTION)
    people = sorted({c for f in members for c in [f.detail.get("case_id")] if c})
    if len(people) < rules.group_size:
        return []
    post, _, group_ref = group.group_key.partition("/")
    recruiters = sorted(group.recruiters)
    return [
        Alert(
            alert_id=alert_id(AlertRule.GROUP_INTERCEPTED, group.group_key),
            rule=AlertRule.GROUP_INTERCEPTED,
            severity=Severity.HIGH,
            case_ids=tuple(people),
            cause_event_ids=tuple(f.event_id for f in members),
            summary=f"Rombongan {len(people)} orang dicegah bersama di pos {post} ({group_ref})",
            triggered_at=max(f.occurred_at for f in members),
            recruiter_ref=recruiters[0] if recruiters else None,
            group_ref=group.group_key,
        )
    ]
