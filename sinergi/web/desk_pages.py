"""Posts, BP3MI, districts, the hotline (and police files) in the browser: a form per
agency form, the NIK checked as it is typed, a receipt; CSV files with a dry run first."""

from __future__ import annotations

from datetime import UTC, datetime

from anyio import to_thread
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from producers import forms
from producers.fields import InvalidInputError
from producers.formkit import FILE_MAX_BYTES
from schemas.model import WITA, Event
from schemas.nik import NikError, parse_nik
from sinergi.web import i18n
from sinergi.web.access import Capability, recordable_forms
from sinergi.web.desk import with_officer
from sinergi.web.guard import Context, page
from sinergi.web.officers import AuditEntry
from sinergi.web.routing import regency_name
from sinergi.web.uploads import UploadJob, receipt_csv, refused_csv

UPLOAD_MAX = FILE_MAX_BYTES


def _forms(ctx: Context) -> list[forms.Form[Event]]:
    assert ctx.unit is not None and ctx.unit.agency is not None
    return recordable_forms(ctx.unit.agency)


def _form(ctx: Context, name: str) -> forms.Form[Event] | None:
    return next((f for f in _forms(ctx) if f.name == name), None)


def _audit(ctx: Context, action: str, target: str, outcome: str, detail: str = "") -> None:
    s = ctx.session
    ctx.services.officers.audit(
        AuditEntry(action, outcome, s.username, s.unit, s.officer_code, target, detail or None)
    )


@page(Capability.RECORD)
async def record_index(ctx: Context) -> Response:
    return ctx.render("record_index.html", forms=_forms(ctx))


def _now_wita() -> str:
    return datetime.now(UTC).astimezone(WITA).strftime("%Y-%m-%dT%H:%M")


@page(Capability.RECORD)
async def record_form(ctx: Context) -> Response:
    form = _form(ctx, ctx.request.path_params["form"])
    if form is None:
        return ctx.render("error.html", status=404, message=ctx.t("not_found"))
    values = {"occurred_at": _now_wita()}
    return ctx.render("record_form.html", form=form, values=values, errors={}, receipt=None)


