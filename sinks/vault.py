"""The vault of people in PostgreSQL (:class:`processors.vault.Vault`; tables of
migration 0013). One connection, one transaction per call; the subjects of a batch
in a few round trips whatever its size (what another worker wrote first is read back
only when there is any)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import psycopg

from processors.vault import (
    Disclosure,
    Fact,
    Kept,
    Subject,
    VaultError,
    VaultKeys,
    past_retention,
)
from sinks.binary_copy import copy_rows
from sinks.postgres import pg_array, store_error

# psycopg quotes and escapes every element of an array parameter with a regular
# expression, which cost about a tenth of a second per batch of 2,000. So what a batch
# keeps reaches PostgreSQL by COPY (formatted in C) into a temporary table, then one INSERT
# from it, as the ledger store stages its rows (sinks.postgres); the lookups it searches
# for travel as hex text.
_FACT_COLUMNS = ("carrier_id", "subject_id", "event_type", "occurred_at", "fields", "contact")
_STAGES = tuple(
    f"CREATE TEMP TABLE IF NOT EXISTS {table}_stage (LIKE {table} INCLUDING DEFAULTS)"
    " ON COMMIT DELETE ROWS"
    for table in ("person_keys", "person_facts")
)


def _staged_insert(
    conn: psycopg.Connection[Any],
    stage: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    insert: str,
) -> list[tuple[Any, ...]]:
    """``rows`` copied into the temporary table ``stage`` (see :meth:`PostgresVault._stage`),
    then ``insert`` (which reads it) run; its returned rows. The stage empties at commit."""
    with conn.cursor() as cur:
        copy_rows(cur, stage, columns, rows, like=stage.removesuffix("_stage"))
        return cur.execute(insert).fetchall()


class PostgresVault:
    def __init__(self, conninfo: str, keys: VaultKeys) -> None:
        self.conninfo = conninfo
        self.keys = keys
        self._conn: psycopg.Connection[Any] | None = None
        self._staged: psycopg.Connection[Any] | None = None  # the one with stage tables

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.conninfo)
            conn = self._conn
            with conn.transaction():
                yield conn
        except psycopg.Error as exc:
            if self._conn is not None and (
                self._conn.broken or isinstance(exc, psycopg.OperationalError)
            ):
                self._conn.close()
            raise store_error(exc) from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def keep(self, kept: Sequence[Kept]) -> dict[str, Subject]:
        if not kept:
            return {}
        self._stage()
        with self._transaction() as conn:
            found = self._carried(conn, [k.carrier_id for k in kept])
            # A message given twice in one batch keeps its first, as one kept before.
            first: dict[str, Kept] = {}
            for k in kept:
                if k.carrier_id not in found:
                    first.setdefault(k.carrier_id, k)
            new = list(first.values())
            if not new:
                return found
            lookups = {k.carrier_id: self.keys.lookup(k.strength, k.pseudonym) for k in new}
            people = self._people(conn, list(set(lookups.values())))
            made = []
            for k in new:
                lookup = lookups[k.carrier_id]
                if lookup not in people:
                    subject, wrapped = self.keys.new_subject(k.strength)
                    made.append((subject.subject_id, subject.strength, lookup, wrapped))
                    people[lookup] = (subject, wrapped)
            if made:
                inserted = {
                    bytes(row[0])
                    for row in _staged_insert(
                        conn,
                        "person_keys_stage",
                        ("subject_id", "strength", "lookup", "wrapped_dek"),
                        made,
                        "INSERT INTO person_keys (subject_id, strength, lookup, wrapped_dek)"
                        " SELECT subject_id, strength, lookup, wrapped_dek FROM person_keys_stage"
                        " ON CONFLICT (lookup) DO NOTHING RETURNING lookup",
                    )
                }
                # Another worker may have made the same person first: theirs holds.
                lost = [m[2] for m in made if m[2] not in inserted]
                if lost:
                    people.update(self._people(conn, lost))
            rows = []
            for k in new:
                subject, wrapped = people[lookups[k.carrier_id]]
                found[k.carrier_id] = subject
                fields = self.keys.seal_fields(subject, wrapped, k)
                contact = (
                    self.keys.seal_contact(subject, wrapped, k.carrier_id, k.contact)
                    if k.contact is not None
                    else None
                )
                rows.append((k.carrier_id, subject.subject_id, k.event_type, k.occurred_at,
                             fields, contact))  # fmt: skip
            stored = {
                row[0]
                for row in _staged_insert(
                    conn,
                    "person_facts_stage",
                    _FACT_COLUMNS,
                    rows,
                    "INSERT INTO person_facts (carrier_id, subject_id, event_type, occurred_at,"
                    " fields, contact) SELECT carrier_id, subject_id, event_type, occurred_at,"
                    " fields, contact FROM person_facts_stage"
                    " ON CONFLICT (carrier_id) DO NOTHING RETURNING carrier_id",
                )
            }
            # A carrier another worker kept meanwhile keeps the subject it got there.
            taken = [k.carrier_id for k in new if k.carrier_id not in stored]
            if taken:
                found.update(self._carried(conn, taken))
            return found

    def _stage(self) -> None:
        """The temporary tables :func:`_staged_insert` copies into, made once per connection
        in a transaction of their own (the ledger store makes its own when it connects), so
        that no batch rolled back takes them away. Only :meth:`keep` needs them: a role that
        only looks people up need not be able to make them."""
        if self._staged is None or self._staged is not self._conn or self._staged.closed:
            with self._transaction() as conn:
                for statement in _STAGES:
                    conn.execute(statement)
            self._staged = self._conn

    @staticmethod
    def _carried(conn: psycopg.Connection[Any], carrier_ids: Sequence[str]) -> dict[str, Subject]:
        rows = conn.execute(
            "SELECT f.carrier_id, k.subject_id, k.strength FROM person_facts f"
            " JOIN person_keys k USING (subject_id) WHERE f.carrier_id = ANY(%s::text[])",
            (pg_array(list(carrier_ids)),),
        ).fetchall()
        return {carrier: Subject(subject, strength) for carrier, subject, strength in rows}

    @staticmethod
    def _people(
        conn: psycopg.Connection[Any], lookups: Sequence[bytes]
    ) -> dict[bytes, tuple[Subject, bytes]]:
        rows = conn.execute(
            "SELECT lookup, subject_id, strength, wrapped_dek FROM person_keys"
            " WHERE lookup = ANY(ARRAY(SELECT decode(h, 'hex') FROM unnest(%s::text[]) AS h))",
            (pg_array([lookup.hex() for lookup in lookups]),),  # hex: see _staged_insert
        ).fetchall()
        return {bytes(lk): (Subject(s, st), bytes(w)) for lk, s, st, w in rows}

    def carried(self, carrier_ids: Sequence[str]) -> dict[str, Subject]:
        if not carrier_ids:
            return {}
        with self._transaction() as conn:
            return self._carried(conn, carrier_ids)

    def find(self, strength: str, pseudonym: str) -> Subject | None:
        """Through ``person_subject`` (migration 0014), so that a role that may look a
        person up but not read the vault (the analyst's ``ledger case NIK``) can."""
        lookup = self.keys.lookup(strength, pseudonym)
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT subject_id, strength FROM person_subject(%s)", (lookup,)
            ).fetchone()
        return Subject(row[0], row[1]) if row is not None else None

    def disclose(self, subject: Subject) -> Disclosure:
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT wrapped_dek, created_at, erased_at, erasure_ref FROM person_keys"
                " WHERE subject_id = %s AND strength = %s",
                (subject.subject_id, subject.strength),
            ).fetchone()
            if row is None:
                raise VaultError("no such subject in the vault")
            facts = conn.execute(
                "SELECT carrier_id, event_type, occurred_at, fields, contact FROM person_facts"
                " WHERE subject_id = %s ORDER BY occurred_at, carrier_id",
                (subject.subject_id,),
            ).fetchall()
        wrapped = _bytes(row[0])
        return Disclosure(
            subject,
            row[1],
            row[2],
            row[3],
            [
                Fact(c, t, at, self.keys.open_fields(subject, wrapped, c, _bytes(f)),
                     self.keys.open_contact(subject, wrapped, c, _bytes(contact)))
                for c, t, at, f, contact in facts
            ],
        )  # fmt: skip

    def contact(self, carrier_id: str) -> str | None:
        """Through ``person_contact`` (migration 0015), so that a role that opens contacts
        for police (the analyst's, on the hub's machine) reads nothing else of the vault."""
        return self.contact_of(carrier_id)[1]

    def contact_of(self, carrier_id: str) -> tuple[Subject, str | None]:
        """:meth:`contact`, with whom it is about (whose case says whether the record
        that carried it still stands)."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT subject_id, strength, wrapped_dek, contact FROM person_contact(%s)",
                (carrier_id,),
            ).fetchone()
        if row is None:
            raise VaultError("the vault never saw this message")
        subject = Subject(row[0], row[1])
        return subject, self.keys.open_contact(subject, _bytes(row[2]), carrier_id, _bytes(row[3]))

    def erase(self, subject: Subject, reference: str) -> int:
        with self._transaction() as conn:
            return erase_in(conn, subject, reference)

    def erased(self, subjects: Sequence[Subject]) -> dict[Subject, datetime]:
        if not subjects:
            return {}
        wanted = {s.subject_id: s for s in subjects}
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT subject_id, strength, erased_at FROM person_keys"
                " WHERE subject_id = ANY(%s::text[]) AND erased_at IS NOT NULL",
                (pg_array(sorted(wanted)),),
            ).fetchall()
        found = {Subject(subject_id, strength): at for subject_id, strength, at in rows}
        return {s: at for s, at in found.items() if wanted[s.subject_id] == s}

    def due(self, keep_for: Mapping[str, timedelta], now: datetime) -> list[Subject]:
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT k.subject_id, k.strength, f.event_type, f.occurred_at"
                " FROM person_keys k JOIN person_facts f USING (subject_id)"
                " WHERE k.erased_at IS NULL ORDER BY k.subject_id"
            ).fetchall()
        facts: dict[Subject, list[tuple[str, datetime]]] = defaultdict(list)
        for subject_id, strength, kind, at in rows:
            facts[Subject(subject_id, strength)].append((kind, at))
        return [s for s, f in facts.items() if past_retention(f, keep_for, now)]


def erase_in(conn: psycopg.Connection[Any], subject: Subject, reference: str) -> int:
    """Erase ``subject`` in the caller's transaction (the administrator's erasure records
    its confirmation and the PersonErased it publishes in the same one): the key and the
    lookup first, which locks the person's row, so an intake adding a fact either waits
    and is refused or is shredded with the rest (migration 0014); then the fields."""
    row = conn.execute(
        "UPDATE person_keys SET wrapped_dek = NULL, lookup = NULL, erased_at = now(),"
        " erasure_ref = %s WHERE subject_id = %s AND strength = %s"
        " AND erased_at IS NULL RETURNING subject_id",
        (reference, subject.subject_id, subject.strength),
    ).fetchone()
    if row is None:
        raise VaultError("no such subject in the vault, or already erased")
    return conn.execute(
        "UPDATE person_facts SET fields = NULL, contact = NULL WHERE subject_id = %s",
        (subject.subject_id,),
    ).rowcount


def _bytes(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None
