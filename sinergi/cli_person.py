"""``sinergi person export NIK``: a data subject's right of access (:mod:`sinergi.person`),
registered on the ``sinergi`` command line (:data:`sinergi.cli.app`) through its
``COMMAND_MODULES``. Administrator only: it reads as ``sinergi_owner`` and pseudonymises
with the members' shared key, both from the hub's own secrets, as ``audit verify`` and
``agency add`` do; every export is recorded in ``person_exports``.

The raw NIK goes nowhere but the document: not into the export's record, the messages,
or a log. Left out of the command line, it is asked for without an echo (or read from
standard input), so that it stays out of the shell's history and the process list too.

``sinergi person erase`` and ``sinergi person retention`` erase people (:mod:`sinergi.erasure`):
a request by one administrator, carried out by another; or the retention policy, applied.
Each erasure is recorded (migration 0014) and announced as the hub: a signed PersonErased
on ``hub.cases``, put in the hub's outbox with the erasure and relayed at once.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from kafka.errors import KafkaError
from rich.text import Text

from processors.ports import OutboxMessage, outbox_message
from processors.vault import Subject, VaultError
from schemas.faults import DataRefusedError, TransientError
from schemas.model import Event, utcnow
from sinergi import bootstrap, erasure, i18n, person
from sinergi.cli import (
    EXPECTED_ERRORS,
    AtOption,
    app,
    err,
    error_line,
    fail,
    moment_at,
    out,
    print_json,
    settings,
)
from sinergi.config import Settings
from sinergi.display import local_time
from sinergi.erasure import ErasureError
from sinergi.i18n import t
from sinergi.person import NothingHeldError, PersonExportError, checked_text
from sinks.erasure import Confirmation, ErasureRefusedError, ErasureStore, Request, relay_own
from sinks.kafka import BrokerUnavailableError, send_all

person_app = typer.Typer(help=t("group.person"), no_args_is_help=True)
app.add_typer(person_app, name="person")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _asked_nik() -> str:
    """The NIK without an echo at a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        return getpass.getpass(f"{t('person_nik_prompt')}: ")
    return sys.stdin.readline().strip()


def write_private(path: Path, text: str) -> None:
    """``text`` into ``path``, readable by its owner only (it holds the NIK)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


# What the person commands may meet besides the command line's own: one sentence each.
PERSON_ERRORS = (
    PersonExportError,
    ErasureError,
    ErasureRefusedError,
    VaultError,
    TransientError,
    DataRefusedError,
    *EXPECTED_ERRORS,
)


@person_app.command("export", help=t("cmd.person_export"))
def person_export(
    nik: Annotated[
        str | None, typer.Argument(help=t("arg.person_nik"), metavar="NIK", show_default=False)
    ] = None,
    case: Annotated[
        str | None, typer.Option("--case", help=t("opt.person_case"), show_default=False)
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help=t("opt.export_out"), show_default=False)
    ] = None,
    request: Annotated[
        str | None, typer.Option(help=t("opt.export_request"), show_default=False)
    ] = None,
    by: Annotated[str | None, typer.Option(help=t("opt.who"), show_default=False)] = None,
) -> None:
    s = settings()
    vault = bootstrap.vault(s, "sinergi_owner", create=False)
    try:
        if case is not None and nik is not None:
            raise ErasureError("give a NIK or --case, not both")
        typed = None if case else nik if nik not in (None, "-") else _asked_nik()
        done = person.export(
            bootstrap.conninfo(s, "sinergi_owner"),
            bootstrap.pseudonymiser(s),
            vault,
            nik=typed,
            case_id=case,
            exported_by=by or getpass.getuser(),
            request_ref=request,
        )
    except NothingHeldError as exc:
        err.print(Text(t("person_nothing_held") if case is None else str(exc), style="yellow"))
        raise typer.Exit(code=1) from None
    except PERSON_ERRORS as exc:
        fail(exc)
    finally:
        vault.close()
    text = json.dumps(done.document, ensure_ascii=False, indent=2, default=_jsonable) + "\n"
    if out_path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_private(out_path, text)
    if done.erased:
        erased = done.document["vault"]["erasure"]
        line = t("person_export_erased", at=local_time(erased["erased_at"]),
                 request=erased["request_id"])  # fmt: skip
        err.print(Text(line, style="yellow"), soft_wrap=True)
    elif not done.document["subject"]["held"]:
        err.print(Text(t("person_not_held"), style="yellow"))
    where = t("stdout") if out_path is None else str(out_path)
    line = t("person_exported", case=done.case_id, events=done.events, alerts=done.alerts,
             where=where, seq=done.seq)  # fmt: skip
    err.print(Text(line, style="green"), soft_wrap=True)


# --- erasure ---------------------------------------------------------------------------------


class HubAnnouncer:
    """How an administrator's erasure publishes as the hub: PersonErased encoded and
    signed as the processor's outputs are (its member, key and schema), into the outbox;
    then relayed now with the processor's Kafka credential. (The publisher is
    :func:`sinergi.bootstrap.hub_publisher`, the one ``processor_parts`` uses.)"""

    def __init__(self, s: Settings) -> None:
        self.settings = s
        self.publisher = bootstrap.hub_publisher(s)
        self.announce = erasure.announcer(self.encode, bootstrap.PROCESSOR_MEMBER, utcnow)

    def encode(self, event: Event) -> OutboxMessage:
        return outbox_message(self.publisher.encode(event))

    def send(self, messages: Sequence[OutboxMessage]) -> None:
        send_all(self.publisher.producer, messages)

    def relay(self, done: list[Confirmation]) -> int:
        """Send these erasures' announcements now; 0 when Kafka cannot take them (they
        wait in the outbox for the processor's relay)."""
        ids = [c.outbox_id for c in done if c.outbox_id is not None]
        try:
            return relay_own(bootstrap.conninfo(self.settings, "sinergi_owner"), ids, self.send)
        except (KafkaError, BrokerUnavailableError, OSError, psycopg.Error):
            return 0

    def close(self) -> None:
        self.publisher.close()


