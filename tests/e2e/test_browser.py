"""The browser application in a real headless Chromium (Debian's, through its own
chromedriver and Selenium; nothing downloaded), against the real stack, a real
processor and ``python -m sinergi.web``:

a post officer logs in and records an interception of a minor; an officer of the
matching Polres sees the alert arrive without reloading and acknowledges it; an officer
of another Polres does not see it; operations see the interception counted on the
dashboard. A screenshot of each page is saved under the test's output (and copied to
docs/screenshots/ for the README with SINERGI_TEST_DOCS_SCREENSHOTS=1).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from schemas.model import WITA
from sinergi import bootstrap
from sinergi.config import REPO_ROOT
from sinergi.web.officers import add_officer
from tests.conftest import base_env
from tests.integration.hub import Hub, drop_hub, free_port, make_hub

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PASSWORD = "a long browser test password"
# A girl from Timor Tengah Selatan (5302) born 1 January 2012: a minor.
MINOR_NIK = "5302014101120001"
OFFICERS = (
    ("eltari", "post-eltari", "ELT-07"),
    ("polres-tts", "police-polres-5302", "PTS-03"),
    ("polres-belu", "police-polres-5304", "PBL-02"),
    ("ops", "ops", "OPS-01"),
)
SHOTS = REPO_ROOT / "docs" / "screenshots"


@pytest.fixture
def web(stack_settings: object, tmp_path: Path) -> Iterator[tuple[Hub, str]]:
    """A private slice of the stack with a processor and the browser application."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Debian's chromium and chromium-driver are needed (deploy/bootstrap.sh)")
    hub = make_hub(base_env(), SINERGI_WEB_PORT=str(free_port()))
    proc: subprocess.Popen[bytes] | None = None
    try:
        bootstrap.ensure_web_role(hub.settings)
        store = bootstrap.officer_store(hub.settings)
        for username, unit, code in OFFICERS:
            add_officer(store, username, unit, code, PASSWORD)
        hub.start_worker()
        log = (tmp_path / "web.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "sinergi.web"], env=hub.env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{hub.settings.ports.web}"
        hub.wait_for(lambda: _answers(f"{url}/healthz"), timeout=60, what="the web app")
        yield hub, url
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        drop_hub(hub)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def browser(profile: Path) -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage", "--window-size=1400,1000", f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def log_in(driver: WebDriver, url: str, username: str) -> None:
    driver.get(f"{url}/login")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    WebDriverWait(driver, 30).until(lambda d: "/login" not in d.current_url)


def shot(driver: WebDriver, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(folder / f"{name}.png"))


def fill(driver: WebDriver, name: str, value: str) -> None:
    field = driver.find_element(By.NAME, name)
    if field.get_attribute("type") in ("datetime-local", "date"):
        driver.execute_script("arguments[0].value = arguments[1]", field, value)
    else:
        field.clear()
        field.send_keys(value)


def test_a_minor_intercepted_in_the_browser_reaches_the_matching_polres_live(
    web: tuple[Hub, str], tmp_path: Path
) -> None:
    hub, url = web
    shots = tmp_path / "screenshots"
    drivers: list[WebDriver] = []
    try:
        police = browser(tmp_path / "profile-tts")
        post = browser(tmp_path / "profile-post")
        drivers += [police, post]

        # The matching Polres has its inbox open, live, before anything happens.
        log_in(police, url, "polres-tts")
        police.get(f"{url}/alerts")
        WebDriverWait(police, 30).until(ec.visibility_of_element_located((By.ID, "live")))
        shot(police, shots, "alerts-empty")

        # The post officer records an interception of a minor.
        post.get(f"{url}/login")
        shot(post, shots, "login")
        log_in(post, url, "eltari")
        post.get(f"{url}/record/interception")
        when = (datetime.now(UTC) - timedelta(hours=1)).astimezone(WITA)
        fill(post, "occurred_at", when.strftime("%Y-%m-%dT%H:%M"))
        post.find_element(By.NAME, "nik").send_keys(MINOR_NIK[:10])
        WebDriverWait(post, 20).until(
            lambda d: "16" in d.find_element(By.ID, "e-nik").text
        )  # checked as typed: too short
        post.find_element(By.NAME, "nik").send_keys(MINOR_NIK[10:])
        WebDriverWait(post, 20).until(
            lambda d: "Timor Tengah Selatan" in d.find_element(By.ID, "e-nik").text
        )
        fill(post, "sex", "P")
        fill(post, "origin_regency", "5302")
        fill(post, "destination_country", "MY")
        fill(post, "recruiter", "081234567890")
        fill(post, "outcome", "dipulangkan")
        shot(post, shots, "record-interception")
        post.find_element(By.CSS_SELECTOR, "form.record button[type=submit]").click()
        receipt = WebDriverWait(post, 60).until(
            ec.visibility_of_element_located((By.ID, "receipt"))
        )
        event_id = post.find_element(By.ID, "receipt-event").text
        assert len(event_id) == 36  # a person new to the hub: the hub gives the case
        assert not post.find_elements(By.ID, "receipt-case")
        assert MINOR_NIK not in receipt.text
        shot(post, shots, "record-receipt")

        # The Polres sees the alert arrive without reloading, then acknowledges it.
        row = WebDriverWait(police, 120).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, "tr.alert.status-open"))
        )
        assert "MINOR_INTERCEPTED" in row.text and "Timor Tengah Selatan" in row.text
        alert_id = row.get_attribute("id").removeprefix("alert-")
        assert len(alert_id) == 36
        shot(police, shots, "alerts-live")
        Select(row.find_element(By.NAME, "action")).select_by_visible_text("INVESTIGATING")
        row.find_element(By.CSS_SELECTOR, "form.ack button").click()
        WebDriverWait(police, 120).until(
            ec.presence_of_element_located(
                (By.CSS_SELECTOR, f"#alert-{alert_id}.status-acknowledged")
            )
        )
        shot(police, shots, "alerts-acknowledged")
        police.get(f"{url}/alerts/{alert_id}")
        shot(police, shots, "alert")
        [(case_id,)] = hub.query("SELECT case_ids[1] FROM alerts WHERE alert_id = %s", alert_id)
        assert str(case_id).startswith("nik:")
        police.get(f"{url}/cases/{case_id}")
        assert "InterceptionRecorded" in police.page_source
        police.find_element(By.CSS_SELECTOR, "table.timeline form button").click()
        WebDriverWait(police, 30).until(
            ec.visibility_of_element_located((By.CSS_SELECTOR, ".sealed-open"))
        )
        assert police.find_element(By.CSS_SELECTOR, ".sealed-open").text == "081234567890"
        shot(police, shots, "case")
        opened = hub.query("SELECT unit, officer_code FROM web_audit WHERE action = 'contact.open'")
        assert opened == [("police-polres-5302", "PTS-03")]

        # Another Polres does not see it.
        other = browser(tmp_path / "profile-belu")
        drivers.append(other)
        log_in(other, url, "polres-belu")
        other.get(f"{url}/alerts")
        time.sleep(3)  # the stream had time to bring it, were it this unit's
        shot(other, shots, "alerts-other-polres")
        listed = other.find_element(By.ID, "alert-list").text
        assert alert_id not in other.page_source and "MINOR_INTERCEPTED" not in listed

        # Operations see the interception counted on the dashboard.
        ops = browser(tmp_path / "profile-ops")
        drivers.append(ops)
        log_in(ops, url, "ops")
        ops.get(f"{url}/dashboard")
        cell = ops.find_element(By.CSS_SELECTOR, "#interceptions-per-post td[data-post=eltari]")
        assert cell.text == "1"
        assert MINOR_NIK not in ops.page_source and case_id not in ops.page_source
        shot(ops, shots, "dashboard")

        # A CSV file: checked first (nothing sent), then its valid rows published; the
        # progress bar follows each step, and the page offers the two files.
        rows = tmp_path / "rows.csv"
        day = (datetime.now(UTC) - timedelta(days=1)).astimezone(WITA).strftime("%Y-%m-%d")
        rows.write_text(
            "occurred_at,nik,sex,origin_regency,destination_country,outcome\n"
            f"{day}T08:30,5302014101900001,P,5302,MY,SENT_HOME\n"
            f"{day}T08:35,53020141019,P,5302,MY,SENT_HOME\n"
        )
        post.get(f"{url}/upload")
        shot(post, shots, "upload")
        post.find_element(By.NAME, "file").send_keys(str(rows))
        post.find_element(By.CSS_SELECTOR, "form.record button[type=submit]").click()
        publish = WebDriverWait(post, 60).until(
            ec.element_to_be_clickable((By.ID, "publish"))
        )  # the page reloads itself when the check ends
        assert post.find_element(By.ID, "valid").text == "1"
        assert post.find_element(By.ID, "refused").text == "1"
        assert post.find_element(By.ID, "refused-file").is_displayed()
        shot(post, shots, "upload-checked")
        publish.click()
        WebDriverWait(post, 60).until(ec.visibility_of_element_located((By.ID, "published")))
        assert post.find_element(By.ID, "published").text == "1"
        assert post.find_element(By.ID, "bar").get_attribute("value") == "100"
        shot(post, shots, "upload-done")
        acks = hub.query("SELECT officer_ref, action FROM alert_acks")
        assert acks == [("PTS-03", "INVESTIGATING")]
    finally:
        for driver in drivers:
            driver.quit()
        if shots.exists() and os.environ.get("SINERGI_TEST_DOCS_SCREENSHOTS") == "1":
            SHOTS.mkdir(parents=True, exist_ok=True)
            for picture in shots.glob("*.png"):
                shutil.copy(picture, SHOTS / picture.name)
