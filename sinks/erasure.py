"""Erasure requests and their confirmations in PostgreSQL (migration 0014), as the
administrator (``sinergi_owner``) keeps them; what they mean and who may do what is
:mod:`sinergi.erasure`.

A confirmation is one transaction: the request locked (two administrators confirming at
once: one erases, the other is told it is done), the vault's erasure
(:func:`sinks.vault.erase_in`), the PersonErased put in the hub's outbox and the
confirmation recorded. Either all of it holds or none: a person is never erased without
the record and the event, nor recorded as erased while their key survives.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from processors.ledger import Kind
from processors.ports import OutboxMessage
from processors.vault import Subject, VaultError
from schemas import crypto
from sinks.postgres import lock_entities
from sinks.vault import erase_in


class ErasureRefusedError(RuntimeError):
    """What cannot be done as asked, in one sentence (never a NIK, never a pseudonym)."""


@dataclass(frozen=True)
class Request:
    request_id: str
    requested_at: datetime
    case_id: str
    reason_code: str
    requested_by: str
    policy: str | None = None

    @property
    def subject(self) -> Subject:
        return Subject.of_case(self.case_id)


@dataclass(frozen=True)
class Confirmation:
    request: Request
    confirmed_at: datetime
    confirmed_by: str
    facts_shredded: int
    event_id: str
    outbox_id: int | None = None  # its announcement's row in the outbox, when just made


@dataclass(frozen=True)
class Withdrawal:
    request: Request
    withdrawn_at: datetime
    withdrawn_by: str
    reason_code: str


# The PersonErased of a confirmation: (its event id, the signed message), made once the
# number of facts shredded is known, inside the confirming transaction.
Announce = Callable[[Request, str, int], tuple[str, OutboxMessage]]

# The columns of a Request, as every query below names them.
_REQUEST = (
    "SELECT request_id::text AS request_id, requested_at, case_id, reason_code,"
    " requested_by, policy FROM "
)


class ErasureStore:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        with psycopg.connect(self.conninfo, row_factory=dict_row) as conn, conn.transaction():
            yield conn

    def request(
        self, subject: Subject, reason_code: str, requested_by: str, policy: str | None = None
    ) -> Request:
        """Record a request to erase ``subject`` (who is in the vault, not erased yet)."""
        with self._transaction() as conn:
            return _request(conn, subject, reason_code, requested_by, policy)

    def pending(self) -> list[Request]:
        with self._transaction() as conn:
            rows = conn.execute(_REQUEST + "erasure_pending ORDER BY requested_at").fetchall()
        return [Request(**row) for row in rows]

    def find(self, prefix: str) -> Request:
        """The one request whose id is ``prefix`` or begins with it (8 hex digits or more)."""
        compact = prefix.strip().lower()
        if len(compact.replace("-", "")) < 8 or not all(c in "0123456789abcdef-" for c in compact):
            raise ErasureRefusedError("a request id is a UUID, or its first 8 or more hex digits")
        with self._transaction() as conn:
            rows = conn.execute(
                _REQUEST + "erasure_requests WHERE request_id::text LIKE %s"
                " ORDER BY requested_at LIMIT 2",
                (compact + "%",),
            ).fetchall()
        # What was typed is echoed, unless it could be a NIK typed in the wrong place.
        shown = "with that id" if re.search(r"[0-9]{16}", compact.replace("-", "")) else compact
        if not rows:
            raise ErasureRefusedError(f"no erasure request {shown}")
        if len(rows) > 1:
            raise ErasureRefusedError(f"more than one erasure request begins {shown}")
        return Request(**rows[0])

    def confirm(self, request_id: str, confirmed_by: str, announce: Announce) -> Confirmation:
        """Carry out a request: erase, announce, record; all or nothing."""
        with self._transaction() as conn:
            return _confirm(conn, _locked(conn, request_id), confirmed_by, announce)

    def withdraw(self, request_id: str, withdrawn_by: str, reason_code: str) -> Withdrawal:
        """Withdraw a request not carried out yet (migration 0017): it leaves the pending
        list and can no longer be confirmed. An erasure carried out is final."""
        with self._transaction() as conn:
            asked = _locked(conn, request_id)
            _refuse_if_settled(conn, asked)
            done = conn.execute(
                "INSERT INTO erasure_withdrawals (request_id, withdrawn_by, reason_code)"
                " VALUES (%s, %s, %s) RETURNING withdrawn_at",
                (request_id, withdrawn_by, reason_code),
            ).fetchone()
            assert done is not None
            return Withdrawal(asked, done["withdrawn_at"], withdrawn_by, reason_code)

    def legal_holds(self, case_ids: Sequence[str]) -> set[str]:
        """The cases among ``case_ids`` under a legal hold: an erasure request of theirs
        was withdrawn with LEGAL_HOLD (evidence the hub must keep for now, UU 27/2022
        Pasal 15). The retention policy passes them by."""
        if not case_ids:
            return set()
        with self._transaction() as conn:
            return _held(conn, case_ids)

    def erase_by_policy(
        self, subject: Subject, policy: str, applied_by: str, announce: Announce
    ) -> Confirmation:
        """Request and confirm at once, the policy deciding (reason RETENTION); refused
        for a case under a legal hold (:meth:`legal_holds`), in the same transaction."""
        with self._transaction() as conn:
            if _held(conn, [subject.case_id]):
                raise ErasureRefusedError(
                    f"{subject.case_id} is under a legal hold (an erasure request of theirs"
                    " was withdrawn with LEGAL_HOLD): kept"
                )
            asked = _request(conn, subject, "RETENTION", applied_by, policy)
            return _confirm(conn, asked, applied_by, announce)

    def erasure_of(self, subject: Subject) -> Confirmation | None:
        """How ``subject`` was erased (None: not by a recorded request)."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT r.request_id::text AS request_id, r.requested_at, r.case_id,"
                " r.reason_code, r.requested_by, r.policy, c.confirmed_at, c.confirmed_by,"
                " c.facts_shredded, c.event_id::text AS event_id"
                " FROM erasure_requests r JOIN erasure_confirmations c USING (request_id)"
                " WHERE r.case_id = %s",
                (subject.case_id,),
            ).fetchone()
        if row is None:
            return None
        asked = Request(**{k: row[k] for k in _request_fields()})
        return Confirmation(asked, row["confirmed_at"], row["confirmed_by"],
                            row["facts_shredded"], row["event_id"])  # fmt: skip


