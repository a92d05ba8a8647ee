"""What the bench publishes: years of every agency's facts, in time order.

A hub accumulates years of facts, not more facts per day, so the event plan keeps the
simulator's daily volume fixed (about 20,000 events per simulated month: ``scale`` 20,
about twenty times NTT's real two posts) and lets the number of months grow with the
volume: 1,000,000 events are about four years of history, 100,000 about five months.
Each tenth of the backlog is therefore later in time than the one before, and the
recruiters (a fixed, Zipf-weighted population: a few *calo* are behind many groups)
accumulate longer and longer timelines, as they would in a real deployment.

The rows after the backlog (``background``) continue the same history: they are the
traffic published while alert latency is measured, on a ledger already holding the
backlog. Everything here is pure (no Kafka, no database): unit-tested.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from producers.simulate import Simulator

# Simulator(scale=1) gives about 1,000 events a month, every agency together (measured:
# 100,863 events in 5 months at scale 20).
BASE_EVENTS_PER_MONTH = 1_000
EVENTS_PER_MONTH = 20_000
# As many recruiters per interception as at the realistic scale (40 at scale 1).
RECRUITERS_PER_SCALE = 40
# The simulated period runs this many months past what is taken, so that the last
# tenth is not the thinner end of the simulation (facts linked to later ones, such as
# an LTSA registration 30-90 days before a placement, fall outside it there).
SPARE_MONTHS = 2

SimRow = tuple[str, str, dict[str, str]]  # (form name, desk place, raw row)


@dataclass(frozen=True)
class EventPlan:
    backlog: int
    background: int
    today: date
    per_month: int = EVENTS_PER_MONTH
    seed: int = 1

    @property
    def total(self) -> int:
        return self.backlog + self.background

    @property
    def months(self) -> int:
        return math.ceil(self.total / self.per_month) + SPARE_MONTHS

    @property
    def scale(self) -> float:
        return self.per_month / BASE_EVENTS_PER_MONTH

    @property
    def recruiters(self) -> int:
        return max(1, round(RECRUITERS_PER_SCALE * self.scale))

    @property
    def start(self) -> date:
        """The history ends before today: the hub refuses facts that happen after they
        are recorded."""
        return self.today - timedelta(days=30 * self.months + 1)

    def simulator(self) -> Simulator:
        return Simulator(
            seed=self.seed,
            start=self.start,
            months=self.months,
            scale=self.scale,
            recruiters=self.recruiters,
        )

    def rows(self) -> list[SimRow]:
        """The first ``total`` rows of the history, in time order (the backlog first)."""
        out: list[SimRow] = []
        for item in self.simulator().events_rows():
            out.append(item)
            if len(out) >= self.total:
                break
        return out

    def describe(self) -> str:
        years = self.months * 30 / 365
        return (
            f"{self.total:,} events ({self.backlog:,} backlog + {self.background:,}"
            f" background): {self.months} simulated months (~{years:.1f} years) from"
            f" {self.start}, scale {self.scale:g}, {self.recruiters} Zipf-weighted recruiters"
        )


def chunks(rows: Sequence[SimRow], size: int) -> Iterator[tuple[int, list[SimRow]]]:
    """Consecutive slices of ``rows`` (numbered), as the publishing processes take them."""
    for index, begin in enumerate(range(0, len(rows), size)):
        yield index, list(rows[begin : begin + size])


def day_of(row: dict[str, str]) -> date:
    """The day a raw row happened (clerks' formats: ISO with a zone, or WITA local)."""
    return date.fromisoformat(row["occurred_at"][:10])


# --- rows for the other measurements --------------------------------------------------


def minor_interceptions(count: int, now: datetime) -> list[dict[str, str]]:
    """Interception rows of fresh 16-year-olds, each one MINOR_INTERCEPTED alert and
    nothing else (no recruiter, no group). Their NIKs use serial numbers from 9001, which
    the simulator never reaches (it counts per district and birth date from 1)."""
    rows = []
    for n in range(count):
        born = now.date() - timedelta(days=16 * 365 + 30 + n % 365)
        serial = 9001 + n // 365
        nik = f"530201{born.day + 40:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"
        rows.append(
            {
                "occurred_at": (now - timedelta(hours=1)).astimezone(UTC).isoformat(),
                "nik": nik,
                "sex": "F",
                "origin_regency": "5302",
                "destination_country": "MY",
                "sector": "DOMESTIC_WORK",
                "exit_point": "eltari",
                "route": "direct-flight",
                "documents": "NO_WORK_VISA;NOT_REGISTERED",
                "outcome": "SENT_HOME",
                "officer": "ELT-01",
            }
        )
    return rows


def post_rows(
    count: int, today: date, *, post: str = "eltari", seed: int = 5
) -> list[dict[str, str]]:
    """``count`` interception rows of one post, as its clerks would type a CSV file: the
    simulator's, over six months before ``today`` (dense enough to give ``count``)."""
    months = 6
    per_day_at_scale_1 = Simulator(months=1).people_per_day()
    share = 0.6 if post == "eltari" else 0.4
    scale = math.ceil(count / share / (months * 30) / per_day_at_scale_1 * 1.2)
    sim = Simulator(
        seed=seed,
        start=today - timedelta(days=30 * months + 1),
        months=months,
        scale=scale,
        recruiters=RECRUITERS_PER_SCALE * scale,
    )
    rows = []
    for at, row in sim.interceptions():
        if at == post:
            rows.append(row)
            if len(rows) >= count:
                break
    return rows
