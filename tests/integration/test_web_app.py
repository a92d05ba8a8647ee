"""The browser application on the real stack, in process (Starlette's test client):
officers in PostgreSQL with their lockout, a CSV upload checked first then published
through the desk with its receipt and refused rows, and the officers' commands."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import psycopg
from starlette.testclient import TestClient

from sinergi import bootstrap
from sinergi.web.app import create_app
from sinergi.web.officers import (
    DEVICE_COOKIE,
    LoginRefusedError,
    add_officer,
    device_digest,
    hash_password,
    login,
)
from tests.integration.hub import Hub
from tests.web_pages import csrf_of

PASSWORD = "an integration test password"
# The command line with the browser application's commands (sinergi.cli loads them too).
ENTRY = "import sinergi.cli_web; from sinergi.cli import app; app()"
HEADER = "occurred_at,nik,sex,origin_regency,destination_country,outcome"
ROWS = [
    "2026-01-20T08:30,5302014101900001,P,5302,MY,SENT_HOME",
    "2026-01-20T08:35,5302015203850002,P,5302,MY,dipulangkan",
    "2026-01-20T08:40,53020141019,P,5302,MY,SENT_HOME",  # a NIK too short
    "2026-01-20T08:45,5304011507880003,L,Belu,Malaysia,HANDED_TO_POLICE",
]


def web(hub: Hub) -> TestClient:
    bootstrap.ensure_web_role(hub.settings)
    services = bootstrap.web_services(hub.settings)
    add_officer(services.officers, "eltari", "post-eltari", "ELT-07", PASSWORD)
    return TestClient(create_app(services), follow_redirects=False)


def log_in(client: TestClient, password: str = PASSWORD) -> int:
    token = csrf_of(client.get("/login").text)
    data = {"username": "eltari", "password": password, "csrf_token": token}
    return client.post("/login", data=data).status_code


def test_repeated_failures_lock_an_officer_out_in_postgresql(hub: Hub) -> None:
    client = web(hub)
    for _ in range(hub.settings.web_lockout_failures):
        assert log_in(client, "not the password at all") == 401
    assert log_in(client) == 401  # the right password, locked out
    (locked,) = hub.query("SELECT locked_until IS NOT NULL FROM officers")[0]
    assert locked
    outcomes = hub.query("SELECT outcome, detail FROM web_audit WHERE action = 'login'")
    assert ("refused", "locked out") in outcomes
    assert all(PASSWORD not in str(row) for row in hub.query("SELECT * FROM web_audit"))
    # The lock ends by itself: once its time has passed, the right password lets them in.
    with psycopg.connect(bootstrap.conninfo(hub.settings, "sinergi_owner")) as conn:
        conn.execute("UPDATE officers SET locked_until = now() - interval '1 second'")
    assert log_in(client) == 303
    (failures,) = hub.query("SELECT failed_logins FROM officers")[0]
    assert failures == 0


def guessed_together(services: Any, guesses: int, device: str | None = None) -> Counter[str]:
    """How ``guesses`` wrong passwords for eltari, sent at once (from the browser whose
    token is ``device``), were answered: ``invalid`` or ``locked``."""
    at = datetime.now(UTC)

    def guess(n: int) -> str:
        try:
            login(services.officers, "eltari", f"guess number {n}", services.policy, at, device)
        except LoginRefusedError as refused:
            return refused.reason
        return "ok"

    with ThreadPoolExecutor(max_workers=12) as pool:
        return Counter(pool.map(guess, range(guesses)))


def test_log_ins_sent_together_get_no_more_password_checks_than_the_lockout_allows(
    hub: Hub,
) -> None:
    client = web(hub)  # the role, and the officer eltari
    services = bootstrap.web_services(hub.settings)
    policy = services.policy
    reasons = guessed_together(services, 3 * policy.failures)
    # Each attempt was claimed in PostgreSQL before its (slow) password check: the first
    # `failures` were checked and refused, every other one refused as locked out.
    assert reasons == {"invalid": policy.failures, "locked": 2 * policy.failures}
    details = Counter(
        d for (d,) in hub.query("SELECT detail FROM web_audit WHERE action = 'login'")
    )
    assert details == {"wrong password": policy.failures, "locked out": 2 * policy.failures}
    assert log_in(client) == 401  # the right password too, until the lock ends


def test_an_officer_keeps_the_browser_they_logged_in_from_while_a_stranger_fails_on_their_name(
    hub: Hub,
) -> None:
    client = web(hub)
    assert log_in(client) == 303
    token = client.cookies.get(DEVICE_COOKIE)
    assert token is not None
    # PostgreSQL keeps the token's digest, never the token.
    assert hub.query("SELECT token_sha256, username FROM officer_devices") == [
        (device_digest(token), "eltari")
    ]
    services = bootstrap.web_services(hub.settings)
    policy = services.policy
    stranger = TestClient(create_app(services), follow_redirects=False)
    for _ in range(policy.failures):
        assert log_in(stranger, "someone else's guess") == 401
    assert log_in(stranger) == 401  # locked out there, even with the right password
    client.cookies.delete("sinergi_session")  # logged out; the browser keeps its token
    assert log_in(client) == 303  # not from the browser the officer logged in from
    mine = client.cookies.get(DEVICE_COOKIE)
    assert mine is not None and mine != token  # each log-in gives the browser a new token
    # Guesses sent together from that browser are counted on its own row, one after
    # another: no more password checks than the lockout allows, then it is locked too.
    reasons = guessed_together(services, 3 * policy.failures, device=mine)
    assert reasons == {"invalid": policy.failures, "locked": 2 * policy.failures}
    client.cookies.delete("sinergi_session")
    assert log_in(client) == 401
    # A new password forgets every browser the old one logged in from.
    bootstrap.officer_store(hub.settings).set_password("eltari", hash_password(PASSWORD))
    assert hub.query("SELECT count(*) FROM officer_devices") == [(0,)]


def test_a_csv_upload_is_checked_then_published_with_a_receipt_and_the_refused_rows(
    hub: Hub,
) -> None:
    client = web(hub)
    assert log_in(client) == 303
    token = csrf_of(client.get("/upload").text)
    data = "\n".join([HEADER, *ROWS]) + "\n"
    started = client.post(
        "/upload", data={"csrf_token": token, "form": "interception"},
        files={"file": ("rows.csv", data.encode(), "text/csv")},
    )  # fmt: skip
    assert started.status_code == 303
    job = started.headers["location"]

    def wait(phase: str) -> dict[str, object]:
        for _ in range(600):
            status = client.get(f"{job}/status").json()
            if status["phase"] == phase:
                return dict(status)
            time.sleep(0.1)
        raise AssertionError(f"the upload never reached {phase}: {status}")

    checked = wait("validated")
    assert (checked["valid"], checked["refused"]) == (3, 1)
    assert hub.event_count() == 0  # a dry run first: nothing sent
    refused = list(csv.reader(io.StringIO(client.get(f"{job}/refused.csv").text)))
    assert refused[0][:2] == ["refused_row", "refused_reason"]
    assert refused[1][0] == "4" and "nik" in refused[1][1]

    page = client.get(job).text
    client.post(f"{job}/publish", data={"csrf_token": csrf_of(page)})
    done = wait("done")
    assert done["published"] == 3
    receipt = list(csv.DictReader(io.StringIO(client.get(f"{job}/receipt.csv").text)))
    assert [r["row"] for r in receipt] == ["2", "3", "5"]
    assert {r["outcome"] for r in receipt} == {"published"}
    assert "case_id" not in receipt[0]  # the hub's to give, once it takes them in
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 3, what="the three rows stored")
    officers = {r[0] for r in hub.query("SELECT payload ->> 'officer_ref' FROM events")}
    assert officers == {"ELT-07"}  # the uploader's staff code where the file had none


def test_officers_are_managed_from_the_command_line(hub: Hub) -> None:
    def sinergi(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", ENTRY, *args], env=hub.env,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    added = sinergi("officer", "add", "polres-tts", "--unit", "police-polres-5302",
                    "--code", "PTS-03")  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    secret = hub.settings.secrets_dir / "web" / "polres-tts.password"
    assert secret.stat().st_mode & 0o077 == 0
    assert secret.read_text().strip() not in added.stdout + added.stderr
    listed = sinergi("officer", "list")
    assert "polres-tts" in listed.stdout and "police-polres-5302" in listed.stdout
    assert sinergi("officer", "disable", "polres-tts").returncode == 0
    assert "disabled" in sinergi("officer", "list").stdout
    refused = sinergi("officer", "add", "x1", "--unit", "hub-processor", "--code", "X-1")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr


def test_a_refused_form_names_each_problem_next_to_its_field_and_sends_nothing(hub: Hub) -> None:
    client = web(hub)
    assert log_in(client) == 303
    page = client.get("/record/interception").text
    refused = client.post(
        "/record/interception",
        data={"csrf_token": csrf_of(page), "occurred_at": "2026-01-20T08:30",
              "nik": "53020141019", "outcome": "SENT_HOME"},
    )  # fmt: skip
    assert refused.status_code == 422
    assert 'id="e-nik" class="field-error" aria-live="polite">NIK harus 16 digit, tertulis 11' in (
        refused.text
    )
    assert hub.event_count() == 0
    published = "SELECT 1 FROM web_audit WHERE outcome = 'ok' AND action LIKE %s"
    assert not hub.query(published, "record.%")
    ready = client.get("/readyz").json()
    assert ready["checks"]["PostgreSQL"]["ok"] and ready["checks"]["Kafka"]["ok"]
