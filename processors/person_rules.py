"""Rules about a person that the ledger, the alerts and the metrics share: how old the
person a record describes is, and the age thresholds (from configuration).

One home, so that the case ledger (``Case.minor_when_first_seen``), the alerts
(MINOR_INTERCEPTED, UNDERAGE_REGISTRATION) and the metrics
(``sinergi_minors_intercepted_total``) give the same answer for the same record
(issue 9: they used to disagree, with two age rules and a threshold fixed in two
modules while the alerts read it from configuration).

**The age rule: a record is judged on its own evidence.**

- A birth date gives the age exactly: the years completed on the record's day.
- Without one, an estimated age is what the officer judged *at the time of that record*:
  it is the age for that record and is never aged forward (or back). A later record
  carries its own estimate; arithmetic on an older estimate must not override it (an
  estimate of 17 aged by 400 days had become 18 in the ledger while the metrics, which
  did not age it, still counted a minor).
- The day is the calendar day in Kupang (WITA, UTC+8), where the record was made: a
  person intercepted at 07:00 on their eighteenth birthday is 18, though in UTC it is
  still the day before.
- A record is not judged on another record's birth date, even one of the same case.
  The metrics are counters, added to one event at a time and never taken back: if a
  birth date recorded later could change what an earlier record said, the counts would
  depend on the order and the batches in which facts arrive, and disagree with the
  alerts. A case holding a birth date is still judged by it on every record that
  carries it, which is every record of a valid NIK (the birth date is in the NIK) and of
  a weak match made from a birth date (it is part of the pseudonym). A case mixes a
  birth date on some records with estimates on others only when its NIK failed the
  checks (forged documents): there a claimed birth date is exactly what may have been
  falsified, and the officer's estimate at the record should stand.

Pure: no Kafka, no database, no environment; the thresholds arrive as
:class:`PersonRules` (``sinergi.bootstrap.alert_rules`` builds them from the settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from schemas.model import WITA


@dataclass(frozen=True)
class PersonRules:
    """The age thresholds.

    ``minor_age``: under it a person is a child for the hub's purposes: flagged in the
    ledger, counted in the metrics, alerted when intercepted (SINERGI_ALERT_MINOR_AGE).
    ``min_migrant_work_age``: the legal minimum age to work abroad (UU 18/2017 Pasal 5:
    at least 18 years old); a registration or placement below it is UNDERAGE_REGISTRATION
    (SINERGI_MIN_MIGRANT_WORK_AGE). Two settings although both are 18: the first is a
    protection policy the hub may tune, the second follows the law and changes only
    with it; tuning one must not move the other.
    """

    minor_age: int = 18
    min_migrant_work_age: int = 18


def age_at(moment: datetime, birth_date: date | None, estimated_age: int | None) -> int | None:
    """The age, at ``moment``, of the person a record made at ``moment`` describes with
    ``birth_date`` and ``estimated_age`` (see the module's docstring); None when the
    record tells no age."""
    if birth_date is None:
        return estimated_age
    day = moment.astimezone(WITA).date()
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def is_minor(age: int | None, rules: PersonRules) -> bool:
    """Whether an age (from :func:`age_at`) is a child's; an unknown age is not."""
    return age is not None and age < rules.minor_age


def below_migrant_work_age(age: int | None, rules: PersonRules) -> bool:
    """Whether an age (from :func:`age_at`) is below the legal minimum age for migrant
    work; an unknown age is not."""
    return age is not None and age < rules.min_migrant_work_age
