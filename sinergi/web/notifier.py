"""Push notifications of new alerts: police are told without a terminal.

Design (README, "Notifications"):

- **Source: the ledger's alerts in PostgreSQL**, not the ``hub.alerts`` topic. Routing
  needs the alert's regencies, which only the ledger knows (its people's origins, its
  posts), and an alert's status (withdrawn) too. The processor stores an alert before it
  publishes it, so the table is never behind the topic.
- **At least once, the alert id as idempotency key.** Each cycle reads the alerts raised
  since a little before the last one seen (alerts of a batch still committing may carry
  an earlier ``raised_at``), oldest first and at most :data:`PAGE` of them (a cycle that
  reads a whole page leaves the next to continue after its last alert), and inserts one
  *pending* delivery per (alert, channel) that should hear of it, ``ON CONFLICT DO
  NOTHING``: reading twice queues once. A delivery is marked *delivered* only after the
  receiver accepted it (HTTP 2xx, SMTP accepted); a crash in between sends it again,
  with the same ``Idempotency-Key`` (the alert id).
  Failures are retried with capped exponential backoff; every attempt is logged
  (``notification_attempts``: outcome and HTTP status or error class, never a body).
- **Withdrawn, then holding again.** A delivery whose alert was withdrawn before it
  could be sent is marked *withdrawn*; when the alert holds again (the fact that ended it
  was retracted), it is among the alerts changed lately, and the next cycle makes the
  delivery due again.
- **One notifier at a time**, whichever process runs it (the web app, or ``sinergi
  notify run``): it holds a PostgreSQL advisory lock while it works.
- **No personal data**: rule, severity, regency names, the alert's id and a link to it.
- **Why not a faust agent on hub.alerts**: faust acknowledges a ``take_events`` batch
  in a ``finally`` clause, so an agent must never let a failed delivery raise, or the
  offset moves past an alert nobody was told of; the agent would only be safe as a
  step that records the alert in PostgreSQL, retrying until that commits, before it
  returns. That is what reading the table gives directly, without the consumer group
  and the internal topics faust creates (which police members may not create), and the
  ledger is needed for routing anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import httpx
import psycopg
from psycopg.rows import dict_row

from deploy.secrets import ensure_password
from schemas.model import Severity
from sinergi.web import routing
from sinergi.web.ledger import Alert

log = logging.getLogger(__name__)

SEVERITY_RANK = {s.value: i for i, s in enumerate(Severity)}
SIGNATURE_HEADER = "X-Sinergi-Signature"
TIMESTAMP_HEADER = "X-Sinergi-Timestamp"
RESCAN = timedelta(minutes=10)  # how far before the last alert seen each cycle reads again
PAGE = 5000  # alerts read in one cycle at most
_LOCK = 0x53494E4F  # "SINO": one notifier at a time


class ChannelError(ValueError):
    """A channel cannot be added or found; one sentence."""


@dataclass(frozen=True)
class Channel:
    channel_id: str
    unit: str
    kind: str  # webhook or email
    target: str  # the URL, or the address
    min_severity: str
    since: datetime
    created_at: datetime | None = None
    disabled_at: datetime | None = None

    def wants(self, alert: Alert) -> bool:
        """Whether this channel's unit sees ``alert`` and it is severe enough, and new."""
        return (
            self.disabled_at is None
            and alert.raised_at >= self.since
            and SEVERITY_RANK.get(alert.severity, -1) >= SEVERITY_RANK[self.min_severity]
            and self.unit in routing.units_for(alert.regencies)
        )


@dataclass(frozen=True)
class Due:
    alert_id: str
    channel: Channel
    attempts: int


# --- what a notification says ------------------------------------------------------------------


def payload(alert: Alert, link: str) -> dict[str, Any]:
    """Everything a notification carries: codes, names of regencies, the id, a link."""
    return {
        "alert_id": alert.alert_id,
        "rule": alert.rule,
        "severity": alert.severity,
        "regencies": [{"code": c, "name": routing.regency_name(c)} for c in alert.regencies],
        "raised_at": alert.raised_at.isoformat(),
        "link": link,
    }


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 over ``<timestamp>.<body>``. The timestamp (also a
    header) is covered so that a captured request cannot be replayed later as new."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (constant-time comparison)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def email_message(alert: Alert, link: str, sender: str, to: str) -> EmailMessage:
    regions = ", ".join(routing.regency_name(c) for c in alert.regencies) or "NTT"
    message = EmailMessage()
    message["Subject"] = f"[Sinergi] {alert.severity} {alert.rule} - {regions}"
    message["From"] = sender
    message["To"] = to
    message["X-Sinergi-Alert"] = alert.alert_id
    message.set_content(
        f"Peringatan baru / New alert\n\n"
        f"Aturan / Rule: {alert.rule}\n"
        f"Tingkat / Severity: {alert.severity}\n"
        f"Wilayah / Regency: {regions}\n"
        f"ID: {alert.alert_id}\n\n"
        f"{link}\n"
    )
    return message


