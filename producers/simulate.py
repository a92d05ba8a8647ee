"""Realistic, reproducible demo data: what every agency would type over some months.

The rows are raw, as people enter them: made-up NIKs, names and phone numbers, which
the forms then validate and pseudonymise like any real input. Same seed, same rows.

:meth:`Simulator.interceptions` gives the posts' rows alone (unchanged from the first
version: the same seed gives the same rows). :meth:`Simulator.events_rows` gives every
agency's rows in time order, as ``(form name, desk place, row)``, with the place
:func:`producers.forms.desk_for` takes (a post id, ``polda-ntt``, ``ntt``, a regency
code, ``sisaga``).

Proportions follow ../shared/CONTEXT.md, relative to the expected number of people
intercepted per day (``r``, about 2.8 at ``scale`` 1):

* interceptions: El Tari 60% / Tenau 40%; Malaysia 88% of destinations; groups of
  1-8 behind a few recruiters (*calo*); 12% handed to police; 8% minors; 5% repeats.
* placements (BP3MI, procedural) at 3.5 r (1,226 procedural departures against 350
  prevented, 2020-2023); to Malaysia, Taiwan, Hong Kong, Singapore, Brunei, Japan,
  Korea; 3% are people intercepted at least 60 days before.
* LTSA registrations (districts) at 1.2 x placements: every placement was
  registered at the person's home regency 30-90 days before; a sixth of registrations
  never lead to a placement.
* deceased repatriations at 1.0 r (335 dead against 350 prevented), 98%
  non-procedural (459 of 466 deaths in Malaysia); 6% of people intercepted and sent
  home or released die abroad 20-120 days later (the hub raises an alert); 2% are
  placed workers; the rest were never registered anywhere, 15% of them without a NIK.
* other repatriations (deported 45%, sick 20%, voluntary 20%, trafficking victims 15%)
  at 2 x deaths; 8% are placed workers (procedural), 4% people intercepted before.
* prevention activities at 0.2 r, in all 22 regencies (weighted like the origins),
  20-150 attending, women counted in 70% of them.
* hotline tips at 0.15 r: half name a recruiter whose group is intercepted 1-60 days
  later, and half of those also name a member of the group (who is then intercepted);
  10% of reporters call again.
* police: an investigation for 70% of the groups with someone handed to police, 1-14
  days later, citing the hub's case ids of the whole group and the group's recruiter;
  that recruiter is identified as a suspect 3-30 days later; 40% of investigations go
  to the prosecutor 30-90 days after opening. No alert acknowledgements: alert ids
  are the hub's own, unknown to the agencies beforehand.

Everything happens inside the simulated period (``start`` to ``start + 30 x months``
days); events that would fall after it are left out.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from producers.pseudonym import Pseudonymiser
from schemas.model import WITA
from schemas.nik import normalise_nik

# Origins of NTT's non-procedural migrants, heavier where the articles place most cases.
ORIGIN_WEIGHTS = {
    "5302": 16, "5301": 14, "5303": 10, "5304": 7, "5321": 7, "5318": 7, "5371": 6,
    "5312": 4, "5311": 3, "5317": 2, "5306": 4, "5307": 4, "5313": 3, "5305": 3,
    "5314": 3, "5310": 2, "5315": 2, "5319": 2, "5308": 2, "5309": 1, "5316": 1, "5320": 1,
}  # fmt: skip
DESTINATIONS = {"MY": 88, "SG": 3, "HK": 3, "TW": 3, "BN": 2, "SA": 1}
SECTORS = {
    "PLANTATION": 40, "DOMESTIC_WORK": 30, "CONSTRUCTION": 10, "MANUFACTURING": 6,
    "FISHERIES": 4, "HOSPITALITY": 4, "CARE": 2, "UNKNOWN": 4,
}  # fmt: skip
OUTCOMES = {"SENT_HOME": 70, "HANDED_TO_POLICE": 12, "SHELTERED": 15, "RELEASED": 3}
POSTS = {"eltari": 60, "tenau": 40}
ROUTES = {"eltari": ["direct-flight"], "tenau": ["larantuka-nunukan-tawau", "batam-johor"]}
DOC_PROBLEMS = [
    ["NO_WORK_VISA", "NOT_REGISTERED"],
    ["TOURIST_VISA", "NOT_REGISTERED", "NO_TRAINING"],
    ["NONE_HELD"],
    ["FORGED"],
    ["VISIT_VISA", "NO_INSURANCE"],
    ["NOT_REGISTERED", "NO_TRAINING", "NO_INSURANCE"],
]
GIVEN_F = [
    "Maria", "Yuliana", "Florentina", "Agustina", "Yohana", "Martha", "Selvi", "Ina",
    "Novita", "Melania", "Oktovina", "Desi", "Sarlota", "Ferderika", "Yunita",
]  # fmt: skip
GIVEN_M = [
    "Yohanes", "Agustinus", "Fransiskus", "Marthen", "Yakobus", "Petrus", "Aris", "Yosef",
    "Simon", "Benediktus", "Obed", "Daniel", "Kornelis", "Nikolaus",
]  # fmt: skip
FAMILY = [
    "Nenobais", "Tefa", "Taneo", "Benu", "Lake", "Bria", "Seran", "Mau", "Kolo", "Nahak",
    "Tallo", "Lado", "Kaka", "Ndun", "Manafe", "Sabu", "Riwu", "Bani", "Boimau", "Nope",
]  # fmt: skip

# How many groups one daily draw gives, and how many people a group has.
GROUP_DRAWS = ([0, 1, 2, 3], [35, 35, 20, 10])
GROUP_SIZES = ([1, 2, 3, 4, 5, 6, 8], [40, 20, 12, 10, 8, 6, 4])

# The other agencies, relative to the people intercepted (see the module docstring).
# Of the LTSA candidates who are never placed, the share under 18 (UNDERAGE_REGISTRATION).
UNDERAGE_CANDIDATES = 0.02
PLACEMENTS_PER_INTERCEPTION = 3.5
LTSA_PER_PLACEMENT = 1.2
DEATHS_PER_INTERCEPTION = 1.0
OTHER_REPATRIATIONS_PER_DEATH = 2.0
PREVENTION_PER_INTERCEPTION = 0.2
TIPS_PER_INTERCEPTION = 0.15
INVESTIGATED_GROUPS = 0.7
PROSECUTED_INVESTIGATIONS = 0.4
DIED_AFTER_INTERCEPTION = 0.06
PROCEDURAL_DEATHS = 0.02

PLACEMENT_DESTINATIONS = {"MY": 40, "TW": 20, "HK": 16, "SG": 10, "BN": 6, "JP": 4, "KR": 4}
PLACEMENT_SECTORS = {
    "MY": {"PLANTATION": 55, "MANUFACTURING": 20, "CONSTRUCTION": 15, "HOSPITALITY": 10},
    "BN": {"PLANTATION": 40, "CONSTRUCTION": 30, "HOSPITALITY": 30},
    "other": {"DOMESTIC_WORK": 45, "CARE": 20, "MANUFACTURING": 25, "FISHERIES": 10},
}
DEATH_COUNTRIES = {"MY": 94, "SG": 2, "BN": 2, "HK": 1, "SA": 1}
DEATH_CAUSES = {"sakit": 55, "kecelakaan": 12, "kecelakaan_kerja": 10, "kekerasan": 6, "": 17}
REPATRIATION_KINDS = {"DEPORTED": 45, "SICK": 20, "VOLUNTARY": 20, "TRAFFICKING_VICTIM": 15}
PREVENTION_KINDS = {
    "sosialisasi": 50, "SCHOOL_SESSION": 15, "ibadah": 15, "RADIO_BROADCAST": 8,
    "rapat_satgas": 10, "OTHER": 2,
}  # fmt: skip
TIP_CONCERNS = {
    "RECRUITMENT": 35, "akan_berangkat": 30, "orang_hilang": 15, "pemalsuan": 10, "OTHER": 10,
}  # fmt: skip
SUSPECT_STATUSES = {"IDENTIFIED": 40, "dpo": 25, "ditangkap": 35}
COMPANIES = [f"P3MI-{n:03d}" for n in (4, 11, 17, 23, 38, 42, 56, 61, 77, 85, 90, 102)]
VILLAGE_HEADS = ["Oe", "Noe", "Fatu", "Kua", "Nai", "Bena", "Lewo", "Wai", "Mata", "Tobu"]
VILLAGE_TAILS = ["lnasi", "muti", "leu", "nfatu", "koko", "lolo", "rana", "ulu", "mese", "tuka"]
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
TYPED_SEX = {"F": "P", "M": "L"}  # how BP3MI and district clerks type it


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _mean(choices: tuple[list[int], list[int]]) -> float:
    values, weights = choices
    return sum(v * w for v, w in zip(values, weights, strict=True)) / sum(weights)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson count (Knuth's method; a normal approximation for large means)."""
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _local(moment: datetime) -> str:
    """A time as clerks type it: WITA, no zone, to the minute."""
    return moment.astimezone(WITA).strftime("%Y-%m-%d %H:%M")


