"""``sinergi agency intake-keys | rotate-intake | retire-intake``: the hub's intake keys,
which desks seal people to (:mod:`schemas.person_seal`). Registered on the ``sinergi``
command line (:data:`sinergi.cli.app`) through its ``COMMAND_MODULES``.

Rotate monthly; retire a key once the hub has taken in everything sealed to it: the
processor has consumed the agency topics, and desks that were offline when it was rotated
out have had time to send what they held (a grace, 7 days unless told). From then on what
was sealed to it is readable only from the vault, under each person's own key, and an
erasure reaches every copy.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from kafka.errors import KafkaError
from rich.table import Table
from rich.text import Text

from schemas.model import utcnow
from sinergi import members, runtime
from sinergi.cli import EXPECTED_ERRORS, agency_app, fail, json_option, out, print_json, settings
from sinergi.i18n import t
from sinergi.members import MemberError


@agency_app.command("intake-keys", help=t("cmd.intake_keys"))
def intake_keys(json_lines: Annotated[bool, json_option()] = False) -> None:
    try:
        found = members.intake_keys(settings())
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if json_lines:
        for kid, current in found:
            print_json({"key_id": kid, "current": current})
        return
    table = Table(t("col.key_id"), t("col.current"))
    for kid, current in found:
        table.add_row(kid, t("yes") if current else "-")
    out.print(table)


@agency_app.command("rotate-intake", help=t("cmd.rotate_intake"))
def rotate_intake() -> None:
    try:
        kid = members.rotate_intake_key(settings())
    except EXPECTED_ERRORS as exc:
        fail(exc)
    out.print(Text(t("intake_rotated", kid=kid), style="green"))


@agency_app.command("retire-intake", help=t("cmd.retire_intake"))
def retire_intake(
    key_id: Annotated[str, typer.Argument(help=t("arg.intake_key"))],
    grace_days: Annotated[float, typer.Option(help=t("opt.grace_days"), min=0)] = 7,
) -> None:
    s = settings()
    try:
        try:
            waiting = runtime.backlog(s)
        except KafkaError as exc:
            raise MemberError(
                f"cannot tell whether the processor has taken in everything sealed to {key_id}"
                f" (Kafka: {type(exc).__name__}): not retired"
            ) from None
        refusal = members.retirement_refusal(
            key_id, members.current_intake_since(s), utcnow(), timedelta(days=grace_days),
            waiting,
        )  # fmt: skip
        if refusal is not None:
            raise MemberError(refusal)
        members.retire_intake_key(s, key_id)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    out.print(Text(t("intake_retired", kid=key_id), style="yellow"))
