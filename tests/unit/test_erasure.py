"""Erasure's decisions without a database: reasons are codes and RETENTION is the policy's,
the retention policy is read strictly (every agency record type named, an unknown type or
period refused in one sentence), a later moment is never applied, and the PersonErased the
hub publishes keeps its schema, its topic and its key. (The commands on the real stack:
tests/integration/test_erasure_cli.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from processors.vault import Subject
from schemas.model import AMENDABLE, PersonErased
from schemas.serde import EventDeserializer, EventSerializer
from schemas.topics import CASES, topic_of
from sinergi import erasure
from sinergi.erasure import ErasureError
from sinks.erasure import Request
from tests.unit.fakes import MemoryRegistry

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ALL_NAMED = "\n".join(f"{cls.event_type}: no-person" for cls in AMENDABLE)


def policy_with(**lines: str) -> str:
    """The full policy with these lines changed (type -> period)."""
    rows = [f"{cls.event_type}: {lines.get(cls.event_type, 'no-person')}" for cls in AMENDABLE]
    return "# a comment\n\n" + "\n".join(rows) + "\n"


def test_the_shipped_policy_reads_and_keeps_the_people_of_every_agency_record():
    policy = erasure.load_policy()
    assert policy.keep_for["InterceptionRecorded"] == 10 * erasure.YEAR
    assert policy.keep_for["TipReceived"] == 2 * erasure.YEAR
    assert "PreventionActivityHeld" in policy.no_person
    named = set(policy.keep_for) | policy.forever | policy.no_person
    assert named == {cls.event_type for cls in AMENDABLE}
    assert len(policy.digest) == 64


def test_periods_in_years_days_forever_or_no_person():
    policy = erasure.parse_policy(
        policy_with(
            TipReceived="730d",
            InterceptionRecorded="12y  # KUHP Pasal 78",
            PlacementRegistered="forever",
        )
    )
    assert policy.keep_for == {"TipReceived": timedelta(days=730),
                               "InterceptionRecorded": 12 * erasure.YEAR}  # fmt: skip
    assert policy.forever == {"PlacementRegistered"}
    # The digest names exactly the text that decided.
    assert policy.digest != erasure.parse_policy(policy_with(TipReceived="731d")).digest


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        (ALL_NAMED + "\nTipRecieved: 2y", "line 11: TipRecieved is not an event type"),
        (policy_with(TipReceived="2 years"), "TipReceived's period is <n>y, <n>d, forever or"),
        (policy_with(TipReceived="0y"), "TipReceived's period is"),
        (policy_with(TipReceived="-2y"), "TipReceived's period is"),
        (ALL_NAMED + "\nTipReceived: 2y", "TipReceived is named twice"),
        ("TipReceived: 2y\n", "does not say how long to keep AlertAcknowledged"),
        (ALL_NAMED + "\n  nested: 1y", "each line is `EventType: period`"),
        (ALL_NAMED + "\n- TipReceived", "each line is `EventType: period`"),
    ],
)
def test_a_policy_that_cannot_be_trusted_is_refused_in_one_sentence(text: str, sentence: str):
    with pytest.raises(ErasureError, match=r"^retention\.yaml") as refused:
        erasure.parse_policy(text, "retention.yaml")
    assert sentence in str(refused.value) and "\n" not in str(refused.value)


def test_an_unreadable_policy_file_is_one_sentence(tmp_path):
    with pytest.raises(ErasureError, match="cannot be read"):
        erasure.load_policy(tmp_path / "missing.yaml")


def test_reasons_are_codes_and_retention_is_the_policys():
    assert erasure.reason_code(" subject_request ") == "SUBJECT_REQUEST"
    for code in erasure.ASKED_REASONS:
        assert erasure.reason_code(code) == code
    with pytest.raises(ErasureError, match="person retention --apply"):
        erasure.reason_code("retention")
    with pytest.raises(ErasureError, match="--reason is one of SUBJECT_REQUEST"):
        erasure.reason_code("she asked nicely")


def test_a_withdrawal_gives_a_code():
    assert erasure.withdrawal_code(" legal_hold ") == "LEGAL_HOLD"
    for code in erasure.WITHDRAWAL_REASONS:
        assert erasure.withdrawal_code(code) == code
    with pytest.raises(ErasureError, match="--reason is one of MISTAKEN, DUPLICATE"):
        erasure.withdrawal_code("SUBJECT_REQUEST")


def test_a_later_moment_may_be_looked_at_never_applied():
    erasure.check_moment(NOW + timedelta(days=1), NOW, applying=False)
    erasure.check_moment(NOW - timedelta(days=1), NOW, applying=True)
    with pytest.raises(ErasureError, match="erase people early"):
        erasure.check_moment(NOW + timedelta(days=1), NOW, applying=True)


def test_person_erased_goes_to_hub_cases_keyed_by_case_and_round_trips():
    case_id = Subject("a" * 32, "nik").case_id
    asked = Request("9f1c2d3e-0000-4000-8000-000000000001", NOW, case_id, "COURT_ORDER",
                    "admin-a")  # fmt: skip
    event = erasure.person_erased(asked, "admin-b", 3, unit="hub-processor", now=NOW)
    assert topic_of(event) is CASES and event.partition_key() == case_id
    # Confirmed again after a crash: the same announcement, readers see one.
    again = erasure.person_erased(asked, "admin-b", 3, unit="hub-processor", now=NOW)
    assert event.event_id == again.event_id == erasure.erasure_event_id(asked.request_id)
    registry = MemoryRegistry()
    wire = EventSerializer(registry, register=True)("t.hub.cases", event)
    decoded = EventDeserializer(registry)(wire).event
    assert decoded == event and isinstance(decoded, PersonErased)


def test_an_unknown_reason_does_not_encode():
    asked = Request("9f1c2d3e-0000-4000-8000-000000000002", NOW, "nik:" + "b" * 32, "WHIM", "a")
    event = erasure.person_erased(asked, "b", 0, unit="hub-processor", now=NOW)
    with pytest.raises(Exception, match="PersonErased does not match its schema"):
        EventSerializer(MemoryRegistry(), register=True)("t.hub.cases", event)


def test_a_projection_sharing_another_databases_vault_refuses_to_erase(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from sinergi import cli

    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SINERGI_DATABASE", "replica")
    monkeypatch.setenv("SINERGI_VAULT_DATABASE", "sinergi")
    done = CliRunner().invoke(cli.app, ["--lang", "en", "person", "erase", "--list"])
    assert done.exit_code != 0
    assert "erase on the deployment that holds it" in " ".join(done.output.split())