@dataclass
class SimPerson:
    nik: str
    name: str
    sex: str
    birth: date
    origin: str

    def age_on(self, day: date) -> int:
        return (
            day.year - self.birth.year - ((day.month, day.day) < (self.birth.month, self.birth.day))
        )


@dataclass
class Occasion:
    """People intercepted together: one group (or one person) at one post."""

    post: str
    moment: datetime
    recruiter: str
    destination: str
    members: list[tuple[SimPerson, dict[str, str]]]


@dataclass
class Simulator:
    seed: int = 2026
    start: date = date(2025, 8, 1)
    months: int = 6
    # Multiplies the daily number of groups intercepted (1.0: a realistic two posts).
    scale: float = 1.0
    recruiters: int = 40
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._serials: dict[str, int] = {}
        self._recruiter_weights: list[float] | None = None
        self._recruiter_phones = [
            f"08{self.rng.randint(11, 59)}{self.rng.randint(10_000_000, 99_999_999)}"
            for _ in range(self.recruiters)
        ]

    @property
    def days(self) -> int:
        return self.months * 30

    def people_per_day(self) -> float:
        """The expected number of people intercepted per day, the base of every proportion."""
        return _mean(GROUP_DRAWS) * self.scale * _mean(GROUP_SIZES)

    def person(self, at: date) -> SimPerson:
        rng = self.rng
        sex = "F" if rng.random() < 0.56 else "M"
        age = rng.choices([rng.randint(15, 17), rng.randint(18, 45)], weights=[8, 92])[0]
        return self.person_aged(at, sex, age)

    def person_aged(self, at: date, sex: str, age: int) -> SimPerson:
        """A new person of this sex and age on ``at``, with a NIK no one else has."""
        rng = self.rng
        birth = at - timedelta(days=365 * age + rng.randint(0, 364))
        origin = _pick(rng, ORIGIN_WEIGHTS)
        district = f"{origin}{rng.randint(1, 30):02d}"
        day = birth.day + (40 if sex == "F" else 0)
        stem = f"{district}{day:02d}{birth.month:02d}{birth.year % 100:02d}"
        self._serials[stem] = self._serials.get(stem, 0) + 1
        nik = f"{stem}{self._serials[stem]:04d}"
        given = rng.choice(GIVEN_F if sex == "F" else GIVEN_M)
        return SimPerson(nik, f"{given} {rng.choice(FAMILY)}", sex, birth, origin)

    def _recruiter(self) -> str:
        # A few recruiters (calo) are behind many groups: a Zipf-like pick (s = 1.1; of 40,
        # the busiest recruits about a quarter). One random draw, as before.
        if self._recruiter_weights is None:
            total = 0.0
            weights = []
            for rank in range(1, self.recruiters + 1):
                total += rank**-1.1
                weights.append(total)
            self._recruiter_weights = weights
        return self.rng.choices(self._recruiter_phones, cum_weights=self._recruiter_weights)[0]

    def _groups_today(self) -> int:
        whole, part = divmod(self.scale, 1)
        draws = int(whole) + (1 if self.rng.random() < part else 0)
        values, weights = GROUP_DRAWS
        return sum(self.rng.choices(values, weights=weights)[0] for _ in range(draws))

    def interceptions(self) -> Iterator[tuple[str, dict[str, str]]]:
        """(post id, raw CSV row), day by day."""
        for occasion in self.occasions():
            for _person, row in occasion.members:
                yield occasion.post, row

    def occasions(self) -> Iterator[Occasion]:
        """The groups intercepted, day by day, with who was in them."""
        rng = self.rng
        seen: list[SimPerson] = []
        group_no = 0
        for offset in range(self.days):
            day = self.start + timedelta(days=offset)
            for _ in range(self._groups_today()):
                post = _pick(rng, POSTS)
                sizes, weights = GROUP_SIZES
                size = rng.choices(sizes, weights=weights)[0]
                group_no += 1
                group = f"{post.upper()}-{day:%Y%m%d}-{group_no:04d}" if size > 1 else ""
                recruiter = self._recruiter() if rng.random() < 0.7 else ""
                moment = datetime.combine(day, datetime.min.time(), WITA) + timedelta(
                    hours=rng.randint(6, 21), minutes=rng.randint(0, 59)
                )
                destination = _pick(rng, DESTINATIONS)
                sector = _pick(rng, SECTORS)
                documents = rng.choice(DOC_PROBLEMS)
                occasion = Occasion(post, moment, recruiter, destination, [])
                earlier = len(seen)  # a repeat is someone from an earlier occasion
                for _member in range(size):
                    again = earlier > 0 and rng.random() < 0.05
                    person = seen[rng.randrange(earlier)] if again else self.person(day)
                    seen.append(person)
                    row = self._row(
                        post, person, moment, destination, sector, documents, recruiter, group
                    )
                    occasion.members.append((person, row))
                yield occasion

    def events_rows(
        self, pseudonymiser: Pseudonymiser | None = None
    ) -> Iterator[tuple[str, str, dict[str, str]]]:
        """Every agency's rows, ``(form name, desk place, raw row)``, in time order.

        Police cite their victims by the cases the hub gave them, which nobody can know
        before the hub has taken the other agencies' records in. Without
        ``pseudonymiser`` (everything published at once: the bench, the fault tests)
        police rows cite recruiters only. With it (the members' shared one) they cite
        victims by ``nik:<pseudonym>`` (or ``weak:``), never to be published as such:
        :func:`sinergi.runtime.cite_hub_cases` turns each into the hub's case once the
        hub knows the person (as an officer copies a case id from an alert).
        Independent of earlier calls on this simulator; its interception rows are those
        of :meth:`interceptions` for the same seed, and the other rows the same with or
        without ``pseudonymiser``.
        """
        fresh = Simulator(
            seed=self.seed,
            start=self.start,
            months=self.months,
            scale=self.scale,
            recruiters=self.recruiters,
        )
        yield from _Agencies(fresh, list(fresh.occasions()), pseudonymiser).rows()

    def _row(
        self,
        post: str,
        person: SimPerson,
        moment: datetime,
        destination: str,
        sector: str,
        documents: list[str],
        recruiter: str,
        group: str,
    ) -> dict[str, str]:
        rng = self.rng
        no_nik = rng.random() < 0.06
        return {
            "occurred_at": moment.astimezone(UTC).isoformat(),
            "nik": "" if no_nik else person.nik,
            "name": person.name if no_nik else "",
            "sex": person.sex,
            "birth_date": person.birth.isoformat() if no_nik else "",
            "origin_regency": person.origin,
            "destination_country": destination,
            "sector": sector,
            "exit_point": post,
            "route": rng.choice(ROUTES[post]),
            "documents": ";".join(documents),
            "recruiter": recruiter,
            "group_ref": group,
            "outcome": _pick(rng, OUTCOMES),
            "officer": f"{post[:3].upper()}-{rng.randint(1, 12):02d}",
        }