def _errors(exc: InvalidInputError, lang: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in exc.errors:
        found.setdefault(problem.field or "form", []).append(i18n.problem(problem.message, lang))
    return found


@page(Capability.RECORD)
async def record_submit(ctx: Context) -> Response:
    """Validate and publish one row from the unit's desk; errors next to their field."""
    form = _form(ctx, ctx.request.path_params["form"])
    if form is None:
        return ctx.render("error.html", status=404, message=ctx.t("not_found"))
    row = {c: ctx.form[c].strip() for c in form.columns if ctx.form.get(c, "").strip()}
    check_only = ctx.form.get("check_only") == "1"
    assert ctx.unit is not None and ctx.unit.agency is not None
    officer = ctx.session.officer_code or ""
    recorder = ctx.services.recorder
    try:
        if check_only:
            checked = with_officer(form, row, officer, force=True)
            await to_thread.run_sync(recorder.check, ctx.unit.agency, ctx.unit.unit, form.name,
                                     checked)  # fmt: skip
            done = None
        else:
            event, done = await to_thread.run_sync(
                recorder.record, ctx.unit.agency, ctx.unit.unit, form.name, row, officer
            )
    except InvalidInputError as exc:
        _audit(ctx, f"record.{form.name}", "-", "refused", f"{len(exc.errors)} problem(s)")
        return ctx.render("record_form.html", status=422, form=form, values=row,
                          errors=_errors(exc, ctx.lang), receipt=None)  # fmt: skip
    if done is None:
        return ctx.render("record_form.html", form=form, values=row, errors={}, receipt=None,
                          checked=True)  # fmt: skip
    _audit(ctx, f"record.{form.name}", event.event_id, "ok",
           "published" if done.published else "kept at the desk")  # fmt: skip
    fresh = {"occurred_at": _now_wita()}
    return ctx.render("record_form.html", form=form, values=fresh, errors={}, receipt=done)


@page(Capability.RECORD)
async def nik_check(ctx: Context) -> Response:
    """The NIK as typed, checked with schemas.nik (posted, so it never lands in a URL or
    an access log); the answer names the faulty part, never the number."""
    raw = ctx.form.get("nik", "")
    if not raw.strip():
        return JSONResponse({"ok": None, "message": ""})
    try:
        parsed = parse_nik(raw)
    except NikError as exc:
        return JSONResponse({"ok": False, "message": i18n.problem(str(exc), ctx.lang)})
    place = i18n.translator(ctx.lang)("nik.ok")
    region = regency_name(parsed.regency_code) if parsed.province == "53" else parsed.province
    return JSONResponse({"ok": True, "message": f"{place} ({region})"})


# --- CSV uploads -----------------------------------------------------------------------------


@page(Capability.RECORD)
async def upload_page(ctx: Context) -> Response:
    return ctx.render("upload.html", forms=_forms(ctx), problem=None)


@page(Capability.RECORD)
async def upload_start(ctx: Context) -> Response:
    form = _form(ctx, ctx.form.get("form", ""))
    data = await ctx.request.form()
    upload = data.get("file")
    if form is None or not isinstance(upload, UploadFile):
        return ctx.render("upload.html", status=400, forms=_forms(ctx), problem=ctx.t("not_found"))
    content = await upload.read(UPLOAD_MAX + 1)
    assert ctx.unit is not None and ctx.unit.agency is not None
    job = ctx.services.uploads.start(
        username=ctx.session.username or "",
        officer_code=ctx.session.officer_code or "",
        unit=ctx.unit.unit,
        agency=ctx.unit.agency,
        form_name=form.name,
        filename=upload.filename or "upload.csv",
        data=content,
    )
    _audit(ctx, f"upload.{form.name}", job.job_id, "checking", f"{len(content)} bytes")
    return RedirectResponse(f"/upload/{job.job_id}", status_code=303)


def _job(ctx: Context) -> UploadJob | None:
    found: UploadJob | None = ctx.services.uploads.get(
        ctx.request.path_params["job"], ctx.session.username or ""
    )
    return found


@page(Capability.RECORD)
async def upload_job(ctx: Context) -> Response:
    job = _job(ctx)
    if job is None:
        return ctx.render("error.html", status=404, message=ctx.t("not_found"))
    return ctx.render("upload_job.html", job=job)


@page(Capability.RECORD)
async def upload_status(ctx: Context) -> Response:
    job = _job(ctx)
    if job is None:
        return JSONResponse({"error": "not found"}, status_code=404)
    return JSONResponse(job.status())


@page(Capability.RECORD)
async def upload_publish(ctx: Context) -> Response:
    job = _job(ctx)
    if job is None:
        return ctx.render("error.html", status=404, message=ctx.t("not_found"))
    if ctx.services.uploads.publish(job):
        _audit(ctx, f"upload.{job.form_name}", job.job_id, "publishing",
               f"{len(job.accepted)} row(s)")  # fmt: skip
    return RedirectResponse(f"/upload/{job.job_id}", status_code=303)


def _download(text: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return PlainTextResponse(text, media_type="text/csv; charset=utf-8", headers=headers)


@page(Capability.RECORD)
async def upload_receipt(ctx: Context) -> Response:
    job = _job(ctx)
    if job is None:
        return ctx.render("error.html", status=404, message=ctx.t("not_found"))
    return _download(receipt_csv(job), f"receipt-{job.form_name}-{job.job_id}.csv")


@page(Capability.RECORD)
async def upload_refused(ctx: Context) -> Response:
    job = _job(ctx)
    if job is None:
        return ctx.render("error.html", status=404, message=ctx.t("not_found"))
    lang = ctx.lang
    return _download(
        refused_csv(job, lambda m: i18n.problem(m, lang)),
        f"refused-{job.form_name}-{job.job_id}.csv",
    )
