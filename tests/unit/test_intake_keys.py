"""The hub's intake keys: made with the directory, rotated, retired (issue 11)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.person_seal import INTAKE_ROLE, key_id, open_person, seal_person
from sinergi import bootstrap, members
from sinergi.config import from_env
from sinergi.members import MemberError
from tests.factories import interception


@pytest.fixture
def hub_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
    return from_env()


def test_rotating_gives_desks_a_new_key_and_retiring_the_old_one_stops_it_opening(hub_home):
    first = members.rotate_intake_key(hub_home)
    directory = members.read_directory(hub_home)
    assert key_id(directory.sealing_keys[INTAKE_ROLE]) == first
    event = interception(1)
    sealed = seal_person(event.person, event.event_id, event.occurred_at.date(),
                         directory.sealing_keys[INTAKE_ROLE])  # fmt: skip
    opener = bootstrap.IntakeKeys(hub_home, recheck_s=0)
    assert open_person(sealed.sealed or "", event.event_id, opener).nik_pseudonym

    second = members.rotate_intake_key(hub_home)
    assert second != first
    assert members.intake_keys(hub_home) == sorted([(first, False), (second, True)])
    with pytest.raises(MemberError, match="current"):
        members.retire_intake_key(hub_home, second)
    with pytest.raises(MemberError, match="no intake key"):
        members.retire_intake_key(hub_home, "../../x")
    members.retire_intake_key(hub_home, first)
    assert members.intake_keys(hub_home) == [(second, True)]
    assert opener(first) is None  # the running processor lets go of it too
    assert not (hub_home.intake_keys_dir / f"{first}.key").exists()


def test_a_key_file_lost_from_the_hub_gets_a_new_current_key_on_the_next_setup(hub_home):
    kid = members.rotate_intake_key(hub_home)
    (hub_home.intake_keys_dir / f"{kid}.key").unlink()
    directory = members._with_intake_key(hub_home, members.read_directory(hub_home))
    assert key_id(directory.sealing_keys[INTAKE_ROLE]) != kid


def test_a_key_is_retired_only_once_the_hub_has_taken_in_what_was_sealed_to_it(hub_home):
    members.rotate_intake_key(hub_home)
    since = members.current_intake_since(hub_home)
    assert since is not None
    week = timedelta(days=7)
    # Messages the processor has not consumed yet may be sealed to it.
    waiting = members.retirement_refusal("0123abcd", since, since + 2 * week, week, 3)
    assert waiting is not None and "has not yet taken in 3 message(s)" in waiting
    # A desk offline when it was rotated out may still hold records sealed to it.
    young = members.retirement_refusal("0123abcd", since, since + timedelta(days=2), week, 0)
    assert young is not None and "less than 7 day(s) ago" in young
    assert members.retirement_refusal("0123abcd", since, since + week, week, 0) is None
    assert members.retirement_refusal("0123abcd", since, since, timedelta(0), 0) is None
