"""A recruiter is counted forward: a batch loads only the recruiter's facts within the
rules' reach of its new ones, so its cost does not grow with the recruiter's history,
and the ledger and the alerts are still those of one batch of everything."""

from __future__ import annotations

from processors.ledger import Kind, Recruiter, Ref
from schemas.model import AlertRule
from sinks.memory import MemoryUnitOfWork
from tests.factories import interception, recruiter, tip
from tests.unit.memory_hub import memory_hub

DAY = 24 * 60


def years_of_one_recruiter(days: int = 730):
    """One interception a day linked to the same recruiter, a tip every 50 days."""
    events = [interception(n, minutes=n * DAY, recruiter_ref=recruiter(1)) for n in range(days)]
    events += [tip(minutes=n * DAY - 3 * DAY, recruiter_n=1) for n in range(50, days, 50)]
    return sorted(events, key=lambda e: (e.occurred_at, e.event_id))


def test_a_batch_loads_only_the_recruiters_facts_within_reach(monkeypatch):
    loaded: list[int] = []
    real = MemoryUnitOfWork.recruiter_facts

    def counting(self, ranges):
        found = real(self, ranges)
        loaded.append(sum(len(v) for v in found.values()))
        return found

    monkeypatch.setattr(MemoryUnitOfWork, "recruiter_facts", counting)
    hub = memory_hub()
    events = years_of_one_recruiter()
    for start in range(0, len(events), 20):  # batches of about three weeks, in time order
        hub.send(*events[start : start + 20])
    recruiter_state = hub.store.entities[Ref(Kind.RECRUITER, recruiter(1))]
    assert isinstance(recruiter_state, Recruiter)
    assert (recruiter_state.people, recruiter_state.interceptions) == (730, 730)
    # The reach is 60 days each way: about 140 days of facts, never the whole history.
    assert max(loaded) < 200 and loaded[-1] < 200


def test_counting_forward_gives_what_one_batch_of_everything_gives():
    events = years_of_one_recruiter(400)
    whole = memory_hub()
    whole.send(*events)
    forward = memory_hub()
    # In time order, then a late batch from long ago (an earlier window, an earlier tip).
    late = [e for e in events if e.occurred_at < events[0].occurred_at.replace(day=25)]
    rest = [e for e in events if e not in late]
    for start in range(0, len(rest), 15):
        forward.send(*rest[start : start + 15])
    forward.send(*late)
    assert forward.ledger() == whole.ledger()
    assert forward.holding() == whole.holding()
    assert forward.metrics() == whole.metrics()
    network = [a for a in whole.holding().values() if a.rule is AlertRule.RECRUITER_NETWORK]
    assert len(network) == 1 and network[0].since == events[0].occurred_at