def _who(by: str | None) -> str:
    who = checked_text("--by", by or getpass.getuser())
    if who is None:
        raise PersonExportError("--by: who (a name or staff code) is required")
    return who


def _request_line(asked: Request) -> dict[str, Any]:
    return {"request_id": asked.request_id, "case_id": asked.case_id,
            "reason_code": asked.reason_code, "requested_by": asked.requested_by,
            "requested_at": asked.requested_at}  # fmt: skip


def _erased_line(done: Confirmation, published: bool) -> dict[str, Any]:
    return {**_request_line(done.request), "confirmed_by": done.confirmed_by,
            "confirmed_at": done.confirmed_at, "facts_shredded": done.facts_shredded,
            "event_id": done.event_id, "published": published}  # fmt: skip


def _show_erased(done: Confirmation, published: bool, as_json: bool) -> None:
    if as_json:
        print_json(_erased_line(done, published))
        return
    line = t("person_erased", case=done.request.case_id, facts=done.facts_shredded,
             request=done.request.request_id, asked=done.request.requested_by,
             confirmed=done.confirmed_by)  # fmt: skip
    out.print(Text(line, style="green"), soft_wrap=True)
    where = t("person_erased_published") if published else t("person_erased_waits")
    err.print(Text(where), soft_wrap=True)


@person_app.command("erase", help=t("cmd.person_erase"))
def person_erase(
    nik: Annotated[
        str | None, typer.Argument(help=t("arg.person_nik"), metavar="NIK", show_default=False)
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help=t("opt.erase_reason"), show_default=False)
    ] = None,
    case: Annotated[
        str | None, typer.Option("--case", help=t("opt.person_case"), show_default=False)
    ] = None,
    confirm: Annotated[
        str | None,
        typer.Option(
            "--confirm", help=t("opt.erase_confirm"), metavar="REQUEST_ID", show_default=False
        ),
    ] = None,
    pending: Annotated[bool, typer.Option("--list", help=t("opt.erase_list"))] = False,
    withdraw: Annotated[
        str | None,
        typer.Option(
            "--withdraw", help=t("opt.erase_withdraw"), metavar="REQUEST_ID", show_default=False
        ),
    ] = None,
    by: Annotated[str | None, typer.Option(help=t("opt.who"), show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help=t("opt.json"))] = False,
) -> None:
    s = settings()
    try:
        store = _erasure_store(s)
        if pending:
            _list_pending(store, as_json)
        elif confirm is not None:
            if nik or case or reason or withdraw:
                raise ErasureError("--confirm takes a request id only (the request names who)")
            _confirm(s, store, confirm, _who(by), as_json)
        elif withdraw is not None:
            if nik or case:
                raise ErasureError("--withdraw takes a request id and --reason only")
            _withdraw(store, withdraw, reason, _who(by), as_json)
        else:
            _request(s, store, nik, case, reason, _who(by), as_json)
    except NothingHeldError:
        fail(ErasureError(t("person_nothing_held")))
    except PERSON_ERRORS as exc:
        fail(exc)


def _list_pending(store: ErasureStore, as_json: bool) -> None:
    waiting = store.pending()
    for asked in waiting:
        if as_json:
            print_json(_request_line(asked))
        else:
            line = t("erase_pending_line", request=asked.request_id, case=asked.case_id,
                     reason=asked.reason_code, by=asked.requested_by,
                     at=local_time(asked.requested_at))  # fmt: skip
            out.print(Text(line), soft_wrap=True)
    if not waiting and not as_json:
        err.print(t("erase_none_pending"))


def _erasure_store(s: Settings) -> ErasureStore:
    """Erasures are recorded, and announced, in the deployment whose database holds the
    vault: not from a second projection sharing another's vault."""
    if s.vault_database not in (None, s.database):
        raise ErasureError(
            "this ledger's vault is another database's (SINERGI_VAULT_DATABASE): erase on the"
            " deployment that holds it"
        )
    return ErasureStore(bootstrap.conninfo(s, "sinergi_owner"))