def _held(conn: psycopg.Connection[dict[str, Any]], case_ids: Sequence[str]) -> set[str]:
    """The cases among ``case_ids`` with an erasure request withdrawn with LEGAL_HOLD."""
    return {
        str(row["case_id"])
        for row in conn.execute(
            "SELECT DISTINCT r.case_id FROM erasure_requests r"
            " JOIN erasure_withdrawals w USING (request_id)"
            " WHERE w.reason_code = 'LEGAL_HOLD' AND r.case_id = ANY(%s)",
            (list(case_ids),),
        )
    }


def _request_fields() -> Sequence[str]:
    return ("request_id", "requested_at", "case_id", "reason_code", "requested_by", "policy")


def _request(
    conn: psycopg.Connection[dict[str, Any]],
    subject: Subject,
    reason_code: str,
    requested_by: str,
    policy: str | None,
) -> Request:
    person = conn.execute(
        "SELECT erased_at FROM person_keys WHERE subject_id = %s AND strength = %s",
        (subject.subject_id, subject.strength),
    ).fetchone()
    if person is None:
        raise ErasureRefusedError(f"the vault holds no person {subject.case_id}")
    if person["erased_at"] is not None:
        raise ErasureRefusedError(f"{subject.case_id} is already erased")
    row = conn.execute(
        "INSERT INTO erasure_requests (case_id, reason_code, requested_by, policy)"
        " VALUES (%s, %s, %s, %s) RETURNING request_id::text AS request_id, requested_at,"
        " case_id, reason_code, requested_by, policy",
        (subject.case_id, reason_code, requested_by, policy),
    ).fetchone()
    assert row is not None
    return Request(**row)


