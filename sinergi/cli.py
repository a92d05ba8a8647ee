"""``sinergi``: the command line for the stack, the agencies, the processor and the ledger."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from deploy.procs import StackError
from producers.fields import InvalidInputError
from producers.posts import COLUMNS, interceptions_from_rows, read_csv
from producers.pseudonym import PseudonymKeyError
from schemas.registry import RegistryError
from schemas.serde import SerializationError
from sinergi import bootstrap, runtime
from sinergi.config import ConfigError, Settings, from_env

app = typer.Typer(
    help="Sinergi: the NTT inter-agency hub against non-procedural migration and trafficking.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stack_app = typer.Typer(help="The local Kafka, PostgreSQL and schema registry.")
post_app = typer.Typer(help="Posts (posko): record interceptions.")
processor_app = typer.Typer(help="The ledger processor (faust worker).")
ledger_app = typer.Typer(help="The joint case ledger in PostgreSQL.")
app.add_typer(stack_app, name="stack")
app.add_typer(post_app, name="post")
app.add_typer(processor_app, name="processor")
app.add_typer(ledger_app, name="ledger")

out = Console()
err = Console(stderr=True)

EXPECTED_ERRORS = (
    StackError,
    ConfigError,
    RegistryError,
    SerializationError,
    InvalidInputError,
    PseudonymKeyError,
)


def settings() -> Settings:
    return from_env()


def fail(exc: BaseException) -> None:
    if isinstance(exc, InvalidInputError):
        err.print(f"[red]refused, nothing was sent:[/red] {len(exc.errors)} problem(s)")
        for problem in exc.errors[:50]:
            err.print(f"  - {problem}")
        if len(exc.errors) > 50:
            err.print(f"  ... and {len(exc.errors) - 50} more")
    else:
        err.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(code=2)


# --- stack -------------------------------------------------------------------------------


@stack_app.command("up")
def stack_up() -> None:
    """Start PostgreSQL, Kafka and the schema registry; create topics, schemas and tables."""
    try:
        runtime.up(settings(), report=out.print)
    except EXPECTED_ERRORS as exc:
        fail(exc)


@stack_app.command("down")
def stack_down() -> None:
    """Stop the processor and every service (data stays in SINERGI_HOME)."""
    try:
        runtime.down(settings(), report=out.print)
    except EXPECTED_ERRORS as exc:
        fail(exc)


@stack_app.command("status")
def stack_status() -> None:
    """Show whether each service runs."""
    table = Table("service", "status")
    for name, state in runtime.status(settings()).items():
        table.add_row(name, state)
    out.print(table)


# --- posts -------------------------------------------------------------------------------


def _publish_interceptions(
    post: str, rows: list[dict[str, str | None]], dry_run: bool, *, from_file: bool
) -> None:
    s = settings()
    try:
        desk = bootstrap.post_desk(s, post)
        if from_file:
            events = interceptions_from_rows(desk, rows)
        else:
            events = [desk.interception(row) for row in rows]
        if dry_run:
            out.print(
                f"[green]valid:[/green] {len(events)} interception(s); nothing sent (dry run)"
            )
            return
        pub = bootstrap.publisher(s)
        try:
            sent = pub.publish(events)
        finally:
            pub.close()
    except KeyError as exc:
        fail(StackError(str(exc.args[0])))
        return
    except EXPECTED_ERRORS as exc:
        fail(exc)
        return
    out.print(f"[green]published[/green] {len(sent)} interception(s) from post {post}")
    for item in sent[:5]:
        out.print(f"  {item.event_id} -> {item.topic}[{item.partition}]@{item.offset}")
    if len(sent) > 5:
        out.print(f"  ... and {len(sent) - 5} more")


@post_app.command("record")
def post_record(
    post: Annotated[str, typer.Option(help="Post id: eltari, tenau, ...")],
    occurred_at: Annotated[str, typer.Option(help="When, e.g. 2026-01-20T08:30 (WITA)")],
    outcome: Annotated[str, typer.Option(help="SENT_HOME, HANDED_TO_POLICE, SHELTERED, ...")],
    officer: Annotated[str, typer.Option(help="Recording officer's staff code")],
    nik: Annotated[str, typer.Option(help="16-digit NIK (pseudonymised here)")] = "",
    name: Annotated[str, typer.Option(help="Name, only when there is no NIK")] = "",
    sex: Annotated[str, typer.Option(help="F/P or M/L")] = "",
    birth_date: Annotated[str, typer.Option(help="YYYY-MM-DD")] = "",
    estimated_age: Annotated[str, typer.Option(help="Age when no birth date")] = "",
    origin_regency: Annotated[str, typer.Option(help="Kemendagri code or name")] = "",
    destination_country: Annotated[str, typer.Option(help="ISO code, e.g. MY")] = "",
    sector: Annotated[str, typer.Option(help="DOMESTIC_WORK (PRT), PLANTATION, ...")] = "",
    exit_point: Annotated[str, typer.Option(help="Exit point id (default: the post's)")] = "",
    route: Annotated[str, typer.Option(help="Route id")] = "",
    documents: Annotated[str, typer.Option(help="Problems, ';'-separated: FORGED;...")] = "",
    recruiter: Annotated[str, typer.Option(help="Recruiter phone or name (pseudonymised)")] = "",
    group_ref: Annotated[str, typer.Option(help="Group code shared by people together")] = "",
    event_id: Annotated[str, typer.Option(help="The post's own record id (a UUID)")] = "",
    dry_run: Annotated[bool, typer.Option(help="Validate only")] = False,
) -> None:
    """Record one interception at a post."""
    values = locals()
    row = {column: values[column] for column in COLUMNS}
    _publish_interceptions(post, [row], dry_run, from_file=False)


@post_app.command("import")
def post_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    post: Annotated[str, typer.Option(help="Post id: eltari, tenau, ...")],
    dry_run: Annotated[bool, typer.Option(help="Validate only")] = False,
) -> None:
    """Import a CSV file of interceptions: every row is checked before anything is sent."""
    try:
        rows = read_csv(file)
    except InvalidInputError as exc:
        fail(exc)
        return
    _publish_interceptions(post, rows, dry_run, from_file=True)


# --- processor ---------------------------------------------------------------------------


@app.command("process")
def process() -> None:
    """Run the ledger processor in the foreground (Ctrl-C stops it cleanly)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        runtime.run_processor(settings())
    except EXPECTED_ERRORS as exc:
        fail(exc)


@processor_app.command("start")
def processor_start() -> None:
    """Start the processor in the background (logs in SINERGI_HOME/logs/processor.log)."""
    try:
        out.print(f"processor: {runtime.processor(settings()).start()}")
    except EXPECTED_ERRORS as exc:
        fail(exc)


@processor_app.command("stop")
def processor_stop() -> None:
    out.print(f"processor: {runtime.processor(settings()).stop()}")


# --- ledger ------------------------------------------------------------------------------


@ledger_app.command("summary")
def ledger_summary() -> None:
    """Cases and interceptions per post, as the analysts' views show them."""
    try:
        summary = runtime.ledger_summary(settings())
    except EXPECTED_ERRORS as exc:
        fail(exc)
        return
    out.print(runtime.render_summary(summary))


@app.command("demo")
def demo(
    months: Annotated[int, typer.Option(help="Months of activity to simulate")] = 6,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data)")] = 2026,
) -> None:
    """Start everything and show agencies publishing and the ledger filling."""
    try:
        runtime.demo(settings(), months=months, seed=seed, report=out.print)
    except EXPECTED_ERRORS as exc:
        fail(exc)


def main() -> None:  # pragma: no cover - console entry
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