def _request(
    s: Settings,
    store: ErasureStore,
    nik: str | None,
    case: str | None,
    reason: str | None,
    who: str,
    as_json: bool,
) -> None:
    if reason is None:
        raise ErasureError(f"--reason is one of {', '.join(erasure.ASKED_REASONS)}")
    code = erasure.reason_code(reason)
    if case is not None:
        if nik is not None:
            raise ErasureError("give a NIK or --case, not both")
        subject: Subject | None = person.subject_of_case(case)
    else:
        typed = nik if nik not in (None, "-") else _asked_nik()
        vault = bootstrap.vault(s, "sinergi_owner", create=False)
        try:
            subject = person.subject_of_nik(bootstrap.pseudonymiser(s), vault, typed or "")
        finally:
            vault.close()
    if subject is None:
        raise NothingHeldError("nothing held")
    asked = store.request(subject, code, who)
    if as_json:
        print_json(_request_line(asked))
        return
    line = t("erase_requested", request=asked.request_id, case=asked.case_id, reason=code,
             by=who)  # fmt: skip
    out.print(Text(line, style="green"), soft_wrap=True)
    err.print(Text(t("erase_confirm_hint", request=asked.request_id)), soft_wrap=True)


def _confirm(s: Settings, store: ErasureStore, request: str, who: str, as_json: bool) -> None:
    asked = store.find(request)
    hub = HubAnnouncer(s)
    try:
        done = store.confirm(asked.request_id, who, hub.announce)
        published = hub.relay([done]) == 1
    finally:
        hub.close()
    _show_erased(done, published, as_json)


def _withdraw(
    store: ErasureStore, request: str, reason: str | None, who: str, as_json: bool
) -> None:
    if reason is None:
        raise ErasureError(f"--reason is one of {', '.join(erasure.WITHDRAWAL_REASONS)}")
    code = erasure.withdrawal_code(reason)
    asked = store.find(request)
    gone = store.withdraw(asked.request_id, who, code)
    if as_json:
        print_json({**_request_line(asked), "withdrawn_by": gone.withdrawn_by,
                    "withdrawn_at": gone.withdrawn_at, "withdrawal_reason": code})  # fmt: skip
        return
    line = t("erase_withdrawn", request=asked.request_id, case=asked.case_id, reason=code,
             by=who)  # fmt: skip
    out.print(Text(line), soft_wrap=True)


@person_app.command("retention", help=t("cmd.person_retention"))
def person_retention(
    apply: Annotated[bool, typer.Option("--apply", help=t("opt.retention_apply"))] = False,
    at: AtOption = None,
    policy_path: Annotated[
        Path | None, typer.Option("--policy", help=t("opt.retention_policy"), show_default=False)
    ] = None,
    by: Annotated[str | None, typer.Option(help=t("opt.who"), show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help=t("opt.json"))] = False,
) -> None:
    s = settings()
    now = utcnow()
    moment = moment_at(at, now)
    vault = bootstrap.vault(s, "sinergi_owner", create=False)
    try:
        policy = erasure.load_policy(policy_path or erasure.POLICY_FILE)
        erasure.check_moment(moment, now, applying=apply)
        who = _who(by)
        past = vault.due(policy.keep_for, moment)
        held = _erasure_store(s).legal_holds([p.case_id for p in past])
        due = [subject for subject in past if subject.case_id not in held]
        if not apply:
            for subject in past:
                kept = subject.case_id in held
                if as_json:
                    print_json({"case_id": subject.case_id, "due": not kept, "legal_hold": kept})
                else:
                    out.print(
                        t("retention_held" if kept else "retention_due", case=subject.case_id)
                    )
            err.print(t("retention_listed", count=len(due), at=local_time(moment)))
            return
        for subject in past:
            if subject.case_id in held:
                err.print(t("retention_held", case=subject.case_id))
        _apply(s, policy, due, who, as_json)
    except PERSON_ERRORS as exc:
        fail(exc)
    finally:
        vault.close()


def _apply(
    s: Settings, policy: erasure.RetentionPolicy, due: list[Subject], who: str, as_json: bool
) -> None:
    store = _erasure_store(s)
    hub = HubAnnouncer(s)
    done: list[Confirmation] = []
    try:
        for subject in due:
            try:
                done.append(store.erase_by_policy(subject, policy.digest, who, hub.announce))
            except ErasureRefusedError as exc:  # erased meanwhile: the others go on
                err.print(error_line(i18n.sentence(str(exc))), soft_wrap=True)
    finally:
        # Whatever was erased is announced, even if a later erasure failed.
        published = hub.relay(done) == len(done)
        hub.close()
    for one in done:
        _show_erased(one, published, as_json)
    err.print(t("retention_applied", count=len(done)))


if __name__ == "__main__":  # pragma: no cover - `python -m sinergi.cli_person person ...`
    app()
