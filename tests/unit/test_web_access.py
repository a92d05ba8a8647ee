"""Every route of the browser application is refused without a session, with a session
of a role that may not use it, and (for what changes state) without the CSRF token; the
pages a role may see hold no personal data of what it may not see."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from starlette.routing import Mount, Route

from sinergi.web.access import Capability, capabilities, unit_role
from sinergi.web.app import create_app
from sinergi.web.dashboard import Check
from sinergi.web.guard import PUBLIC
from sinergi.web.middleware import BODY_MAX
from sinergi.web.officers import hash_password
from tests.unit.web_fakes import ALERT_BELU, ALERT_TTS, CASE, PASSWORD, client, log_in, services
from tests.web_pages import csrf_of

SAMPLE = {
    "alert_id": ALERT_TTS,
    "case_id": CASE,
    "event_id": "e1",
    "ref": "ab" * 16,
    "key": "eltari/G1",
    "form": "interception",
    "job": "nojob",
}
# A unit of each role, and its officer in the fakes.
OFFICERS = {
    "post-eltari": "eltari",
    "police-polres-5302": "polres-tts",
    "ops": "ops",
    "admin": "admin",
    "bp3mi-ntt": "bp3mi",
}


def guarded_routes() -> list[tuple[str, str, Capability | None]]:
    app = create_app(services())
    found = []
    for route in app.routes:
        if isinstance(route, Mount) or not isinstance(route, Route):
            continue
        if route.path in PUBLIC:
            continue
        path = route.path
        for name, value in SAMPLE.items():
            path = path.replace(f"{{{name}}}", value).replace(f"{{{name}:path}}", value)
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue
            found.append((method, path, getattr(route.endpoint, "capability", "missing")))
    return found


ROUTES = guarded_routes()


def test_every_route_declares_what_it_needs() -> None:
    """Deny by default: a route outside the public ones is made by guard.page."""
    assert ROUTES
    assert all(capability != "missing" for _, _, capability in ROUTES), ROUTES


@pytest.mark.parametrize(("method", "path", "capability"), ROUTES)
def test_route_refused_without_a_session(method: str, path: str, capability: object) -> None:
    c = client()
    answer = c.request(method, path)
    if method == "GET" and not path.endswith(("/stream", "/status")):
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login"
    else:
        assert answer.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "capability"),
    [route for route in ROUTES if route[2] is not None],  # any officer may log out
)
def test_route_refused_to_a_role_that_may_not_use_it(
    method: str, path: str, capability: Capability | None
) -> None:
    assert capability is not None
    refused = [u for u in OFFICERS if capability not in capabilities(unit_role(u))]
    assert refused, f"every role may {capability}"
    for unit in refused:
        c = client()
        token = log_in(c, OFFICERS[unit])
        answer = c.request(method, path, data={"csrf_token": token} if method == "POST" else None)
        assert answer.status_code == 403, (unit, method, path, answer.status_code)
        assert CASE not in answer.text and ALERT_TTS not in answer.text


@pytest.mark.parametrize(("method", "path", "capability"), [r for r in ROUTES if r[0] == "POST"])
def test_post_refused_without_the_csrf_token(
    method: str, path: str, capability: Capability | None
) -> None:
    allowed = next(u for u in OFFICERS if capability is None or capability in
                   capabilities(unit_role(u)))  # fmt: skip
    c = client()
    log_in(c, OFFICERS[allowed])
    assert c.post(path, data={}).status_code == 403
    assert c.post(path, data={"csrf_token": "forged"}).status_code == 403


def test_login_and_language_refused_without_the_csrf_token() -> None:
    c = client()
    c.get("/login")
    refused = c.post("/login", data={"username": "eltari", "password": "x" * 20})
    assert refused.status_code == 403
    assert c.post("/lang", data={"lang": "en"}).status_code == 403


def test_a_polres_sees_its_own_regencies_alerts_and_not_another_polres() -> None:
    c = client()
    log_in(c, "polres-tts")
    inbox = c.get("/alerts").text
    assert ALERT_TTS in inbox and ALERT_BELU not in inbox
    assert c.get(f"/alerts/{ALERT_BELU}").status_code == 404
    c2 = client()
    log_in(c2, "polda")
    both = c2.get("/alerts").text
    assert ALERT_TTS in both and ALERT_BELU in both


def test_acknowledging_an_alert_of_another_polres_is_refused() -> None:
    svc = services()
    c = client(svc)
    token = log_in(c, "polres-belu")
    answer = c.post(f"/alerts/{ALERT_TTS}/ack", data={"csrf_token": token, "action": "NOTED"})
    assert answer.status_code == 404
    assert not svc.recorder.calls


def test_acknowledging_goes_through_the_police_desk_with_the_officers_code() -> None:
    svc = services()
    c = client(svc)
    token = log_in(c, "polres-tts")
    answer = c.post(
        f"/alerts/{ALERT_TTS}/ack", data={"csrf_token": token, "action": "INVESTIGATING"}
    )
    assert answer.status_code == 303
    assert svc.recorder.calls == [
        ("ack", "police-polres-5302", ALERT_TTS, "PTS-01", "INVESTIGATING")
    ]
    assert any(e.action == "alert.acknowledge" and e.officer_code == "PTS-01"
               for e in svc.officers.entries)  # fmt: skip


def test_a_sealed_contact_opens_only_in_a_police_session_and_the_opening_is_logged() -> None:
    svc = services()
    c = client(svc)
    token = log_in(c, "polres-tts")
    page = c.post(f"/cases/{CASE}/contacts/e1", data={"csrf_token": token})
    assert page.status_code == 200 and "0812-3456-7890" in page.text
    opened = [e for e in svc.officers.entries if e.action == "contact.open"]
    assert len(opened) == 1 and "0812" not in (opened[0].detail or "")
    assert "0812-3456-7890" not in c.get(f"/cases/{CASE}").text  # not kept open
    ops = client(svc)
    ops_token = log_in(ops, "ops")
    assert ops.post(f"/cases/{CASE}/contacts/e1", data={"csrf_token": ops_token}).status_code == 403


def test_a_case_whose_person_was_erased_says_so_and_when() -> None:
    svc = services()
    c = client(svc)
    log_in(c, "polda")
    assert "Dihapus pada" not in c.get(f"/cases/{CASE}").text
    svc.ledger.erased_at = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    page = c.get(f"/cases/{CASE}").text
    assert "Dihapus pada 2026-03-02" in page  # the day in WITA


def test_the_post_form_fills_the_officers_code_and_records_through_the_desk() -> None:
    svc = services()
    c = client(svc)
    token = log_in(c, "eltari")
    answer = c.post(
        "/record/interception",
        data={"csrf_token": token, "occurred_at": "2026-01-20T08:30", "nik": "5302014101900001",
              "outcome": "SENT_HOME", "officer": "SOMEONE-ELSE"},
    )  # fmt: skip
    assert answer.status_code == 200
    (call,) = svc.recorder.calls
    assert call[0] == "record" and call[1] == "post-eltari" and call[4] == "ELT-01"
    assert "11111111-2222-3333-4444-555555555555" in answer.text and CASE in answer.text


def test_session_cookie_is_httponly_and_samesite() -> None:
    c = client()
    answer = c.get("/login")
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_the_session_cookie_is_secure_when_people_open_the_app_at_an_https_address() -> None:
    svc = services()
    svc.settings = svc.settings.with_overrides(web_public_url="https://sinergi.ntt.example")
    cookie = client(svc).get("/login").headers["set-cookie"].lower()
    assert "; secure" in cookie and "httponly" in cookie
    assert "; secure" not in client().get("/login").headers["set-cookie"].lower()


def test_every_page_forbids_framing_sniffing_and_keeping_a_copy() -> None:
    c = client()
    log_in(c, "polres-tts")
    for path in ("/login", "/alerts", f"/alerts/{ALERT_TTS}", f"/cases/{CASE}", "/nowhere"):
        headers = c.get(path).headers
        assert headers["cache-control"] == "no-store", path
        assert (
            headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        )
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "no-store" not in c.get("/static/app.css").headers.get("cache-control", "")


def test_a_new_password_ends_the_sessions_opened_with_the_old_one() -> None:
    svc = services()
    c, other = client(svc), client(svc)
    log_in(c, "polres-tts")
    log_in(other, "polda")
    svc.officers.set_password("polres-tts", hash_password("a brand new password"))
    assert c.get("/alerts").headers["location"] == "/login"
    assert other.get("/alerts").status_code == 200  # another officer's session goes on
    log_in(c, "polres-tts", "a brand new password")
    assert c.get("/alerts").status_code == 200


def test_a_request_too_large_is_refused_before_it_is_read_or_as_it_passes_the_limit() -> None:
    c = client()
    token = csrf_of(c.get("/login").text)
    big = {"username": "x" * BODY_MAX, "password": "y", "csrf_token": token}
    assert c.post("/login", data=big).status_code == 413  # its stated length

    def chunks():  # no stated length: counted as it comes
        for _ in range(5):
            yield b"a" * (BODY_MAX // 4)

    streamed = c.post("/login", content=chunks(),
                      headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert streamed.status_code == 413
    small = {"username": "nobody", "password": "y", "csrf_token": token}
    assert c.post("/login", data=small).status_code == 401  # under the limit: read as ever


def test_a_disabled_officer_is_logged_out_at_the_next_request() -> None:
    svc = services()
    c = client(svc)
    log_in(c, "polres-tts")
    assert c.get("/alerts").status_code == 200
    svc.officers.set_disabled("polres-tts", NOW_PLUS)
    assert c.get("/alerts").headers["location"] == "/login"


NOW_PLUS = __import__("datetime").datetime(2030, 1, 1, tzinfo=__import__("datetime").UTC)


def test_bahasa_indonesia_by_default_and_an_english_switch() -> None:
    c = client()
    page = c.get("/login").text
    assert "Masuk" in page and 'lang="id"' in page
    switched = c.post("/lang", data={"lang": "en", "csrf_token": csrf_of(page), "back": "/login"})
    assert switched.status_code == 303
    assert "Log in" in c.get("/login").text


def test_health_endpoints_need_no_session() -> None:
    c = client()
    assert c.get("/healthz").text == "ok\n"
    ready = c.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True


def _logins(page: str) -> dict[str, float]:
    found = re.findall(r'^sinergi_web_logins_total\{outcome="(\w+)"\} (\S+)$', page, re.M)
    return {outcome: float(n) for outcome, n in found}


def test_prometheus_reads_the_build_and_log_ins_by_outcome_and_no_name() -> None:
    c = client()
    before = c.get("/metrics")  # no session, as Prometheus scrapes it
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/plain; version=")
    assert "sinergi_build_info{" in before.text and "process_resident_memory_bytes" in before.text
    assert _logins(before.text) == dict.fromkeys(("ok", "invalid", "locked", "disabled", "csrf"), 0)
    token = csrf_of(c.get("/login").text)
    c.post("/login", data={"username": "nobody-here", "password": "x", "csrf_token": token})
    c.post("/login", data={"username": "polres-tts", "password": "y", "csrf_token": "forged"})
    log_in(c, "polres-tts")
    after = c.get("/metrics").text
    assert _logins(after) == {"ok": 1, "invalid": 1, "locked": 0, "disabled": 0, "csrf": 1}
    assert "nobody-here" not in after and "polres-tts" not in after


def test_the_web_app_is_not_ready_while_the_processor_is_not_or_lags() -> None:
    svc = services()
    healthy = svc.checks()
    svc.checks = lambda: (
        [c for c in healthy if c.name != "Processor"]
        + [Check("Processor", False, "http://127.0.0.1:19100/readyz: ConnectError")]
    )
    ready, checks = svc.readiness()
    assert not ready and checks["processor lag"]["detail"].startswith("unknown")
    answer = client(svc).get("/readyz")  # no session: whether, never how or where
    assert answer.status_code == 503 and answer.json()["checks"]["Processor"] == {"ok": False}
    assert "127.0.0.1" not in answer.text and "ConnectError" not in answer.text
    svc.checks = lambda: healthy
    svc.lag = lambda: [("posts.interception-recorded", svc.settings.web_ready_max_lag + 1.0)]
    assert svc.readiness()[0] is False
    svc.lag = lambda: [("posts.interception-recorded", 3.0)]
    assert svc.readiness()[0] is True


def test_the_live_stream_ends_when_the_officer_logs_out() -> None:
    svc = services()
    c = client(svc)
    token = log_in(c, "polres-tts")
    sid = c.cookies.get("sinergi_session")
    assert sid and svc.sessions.alive(sid)
    c.post("/logout", data={"csrf_token": token})
    assert not svc.sessions.alive(sid)


def test_an_officer_still_logs_in_from_their_own_browser_while_someone_fails_on_their_name() -> (
    None
):
    svc = services()
    officer = client(svc)
    log_in(officer, "polres-tts")
    kept = [h for h in officer.cookies.jar if h.name == "sinergi_device"]
    assert len(kept) == 1 and kept[0].path == "/login" and kept[0].has_nonstandard_attr("HttpOnly")
    officer.post("/logout", data={"csrf_token": csrf_of(officer.get("/alerts").text)})
    stranger = client(svc)
    for _ in range(svc.policy.failures * 2):
        token = csrf_of(stranger.get("/login").text)
        answer = stranger.post("/login", data={"username": "polres-tts", "password": "guess" * 4,
                                               "csrf_token": token})  # fmt: skip
        assert answer.status_code == 401
    token = csrf_of(stranger.get("/login").text)
    right = {"username": "polres-tts", "password": PASSWORD, "csrf_token": token}
    assert stranger.post("/login", data=right).status_code == 401  # locked out there
    log_in(officer, "polres-tts")  # and not here: the browser they logged in from
    assert officer.cookies.get("sinergi_device") != kept[0].value  # a new token each log-in


def test_a_case_page_links_a_facts_group_and_recruiter_to_their_pages() -> None:
    c = client()
    log_in(c, "polres-tts")
    page = c.get(f"/cases/{CASE}").text
    assert 'href="/groups/eltari/ELT-G7"' in page and f'href="/recruiters/{"cd" * 16}"' in page