@dataclass
class _Placed:
    moment: datetime
    person: SimPerson
    country: str


_Item = tuple[datetime, int, str, str, dict[str, str]]


class _Agencies:
    """Everyone else's rows, around the interceptions already drawn (see the docstring)."""

    def __init__(
        self, sim: Simulator, occasions: Sequence[Occasion], pseudonymiser: Pseudonymiser | None
    ) -> None:
        self.sim = sim
        self.rng = sim.rng
        # Its own draws, so that the other agencies' rows stay those of the same seed.
        self.underage_rng = random.Random(sim.seed * 7919 + 1)
        self.pseudonymiser = pseudonymiser
        self.occasions = occasions
        self.begin = datetime.combine(sim.start, time(), WITA)
        self.end = self.begin + timedelta(days=sim.days)
        self.rate = sim.people_per_day()
        self.items: list[_Item] = []
        self.placed: list[_Placed] = []
        # People sent home or released, by time: who may try again (and be placed, or die).
        self.returnees = [
            (o.moment, person, o.destination)
            for o in occasions
            for person, row in o.members
            if row["outcome"] in ("SENT_HOME", "RELEASED")
        ]
        self._returnee_moments = [moment for moment, _person, _country in self.returnees]
        self._last_intercepted = {
            person.nik: o.moment for o in occasions for person, _row in o.members
        }
        self._placed_moments: list[datetime] = []
        self._reused: set[str] = set()
        self._reporters: list[str] = []

    def rows(self) -> Iterator[tuple[str, str, dict[str, str]]]:
        for occasion in self.occasions:
            for _person, row in occasion.members:
                self._add(occasion.moment, "interception", occasion.post, row)
        self._placements()
        self._deaths()
        self._other_repatriations()
        self._prevention()
        self._tips()
        self._police()
        self.items.sort(key=lambda item: (item[0], item[1]))
        for _moment, _seq, form, place, row in self.items:
            yield form, place, row

    # --- helpers ---------------------------------------------------------------------

    def _add(self, moment: datetime, form: str, place: str, fields: dict[str, str]) -> bool:
        """Keep a row if it falls inside the simulated period."""
        if not self.begin <= moment < self.end:
            return False
        row = fields if "occurred_at" in fields else {"occurred_at": _local(moment), **fields}
        self.items.append((moment, len(self.items), form, place, row))
        return True

    def _moment(self, day: date, first_hour: int = 8, last_hour: int = 15) -> datetime:
        hours = self.rng.randint(first_hour, last_hour)
        return datetime.combine(day, time(), WITA) + timedelta(
            hours=hours, minutes=self.rng.randint(0, 59)
        )

    def _some_day(self) -> date:
        return self.sim.start + timedelta(days=self.rng.randrange(self.sim.days))

    def _after(self, moment: datetime, low: int, high: int) -> datetime:
        """Some working-hours moment ``low``-``high`` days after ``moment``."""
        day = moment.astimezone(WITA).date() + timedelta(days=self.rng.randint(low, high))
        return self._moment(day)

    def _adult(self, at: date, low: int, high: int, women: float) -> SimPerson:
        sex = "F" if self.rng.random() < women else "M"
        return self.sim.person_aged(at, sex, self.rng.randint(low, high))

    def _earlier_returnee(self, before: datetime) -> tuple[SimPerson, str] | None:
        """Someone sent home before ``before``, not yet placed, dead or returned, or None."""
        count = bisect.bisect_left(self._returnee_moments, before)
        if count == 0:
            return None
        _moment, person, destination = self.returnees[self.rng.randrange(count)]
        if person.nik in self._reused or person.age_on(before.date()) < 18:
            return None
        self._reused.add(person.nik)
        return person, destination

    def _earlier_placed(self, before: datetime) -> _Placed | None:
        """Someone placed before ``before`` who has not come back yet, or None."""
        count = bisect.bisect_left(self._placed_moments, before)
        if count == 0:
            return None
        placed = self.placed[self.rng.randrange(count)]
        if placed.person.nik in self._reused:
            return None
        self._reused.add(placed.person.nik)  # one return per person: the dead stay dead
        return placed

    @staticmethod
    def _identity(person: SimPerson) -> dict[str, str]:
        return {
            "nik": person.nik,
            "sex": TYPED_SEX[person.sex],
            "origin_regency": person.origin,
        }

    @staticmethod
    def _case_id(pseudonymiser: Pseudonymiser, row: dict[str, str]) -> str:
        """How a police row cites an interception row's person before the hub's case is
        known: the pseudonym, strong or weak (see :meth:`events_rows`)."""
        if row["nik"]:
            return "nik:" + pseudonymiser.nik(normalise_nik(row["nik"]))
        born = date.fromisoformat(row["birth_date"])
        return "weak:" + pseudonymiser.weak(row["name"], born, row["origin_regency"])

    # --- BP3MI and the districts' LTSA offices ------------------------------------------

    def _placements(self) -> None:
        """Placements through the period; each registered at the LTSA 30-90 days before."""
        rate = self.rate * PLACEMENTS_PER_INTERCEPTION
        for offset in range(self.sim.days + 90):
            day = self.sim.start + timedelta(days=offset)
            for _ in range(_poisson(self.rng, rate)):
                self._placement(self._moment(day))
        dropouts = rate * (LTSA_PER_PLACEMENT - 1)
        for offset in range(self.sim.days):
            day = self.sim.start + timedelta(days=offset)
            for _ in range(_poisson(self.rng, dropouts)):
                # A few candidates are under the legal age for migrant work (18): age
                # falsification is a known trafficking method; their NIK tells the truth.
                young = self.underage_rng.random() < UNDERAGE_CANDIDATES
                person = self._adult(day, 16, 17, 0.7) if young else self._adult(day, 19, 40, 0.6)
                country = _pick(self.rng, PLACEMENT_DESTINATIONS)
                self._ltsa(self._moment(day), person, country, self._sector(country))
        self.placed.sort(key=lambda p: p.moment)
        self._placed_moments = [p.moment for p in self.placed]

    def _placement(self, moment: datetime) -> None:
        reused = None
        if self.rng.random() < 0.03:  # someone sent home earlier now goes procedurally
            reused = self._earlier_returnee(moment - timedelta(days=60))
        person = reused[0] if reused else self._adult(moment.date(), 19, 40, 0.6)
        country = _pick(self.rng, PLACEMENT_DESTINATIONS)
        sector = self._sector(country)
        registered = moment.astimezone(WITA).date() - timedelta(days=self.rng.randint(30, 90))
        self._ltsa(self._moment(registered), person, country, sector)
        fields = {
            **self._identity(person),
            "destination_country": country,
            "sector": sector,
            "placement_company": self.rng.choice(COMPANIES),
        }
        if self._add(moment, "placement", "ntt", fields):
            self.placed.append(_Placed(moment, person, country))

    def _sector(self, country: str) -> str:
        return _pick(self.rng, PLACEMENT_SECTORS.get(country, PLACEMENT_SECTORS["other"]))

    def _ltsa(self, moment: datetime, person: SimPerson, country: str, sector: str) -> None:
        fields = {
            **self._identity(person),
            "intended_country": country,
            "intended_sector": sector,
        }
        self._add(moment, "ltsa", person.origin, fields)

    def _deaths(self) -> None:
        total = _poisson(self.rng, self.rate * DEATHS_PER_INTERCEPTION * self.sim.days)
        linked = self._deaths_after_interception()
        procedural = sum(self.rng.random() < PROCEDURAL_DEATHS for _ in range(total))
        for _ in range(procedural):
            moment = self._moment(self._some_day())
            placed = self._earlier_placed(moment - timedelta(days=30))
            if placed is not None:
                self._death(moment, placed.person, placed.country, "ya", with_nik=True)
        for _ in range(max(0, total - linked - procedural)):
            day = self._some_day()
            person = self._adult(day, 20, 50, 0.5)
            country = _pick(self.rng, DEATH_COUNTRIES)
            with_nik = self.rng.random() < 0.85
            self._death(self._moment(day), person, country, "tidak", with_nik=with_nik)

    def _deaths_after_interception(self) -> int:
        """Some people sent home try again, and die abroad: the hub should notice."""
        count = 0
        for moment, person, destination in self.returnees:
            if person.nik in self._reused or self.rng.random() >= DIED_AFTER_INTERCEPTION:
                continue
            died = self._after(moment, 20, 120)
            if died <= self._last_intercepted[person.nik]:
                continue  # intercepted again after that: not this one
            self._reused.add(person.nik)
            count += self._death(died, person, destination, "NON_PROCEDURAL", with_nik=True)
        return count

    def _death(
        self, moment: datetime, person: SimPerson, country: str, procedural: str, *, with_nik: bool
    ) -> bool:
        if with_nik:
            who = self._identity(person)
        else:  # a body without papers: named by the family, age estimated
            age = person.age_on(moment.date()) + self.rng.randint(-2, 2)
            who = {
                "name": person.name,
                "estimated_age": str(age),
                "sex": person.sex,
                "origin_regency": person.origin,
            }
        fields = {
            **who,
            "kind": self.rng.choice(["jenazah", "DECEASED", "meninggal"]),
            "country": country,
            "procedural": procedural,
            "cause": _pick(self.rng, DEATH_CAUSES),
            "arrival_point": "eltari" if self.rng.random() < 0.85 else "tenau",
        }
        return self._add(moment, "repatriation", "ntt", fields)

    def _other_repatriations(self) -> None:
        mean = self.rate * DEATHS_PER_INTERCEPTION * OTHER_REPATRIATIONS_PER_DEATH
        for _ in range(_poisson(self.rng, mean * self.sim.days)):
            moment = self._moment(self._some_day())
            kind = _pick(self.rng, REPATRIATION_KINDS)
            draw = self.rng.random()
            placed = self._earlier_placed(moment - timedelta(days=60)) if draw < 0.08 else None
            earlier = self._earlier_returnee(moment) if 0.08 <= draw < 0.12 else None
            if placed is not None:
                person, country, procedural = placed.person, placed.country, "PROCEDURAL"
            elif earlier is not None:
                person, country, procedural = earlier[0], earlier[1], "NON_PROCEDURAL"
            else:
                person = self._adult(moment.date(), 18, 45, 0.55)
                country = _pick(self.rng, DEATH_COUNTRIES)
                procedural = "no" if self.rng.random() < 0.9 else "unknown"
            cause = ""
            if kind == "SICK":
                cause = "ILLNESS"
            elif kind == "TRAFFICKING_VICTIM" and self.rng.random() < 0.3:
                cause = "VIOLENCE"
            fields = {
                **self._identity(person),
                "kind": kind,
                "country": country,
                "procedural": procedural,
                "cause": cause,
                "arrival_point": "eltari" if self.rng.random() < 0.7 else "tenau",
            }
            self._add(moment, "repatriation", "ntt", fields)

    # --- districts' prevention -------------------------------------------------------

    def _prevention(self) -> None:
        for offset in range(self.sim.days):
            day = self.sim.start + timedelta(days=offset)
            for _ in range(_poisson(self.rng, self.rate * PREVENTION_PER_INTERCEPTION)):
                attendance = self.rng.randint(20, 150)
                women = ""
                if self.rng.random() < 0.7:
                    women = str(round(attendance * self.rng.uniform(0.35, 0.65)))
                fields = {
                    "village": self.rng.choice(VILLAGE_HEADS) + self.rng.choice(VILLAGE_TAILS),
                    "kind": _pick(self.rng, PREVENTION_KINDS),
                    "attendance": str(attendance),
                    "attendance_women": women,
                }
                self._add(
                    self._moment(day, 9, 16), "prevention", _pick(self.rng, ORIGIN_WEIGHTS), fields
                )

    # --- hotline ---------------------------------------------------------------------

    def _tips(self) -> None:
        total = _poisson(self.rng, self.rate * TIPS_PER_INTERCEPTION * self.sim.days)
        linked = (total + 1) // 2
        soon_enough = self.begin + timedelta(days=2)
        eligible = [o for o in self.occasions if o.recruiter and o.moment >= soon_enough]
        tips = [self._tip_before(o) for o in self.rng.sample(eligible, min(linked, len(eligible)))]
        tips += [self._tip_unlinked() for _ in range(total - len(tips))]
        tips.sort(key=lambda tip: tip[0])
        for number, (moment, fields) in enumerate(tips, start=1):
            fields["tip_ref"] = f"SISAGA-{moment.astimezone(WITA):%Y%m}-{number:04d}"
            self._add(moment, "tip", "sisaga", fields)

    def _reporter(self) -> str:
        if self._reporters and self.rng.random() < 0.1:
            return self.rng.choice(self._reporters)
        phone = f"08{self.rng.randint(11, 59)}{self.rng.randint(10_000_000, 99_999_999)}"
        self._reporters.append(phone)
        return phone

    def _tip_before(self, occasion: Occasion) -> tuple[datetime, dict[str, str]]:
        """A tip naming the recruiter of a group intercepted 1-60 days later."""
        days_in = (occasion.moment - self.begin).days
        tipped = occasion.moment - timedelta(
            days=self.rng.randint(1, max(1, min(60, days_in))), hours=self.rng.randint(0, 5)
        )
        departure = occasion.moment.astimezone(WITA).date() + timedelta(
            days=self.rng.randint(-2, 2)
        )
        departure = max(departure, tipped.astimezone(WITA).date())
        member, row = self.rng.choice(occasion.members)
        fields = {
            "reporter": self._reporter(),
            "concern": "akan_berangkat" if self.rng.random() < 0.6 else "RECRUITMENT",
            "regency": member.origin,
            "exit_point": occasion.post,
            "recruiter": occasion.recruiter,
            "expected_departure": departure.isoformat(),
        }
        if self.rng.random() < 0.5:  # the family names who is about to leave
            keys = ("nik",) if row["nik"] else ("name", "birth_date")
            fields.update({k: row[k] for k in (*keys, "sex", "origin_regency")})
        return max(tipped, self.begin), fields

    def _tip_unlinked(self) -> tuple[datetime, dict[str, str]]:
        day = self._some_day()
        fields = {
            "reporter": self._reporter(),
            "concern": _pick(self.rng, TIP_CONCERNS),
            "regency": _pick(self.rng, ORIGIN_WEIGHTS),
        }
        if self.rng.random() < 0.4:
            fields["recruiter"] = self.sim._recruiter()
        if fields["concern"] == "orang_hilang":
            person = self._adult(day, 18, 40, 0.6)
            age = person.age_on(day)
            fields.update(name=person.name, estimated_age=str(age), origin_regency=person.origin)
        return self._moment(day, 0, 23), fields

    # --- police ----------------------------------------------------------------------

    def _police(self) -> None:
        number = 0
        for occasion in self.occasions:
            rows = [row for _person, row in occasion.members]
            if not any(row["outcome"] == "HANDED_TO_POLICE" for row in rows):
                continue
            if self.rng.random() >= INVESTIGATED_GROUPS:
                continue
            opened = self._after(occasion.moment, 1, 14)
            if opened >= self.end:
                continue
            number += 1
            self._investigation(opened, occasion, rows, number)

    def _investigation(
        self, opened: datetime, occasion: Occasion, rows: list[dict[str, str]], number: int
    ) -> None:
        polda = self.rng.random() < 0.6
        unit = "polda-ntt" if polda else "polres-5371"
        local = opened.astimezone(WITA)
        office = "POLDA NTT" if polda else "POLRESTA KUPANG KOTA"
        ref = f"LP/B/{number}/{ROMAN[local.month - 1]}/{local.year}/SPKT/{office}"
        case_ids = (
            list(dict.fromkeys(self._case_id(self.pseudonymiser, row) for row in rows))
            if self.pseudonymiser is not None
            else []
        )
        forged = "FORGED" in rows[0]["documents"]
        offences = {"TPPO": 55, "penempatan_ilegal": 40, "OTHER": 5}
        offence = "pemalsuan" if forged and self.rng.random() < 0.5 else _pick(self.rng, offences)
        cases = {"case_ids": ";".join(case_ids), "recruiters": occasion.recruiter}
        self._add(
            opened, "investigation", unit, {"investigation_ref": ref, "offence": offence, **cases}
        )
        if occasion.recruiter:
            suspect = {
                "investigation_ref": ref,
                "recruiter": occasion.recruiter,
                "role": self.rng.choice(["RECRUITER", "calo"]),
                "suspect_status": _pick(self.rng, SUSPECT_STATUSES),
            }
            self._add(self._after(opened, 3, 30), "suspect", unit, suspect)
        if self.rng.random() < PROSECUTED_INVESTIGATIONS:
            office_code = "kejati-ntt" if self.rng.random() < 0.5 else "kejari-kupang"
            sent = {"investigation_ref": ref, "prosecutor_office": office_code, **cases}
            self._add(self._after(opened, 30, 90), "prosecution", unit, sent)
