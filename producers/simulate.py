"""Realistic, reproducible demo data: what the posts would type over some months.

Proportions follow ../shared/CONTEXT.md (Malaysia the overwhelming destination,
El Tari and Tenau the active posts, recruiters behind groups, some people
intercepted twice, some minors). The rows are raw, as an officer enters them:
made-up NIKs and names, which the producers then validate and pseudonymise like
any real input. Same seed, same rows.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from producers.fields import WITA

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
    "Maria",
    "Yuliana",
    "Florentina",
    "Agustina",
    "Yohana",
    "Martha",
    "Selvi",
    "Ina",
    "Novita",
    "Melania",
    "Oktovina",
    "Desi",
    "Sarlota",
    "Ferderika",
    "Yunita",
]
GIVEN_M = [
    "Yohanes",
    "Agustinus",
    "Fransiskus",
    "Marthen",
    "Yakobus",
    "Petrus",
    "Aris",
    "Yosef",
    "Simon",
    "Benediktus",
    "Obed",
    "Daniel",
    "Kornelis",
    "Nikolaus",
]
FAMILY = [
    "Nenobais",
    "Tefa",
    "Taneo",
    "Benu",
    "Lake",
    "Bria",
    "Seran",
    "Mau",
    "Kolo",
    "Nahak",
    "Tallo",
    "Lado",
    "Kaka",
    "Ndun",
    "Manafe",
    "Sabu",
    "Riwu",
    "Bani",
    "Boimau",
    "Nope",
]


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass
class SimPerson:
    nik: str
    name: str
    sex: str
    birth: date
    origin: str


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
        self._recruiter_phones = [
            f"08{self.rng.randint(11, 59)}{self.rng.randint(10_000_000, 99_999_999)}"
            for _ in range(self.recruiters)
        ]

    def person(self, at: date) -> SimPerson:
        rng = self.rng
        sex = "F" if rng.random() < 0.56 else "M"
        age = rng.choices([rng.randint(15, 17), rng.randint(18, 45)], weights=[8, 92])[0]
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
        # A few recruiters (calo) are behind most groups: a skewed pick.
        index = min(int(self.rng.paretovariate(1.2)) - 1, self.recruiters - 1)
        return self._recruiter_phones[index]

    def _groups_today(self) -> int:
        whole, part = divmod(self.scale, 1)
        draws = int(whole) + (1 if self.rng.random() < part else 0)
        weights = [35, 35, 20, 10]
        return sum(self.rng.choices([0, 1, 2, 3], weights=weights)[0] for _ in range(draws))

    def interceptions(self) -> Iterator[tuple[str, dict[str, str]]]:
        """(post id, raw CSV row) in time order."""
        rng = self.rng
        days = self.months * 30
        seen: list[SimPerson] = []
        group_no = 0
        for offset in range(days):
            day = self.start + timedelta(days=offset)
            for _ in range(self._groups_today()):
                post = _pick(rng, POSTS)
                size = rng.choices([1, 2, 3, 4, 5, 6, 8], weights=[40, 20, 12, 10, 8, 6, 4])[0]
                group_no += 1
                group = f"{post.upper()}-{day:%Y%m%d}-{group_no:04d}" if size > 1 else ""
                recruiter = self._recruiter() if rng.random() < 0.7 else ""
                moment = datetime.combine(day, datetime.min.time(), WITA) + timedelta(
                    hours=rng.randint(6, 21), minutes=rng.randint(0, 59)
                )
                destination = _pick(rng, DESTINATIONS)
                sector = _pick(rng, SECTORS)
                documents = rng.choice(DOC_PROBLEMS)
                earlier = len(seen)  # a repeat is someone from an earlier occasion
                for _member in range(size):
                    again = earlier > 0 and rng.random() < 0.05
                    person = seen[rng.randrange(earlier)] if again else self.person(day)
                    seen.append(person)
                    yield (
                        post,
                        self._row(
                            post, person, moment, destination, sector, documents, recruiter, group
                        ),
                    )

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