def _confirm(
    conn: psycopg.Connection[dict[str, Any]],
    asked: Request,
    confirmed_by: str,
    announce: Announce,
) -> Confirmation:
    _refuse_if_settled(conn, asked)
    same = asked.requested_by.strip().lower() == confirmed_by.strip().lower()
    if asked.policy is None and same:
        raise ErasureRefusedError(
            f"{confirmed_by} asked for this erasure: another administrator must confirm it"
        )
    # The case's lock, as a batch folding it holds it: a batch that loaded the case
    # before puts its CaseUpdated in the outbox ahead of this PersonErased; a later one
    # sees the person erased and publishes none (processors.pipeline, Pipeline._erased).
    lock_entities(conn, Kind.CASE, [asked.case_id])
    try:
        shredded = erase_in(conn, asked.subject, asked.request_id)
    except VaultError:
        raise ErasureRefusedError(
            f"{asked.case_id} is no longer in the vault to erase (erased by another request)"
        ) from None
    event_id, message = announce(asked, confirmed_by, shredded)
    headers = [[name, crypto.b64(value)] for name, value in message.headers]
    outbox = conn.execute(
        "INSERT INTO outbox (topic, key, value, headers) VALUES (%s, %s, %s, %s) RETURNING id",
        (message.topic, message.key, message.value, Jsonb(headers)),
    ).fetchone()
    row = conn.execute(
        "INSERT INTO erasure_confirmations (request_id, confirmed_by, facts_shredded, event_id)"
        " VALUES (%s, %s, %s, %s) RETURNING confirmed_at",
        (asked.request_id, confirmed_by, shredded, uuid.UUID(event_id)),
    ).fetchone()
    assert outbox is not None and row is not None
    return Confirmation(asked, row["confirmed_at"], confirmed_by, shredded, event_id,
                        int(outbox["id"]))  # fmt: skip


def _locked(conn: psycopg.Connection[dict[str, Any]], request_id: str) -> Request:
    """The request, its row locked for this transaction (two administrators acting on it
    at once are ordered: the second sees what the first did)."""
    row = conn.execute(
        _REQUEST + "erasure_requests WHERE request_id = %s FOR UPDATE", (request_id,)
    ).fetchone()
    if row is None:
        raise ErasureRefusedError(f"no erasure request {request_id}")
    return Request(**row)


def _refuse_if_settled(conn: psycopg.Connection[dict[str, Any]], asked: Request) -> None:
    """Refuse to act on a request already carried out or withdrawn (its row locked)."""
    done = conn.execute(
        "SELECT confirmed_at FROM erasure_confirmations WHERE request_id = %s",
        (asked.request_id,),
    ).fetchone()
    if done is not None:
        raise ErasureRefusedError(
            f"erasure request {asked.request_id} was already carried out"
            f" ({done['confirmed_at']:%Y-%m-%d %H:%M} UTC)"
        )
    gone = conn.execute(
        "SELECT withdrawn_at, withdrawn_by, reason_code FROM erasure_withdrawals"
        " WHERE request_id = %s",
        (asked.request_id,),
    ).fetchone()
    if gone is not None:
        raise ErasureRefusedError(
            f"erasure request {asked.request_id} was withdrawn by {gone['withdrawn_by']}"
            f" ({gone['reason_code']}, {gone['withdrawn_at']:%Y-%m-%d %H:%M} UTC)"
        )


def relay_own(
    conninfo: str, outbox_ids: Sequence[int], send: Callable[[Sequence[OutboxMessage]], None]
) -> int:
    """Send these outbox rows now, rather than wait for the processor's next turn, and
    delete them; only a row that is the oldest of its topic and key still waiting, so that
    nothing of the same case overtakes what was queued before it (the processor's relay
    sends the rest, in order). Returns how many were sent; ``send`` raising leaves them."""
    if not outbox_ids:
        return 0
    with psycopg.connect(conninfo) as conn, conn.transaction():
        rows = conn.execute(
            "SELECT o.id, o.topic, o.key, o.value, o.headers FROM outbox o"
            " WHERE o.id = ANY(%s) AND NOT EXISTS (SELECT 1 FROM outbox p"
            " WHERE p.topic = o.topic AND p.key = o.key AND p.id < o.id)"
            " ORDER BY o.id FOR UPDATE SKIP LOCKED",
            (list(outbox_ids),),
        ).fetchall()
        send([
            OutboxMessage(topic, bytes(key), bytes(value),
                          tuple((name, crypto.unb64(b64)) for name, b64 in headers))
            for _, topic, key, value, headers in rows
        ])  # fmt: skip
        conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", ([r[0] for r in rows],))
    return len(rows)