# --- storing channels and deliveries -------------------------------------------------------------


class NotificationStore:
    """Channels, deliveries and the delivery log, in PostgreSQL as ``sinergi_web``."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo

    def _conn(self) -> psycopg.Connection[dict[str, Any]]:
        return psycopg.connect(self.conninfo, row_factory=dict_row, autocommit=True)

    def add_channel(self, channel: Channel) -> None:
        with self._conn() as conn:
            try:
                conn.execute(
                    "INSERT INTO notification_channels (channel_id, unit, kind, target,"
                    " min_severity) VALUES (%s, %s, %s, %s, %s)",
                    (channel.channel_id, channel.unit, channel.kind, channel.target,
                     channel.min_severity),
                )  # fmt: skip
            except psycopg.errors.UniqueViolation:
                raise ChannelError(f"a channel {channel.channel_id} exists already") from None
            except psycopg.errors.CheckViolation:
                raise ChannelError(
                    "a channel id is 2-63 lower-case letters, digits and '-'"
                ) from None

    def channels(self, *, active: bool = True) -> list[Channel]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT channel_id, unit, kind, target, min_severity, since, created_at,"
                " disabled_at FROM notification_channels"
                " WHERE disabled_at IS NULL OR NOT %s ORDER BY unit, channel_id",
                (active,),
            ).fetchall()
        return [Channel(**row) for row in rows]

    def disable_channel(self, channel_id: str) -> bool:
        with self._conn() as conn:
            cur = conn.execute(
                "UPDATE notification_channels SET disabled_at = now()"
                " WHERE channel_id = %s AND disabled_at IS NULL",
                (channel_id,),
            )
            return cur.rowcount == 1

    def enqueue(self, pairs: Sequence[tuple[Alert, Channel]]) -> int:
        """Queue one delivery per (alert, channel); already queued ones stay as they are."""
        if not pairs:
            return 0
        with self._conn() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO notification_deliveries (alert_id, channel_id, status,"
                " alert_raised_at) VALUES (%s, %s, 'pending', %s) ON CONFLICT DO NOTHING",
                [(a.alert_id, c.channel_id, a.raised_at) for a, c in pairs],
            )
            return max(0, cur.rowcount)

    def reopen(self, alert_ids: Sequence[str], now: datetime) -> int:
        """The withdrawn deliveries of ``alert_ids`` are pending again, due at ``now``."""
        if not alert_ids:
            return 0
        with self._conn() as conn:
            cur = conn.execute(
                "UPDATE notification_deliveries SET status = 'pending', next_attempt_at = %s,"
                " last_error = NULL WHERE status = 'withdrawn' AND alert_id = ANY(%s::uuid[])",
                (now, list(alert_ids)),
            )
            return max(0, cur.rowcount)

    def last_raised(self) -> datetime | None:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT max(alert_raised_at) AS m FROM notification_deliveries"
            ).fetchone()
        return None if row is None else row["m"]

    def due(self, now: datetime, limit: int = 50) -> list[Due]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT d.alert_id::text AS alert_id, d.attempts, c.channel_id, c.unit, c.kind,"
                " c.target, c.min_severity, c.since, c.created_at, c.disabled_at"
                " FROM notification_deliveries d JOIN notification_channels c USING (channel_id)"
                " WHERE d.status = 'pending' AND d.next_attempt_at <= %s AND c.disabled_at IS NULL"
                " ORDER BY d.next_attempt_at, d.alert_id LIMIT %s",
                (now, limit),
            ).fetchall()
        return [
            Due(
                r.pop("alert_id"),
                Channel(**{k: v for k, v in r.items() if k != "attempts"}),
                r["attempts"],
            )
            for r in rows
        ]

    def finished(self, due: Due, outcome: str, detail: str, next_at: datetime | None) -> None:
        """Log the attempt; then the delivery is delivered, withdrawn, or due again."""
        attempt = due.attempts + 1
        status = {"delivered": "delivered", "withdrawn": "withdrawn"}.get(outcome, "pending")
        with self._conn() as conn, conn.transaction():
            if outcome != "withdrawn":
                conn.execute(
                    "INSERT INTO notification_attempts (alert_id, channel_id, attempt, outcome,"
                    " detail) VALUES (%s, %s, %s, %s, %s)",
                    (due.alert_id, due.channel.channel_id, attempt, outcome, detail[:200]),
                )
            conn.execute(
                "UPDATE notification_deliveries SET status = %s, attempts = %s,"
                " next_attempt_at = coalesce(%s, next_attempt_at), last_error = %s,"
                " delivered_at = CASE WHEN %s = 'delivered' THEN now() END"
                " WHERE alert_id = %s AND channel_id = %s",
                (
                    status, attempt if outcome != "withdrawn" else due.attempts, next_at,
                    None if outcome == "delivered" else detail[:200], status, due.alert_id,
                    due.channel.channel_id,
                ),
            )  # fmt: skip

    def deliveries(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._conn() as conn:
            return conn.execute(
                "SELECT alert_id::text AS alert_id, channel_id, status, attempts,"
                " next_attempt_at, delivered_at, last_error FROM notification_deliveries"
                " ORDER BY created_at DESC, alert_id LIMIT %s",
                (limit,),
            ).fetchall()

    def attempts(self, alert_id: str) -> list[dict[str, Any]]:
        with self._conn() as conn:
            return conn.execute(
                "SELECT channel_id, attempt, outcome, detail, at FROM notification_attempts"
                " WHERE alert_id = %s ORDER BY seq",
                (alert_id,),
            ).fetchall()


# --- sending -------------------------------------------------------------------------------------


class Sender(Protocol):
    def __call__(self, channel: Channel, alert: Alert, link: str) -> str: ...


class DeliveryError(Exception):
    """A delivery failed; the message is an HTTP status or an error class, nothing more."""


def webhook_secret(secrets_dir: Path, channel_id: str) -> bytes:
    """The channel's signing secret (made with the channel, mode 0600, never printed)."""
    return ensure_password(secrets_dir / "webhooks", channel_id).encode()


def webhook_sender(secrets_dir: Path, timeout: float = 10.0) -> Sender:
    def send(channel: Channel, alert: Alert, link: str) -> str:
        body = json.dumps(payload(alert, link), separators=(",", ":")).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": alert.alert_id,
            "X-Sinergi-Alert": alert.alert_id,
            "X-Sinergi-Channel": channel.channel_id,
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(webhook_secret(secrets_dir, channel.channel_id), stamp, body),
        }
        try:
            response = httpx.post(channel.target, content=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            raise DeliveryError(type(exc).__name__) from None
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"HTTP {response.status_code}")
        return f"HTTP {response.status_code}"

    return send


def email_sender(host: str, port: int, sender: str, timeout: float = 10.0) -> Sender:
    def send(channel: Channel, alert: Alert, link: str) -> str:
        message = email_message(alert, link, sender, channel.target)
        try:
            with smtplib.SMTP(host, port, timeout=timeout) as smtp:
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(type(exc).__name__) from None
        return "accepted"

    return send


# --- the notifier ------------------------------------------------------------------------------


# (since, after, limit): at most ``limit`` alerts raised at or after ``since``, oldest
# first (raised_at, then alert id); with ``after``, only those after (since, after).
AlertsSince = Callable[[datetime, str | None, int], list[Alert]]
AlertById = Callable[[str], Alert | None]
# (since, after, limit): alerts that hold and changed at or after ``since`` (moved,
# rewritten), those changed first first (updated_at, then alert id); with ``after``, only
# those after (since, after).
AlertsChanged = Callable[[datetime, str | None, int], list[Alert]]


class Notifier:
    """One cycle: queue what new alerts call for, then deliver what is due."""

    def __init__(
        self,
        store: NotificationStore,
        alerts_since: AlertsSince,
        alert_by_id: AlertById,
        senders: dict[str, Sender],
        link: Callable[[str], str],
        *,
        retry_base_s: float = 2.0,
        retry_max_s: float = 300.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        page: int = PAGE,
        changed_since: AlertsChanged,
    ) -> None:
        self.store = store
        self.alerts_since = alerts_since
        self.alert_by_id = alert_by_id
        self.senders = senders
        self.link = link
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.clock = clock
        self.page = page
        self.seen: datetime | None = None
        # Where the next read continues when the last one read a whole page.
        self.cursor: tuple[datetime, str] | None = None
        self.changed_since = changed_since
        # How far the read of changed alerts got (the hub's updated_at): it goes on from
        # there, after an outage too (it starts where the raised alerts were queued).
        self.changed_seen: datetime | None = None
        # Where the next read of changed alerts continues when the last one read a page.
        self.changed_cursor: tuple[datetime, str] | None = None
        # (alert, channel) pairs queued by this process in the last RESCAN: not asked again.
        self._queued: dict[tuple[str, str], datetime] = {}

    def backoff(self, attempt: int) -> timedelta:
        """Before attempt ``attempt + 1``: base, 2 x base, 4 x base, ... at most the cap."""
        return timedelta(seconds=min(self.retry_max_s, self.retry_base_s * 2 ** (attempt - 1)))

    def queue(self) -> int:
        channels = self.store.channels()
        if not channels:
            return 0
        start = min(c.since for c in channels)
        if self.seen is None:
            self.seen = self.store.last_raised() or start
        if self.cursor is not None:  # the last read stopped at a whole page: continue
            alerts = self.alerts_since(*self.cursor, self.page)
        else:
            alerts = self.alerts_since(max(start, self.seen - RESCAN), None, self.page)
        pairs = [(a, c) for a in alerts for c in channels if c.wants(a)]
        queued = self.store.enqueue(pairs)
        # Oldest first: the last alert read is as far as this cycle got.
        if alerts:
            self.seen = max(self.seen, alerts[-1].raised_at)
        full = len(alerts) >= self.page
        self.cursor = (alerts[-1].raised_at, alerts[-1].alert_id) if full else None
        return queued + self._queue_changed(channels, start)

    def _queue_changed(self, channels: Sequence[Channel], start: datetime) -> int:
        """Alerts raised before that changed since (a correction moved one to another
        person's case, so to another regency): queued for the channels that want them now
        and were not told (a channel told already keeps its one delivery)."""
        if self.changed_seen is None:
            self.changed_seen = self.seen or start
        now = self.clock()
        self._queued = {k: at for k, at in self._queued.items() if at > now - RESCAN}
        if self.changed_cursor is not None:  # the last read stopped at a whole page
            changed = self.changed_since(*self.changed_cursor, self.page)
        else:
            changed = self.changed_since(max(start, self.changed_seen - RESCAN), None, self.page)
        stamps = [a.updated_at for a in changed if a.updated_at is not None]
        if stamps:
            self.changed_seen = max(self.changed_seen, *stamps)
        last = changed[-1] if len(changed) >= self.page else None
        self.changed_cursor = (
            (last.updated_at, last.alert_id) if last and last.updated_at is not None else None
        )
        # An alert that holds again (the fact that ended it retracted) has changed too:
        # its delivery marked withdrawn is due again. Only the alerts changed lately are
        # looked at, not every delivery ever withdrawn.
        self.store.reopen(sorted({a.alert_id for a in changed}), now)
        pairs = [
            (a, c)
            for a in changed
            for c in channels
            if c.wants(a) and (a.alert_id, c.channel_id) not in self._queued
        ]
        for a, c in pairs:
            self._queued[(a.alert_id, c.channel_id)] = now
        return self.store.enqueue(pairs)

    def deliver(self) -> int:
        delivered = 0
        for due in self.store.due(self.clock()):
            alert = self.alert_by_id(due.alert_id)
            if alert is None or alert.status == "withdrawn":
                self.store.finished(due, "withdrawn", "withdrawn before delivery", None)
                continue
            try:
                detail = self.senders[due.channel.kind](
                    due.channel, alert, self.link(alert.alert_id)
                )
            except DeliveryError as exc:
                next_at = self.clock() + self.backoff(due.attempts + 1)
                self.store.finished(due, "failed", str(exc), next_at)
                log.info("notification %s/%s failed: %s", due.alert_id, due.channel.channel_id,
                         exc)  # fmt: skip
                continue
            self.store.finished(due, "delivered", detail, None)
            delivered += 1
        return delivered

    def cycle(self) -> int:
        self.queue()
        return self.deliver()


class NotifierLoop:
    """Runs :class:`Notifier` cycles in a thread while holding the advisory lock."""

    def __init__(self, notifier: Notifier, lock_conninfo: str, poll_s: float) -> None:
        self.notifier = notifier
        self.lock_conninfo = lock_conninfo
        self.poll_s = poll_s
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, daemon=True, name="sinergi-notifier")
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                with psycopg.connect(self.lock_conninfo, autocommit=True) as conn:
                    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK,)).fetchone()
                    if row is None or not row[0]:
                        self.stopping.wait(5.0)  # another notifier runs
                        continue
                    self._cycles()
            except psycopg.Error as exc:
                log.warning("notifier waits: %s", type(exc).__name__)
                self.stopping.wait(self.poll_s * 5)

    def _cycles(self) -> None:
        while not self.stopping.is_set():
            try:
                self.notifier.cycle()
            except psycopg.Error:
                raise
            except Exception as exc:  # one bad cycle must not end the notifier
                log.warning("notifier cycle failed: %s", type(exc).__name__)
            self.stopping.wait(self.poll_s)
