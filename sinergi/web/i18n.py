"""Words of the browser application in Bahasa Indonesia (the default) and English.

Labels are looked up by key. A desk's refusal (written in English, naming rules and
fields, never values) is translated as the command line translates it, from the one
catalogue of :mod:`sinergi.i18n` (:data:`sinergi.i18n.PROBLEMS`).
"""

from __future__ import annotations

from collections.abc import Callable

from producers.fields import FieldError
from sinergi import i18n as cli_i18n

LANGS = ("id", "en")
DEFAULT = "id"

# key: (Bahasa Indonesia, English)
WORDS: dict[str, tuple[str, str]] = {
    "app": ("Sinergi: pusat data bersama TPPO NTT", "Sinergi: NTT joint TPPO data hub"),
    "login": ("Masuk", "Log in"),
    "logout": ("Keluar", "Log out"),
    "username": ("Nama pengguna", "Username"),
    "password": ("Kata sandi", "Password"),
    "login.refused": (
        "Nama pengguna atau kata sandi salah, atau akun dikunci sementara setelah terlalu"
        " banyak percobaan gagal. Coba lagi nanti, atau hubungi administrator.",
        "Wrong username or password, or the account is locked for a while after too many"
        " failed attempts. Try again later, or ask the administrator.",
    ),
    "csrf": (
        "Formulir kedaluwarsa atau tidak sah; muat ulang halaman dan coba lagi.",
        "The form expired or is not valid; reload the page and try again.",
    ),
    "forbidden": ("Anda tidak berhak membuka halaman ini.", "You may not open this page."),
    "not_found": ("Tidak ditemukan.", "Not found."),
    "unit": ("Satuan", "Unit"),
    "officer": ("Petugas", "Officer"),
    "language": ("Bahasa", "Language"),
    "nav.alerts": ("Peringatan", "Alerts"),
    "nav.record": ("Catat", "Record"),
    "nav.upload": ("Unggah CSV", "Upload CSV"),
    "nav.dashboard": ("Dasbor", "Dashboard"),
    "nav.audit": ("Jejak audit", "Audit trail"),
    "nav.cases": ("Cari kasus", "Find a case"),
    "alerts.title": ("Kotak masuk peringatan", "Alert inbox"),
    "alerts.live": (
        "Langsung: peringatan baru muncul tanpa memuat ulang",
        "Live: new alerts appear without reloading",
    ),
    "alerts.none": ("Tidak ada peringatan.", "No alerts."),
    "alerts.more": (
        "Hanya {shown} peringatan yang terakhir dimunculkan ditampilkan; ada lebih banyak."
        " Saring (aturan, tingkat, wilayah, status) untuk melihat yang lain.",
        "Only the {shown} alerts raised last are shown; there are more. Filter (rule,"
        " severity, regency, status) to see others.",
    ),
    "alerts.sees": ("Wilayah", "Area"),
    "alerts.all": ("seluruh NTT", "all of NTT"),
    "filter": ("Saring", "Filter"),
    "any": ("semua", "any"),
    "rule": ("Aturan", "Rule"),
    "severity": ("Tingkat", "Severity"),
    "regency": ("Kabupaten/kota", "Regency"),
    "status": ("Status", "Status"),
    "status.open": ("terbuka", "open"),
    "status.acknowledged": ("ditanggapi", "acknowledged"),
    "status.withdrawn": ("dicabut", "withdrawn"),
    "triggered": ("Terjadi (WITA)", "Triggered (WITA)"),
    "raised": ("Diterbitkan hub (WITA)", "Raised by the hub (WITA)"),
    "summary": ("Ringkasan", "Summary"),
    "alert_id": ("ID peringatan", "Alert id"),
    "copy": ("Salin", "Copy"),
    "copied": ("Tersalin", "Copied"),
    "cases": ("Kasus", "Cases"),
    "case": ("Kasus", "Case"),
    "recruiter": ("Perekrut (calo)", "Recruiter"),
    "group": ("Rombongan", "Group"),
    "acknowledge": ("Tanggapi", "Acknowledge"),
    "action": ("Tindakan", "Action"),
    "ack.sent": (
        "Tanggapan dikirim melalui meja polisi (ID peristiwa {event_id}); statusnya berubah"
        " begitu hub mencatatnya.",
        "Acknowledgement sent through the police desk (event id {event_id}); the status"
        " changes once the hub has recorded it.",
    ),
    "ack.by": ("Ditanggapi", "Acknowledged"),
    "withdrawn.note": (
        "Dicabut: fakta yang datang kemudian mengakhiri situasi ini.",
        "Withdrawn: a later fact ended this situation.",
    ),
    "case.erased": (
        "Dihapus pada {day}: data pribadi orang ini tidak dapat dibaca lagi; faktanya tetap"
        " dihitung.",
        "Erased on {day}: this person's personal data can no longer be read; the facts are"
        " still counted.",
    ),
    "timeline": ("Linimasa lintas instansi", "Timeline across agencies"),
    "when": ("Waktu (WITA)", "When (WITA)"),
    "fact": ("Fakta", "Fact"),
    "by": ("Oleh", "By"),
    "details": ("Rincian", "Details"),
    "row": ("Baris", "Row"),
    "open_contact": ("Buka kontak perekrut", "Open the recruiter's contact"),
    "contact": (
        "Kontak perekrut (hanya polisi; pembukaan dicatat)",
        "Recruiter contact (police only; the opening is logged)",
    ),
    "find_case": ("ID kasus, awalannya, atau NIK", "Case id, its prefix, or a NIK"),
    "find": ("Cari", "Find"),
    "people": ("Orang", "People"),
    "record.title": ("Catat", "Record"),
    "record.choose": ("Pilih formulir", "Choose a form"),
    "required": ("wajib", "required"),
    "submit": ("Kirim", "Submit"),
    "check_only": ("Periksa saja (tidak dikirim)", "Check only (send nothing)"),
    "valid_nothing_sent": ("Valid: tidak ada yang dikirim.", "Valid: nothing was sent."),
    "refused": ("Ditolak, tidak ada yang dikirim", "Refused, nothing was sent"),
    "receipt": ("Tanda terima", "Receipt"),
    "event_id": ("ID peristiwa", "Event id"),
    "case_id": ("ID kasus", "Case id"),
    "published": ("Terkirim ke hub", "Published to the hub"),
    "waiting": (
        "Disimpan di meja: hub tidak terjangkau sekarang; dikirim otomatis nanti.",
        "Kept at the desk: the hub cannot be reached now; sent automatically later.",
    ),
    "again": ("Sudah pernah dicatat (disimpan sekali)", "Recorded before (kept once)"),
    "nik.ok": ("NIK valid", "NIK valid"),
    "upload.title": ("Unggah berkas CSV", "Upload a CSV file"),
    "upload.file": ("Berkas CSV (UTF-8)", "CSV file (UTF-8)"),
    "upload.form": ("Formulir", "Form"),
    "upload.start": (
        "Periksa berkas (uji coba, belum dikirim)",
        "Check the file (dry run, nothing sent)",
    ),
    "upload.phase.validating": ("Memeriksa baris…", "Checking rows…"),
    "upload.phase.validated": ("Pemeriksaan selesai", "Check done"),
    "upload.phase.publishing": ("Mengirim…", "Publishing…"),
    "upload.phase.done": ("Selesai", "Done"),
    "upload.phase.failed": ("Gagal", "Failed"),
    "upload.valid": ("baris valid", "valid rows"),
    "upload.refused": ("baris ditolak", "refused rows"),
    "upload.publish": ("Kirim {n} baris yang valid", "Publish the {n} valid rows"),
    "upload.receipt": ("Unduh tanda terima (CSV)", "Download the receipt (CSV)"),
    "upload.refused_file": (
        "Unduh baris yang ditolak beserta alasannya (CSV)",
        "Download the refused rows with the reasons (CSV)",
    ),
    "upload.columns": ("Kolom", "Columns"),
    "dash.title": ("Dasbor operasional", "Operations dashboard"),
    "dash.interceptions_post": ("Pencegahan per pos per bulan", "Interceptions per post per month"),
    "dash.interceptions_route": (
        "Pencegahan per rute per bulan",
        "Interceptions per route per month",
    ),
    "dash.repatriations": ("Pemulangan per negara", "Repatriations by country"),
    "dash.deaths": ("Jenazah per negara", "Deaths by country"),
    "dash.origin": ("Orang per kabupaten asal", "People by origin regency"),
    "dash.alerts": (
        "Peringatan diterbitkan vs ditanggapi per bulan",
        "Alerts raised vs acknowledged per month",
    ),
    "dash.ack_time": ("Waktu sampai ditanggapi", "Time to acknowledge"),
    "dash.lag": ("Antrean pemrosesan per topik", "Processing lag per topic"),
    "dash.dead": ("Pesan ditolak (dead letter) per alasan", "Dead letters by reason"),
    "dash.health": ("Kesehatan layanan", "Health of the services"),
    "dash.total": ("Jumlah", "Total"),
    "dash.median": ("median", "median"),
    "dash.p90": ("persentil 90", "90th percentile"),
    "dash.none": ("Belum ada data.", "No data yet."),
    "raised_n": ("diterbitkan", "raised"),
    "acknowledged_n": ("ditanggapi", "acknowledged"),
    "audit.title": ("Jejak audit aplikasi web", "Audit trail of the web application"),
    "error.ledger": ("Buku kasus tidak dapat dibaca sekarang.", "The ledger cannot be read now."),
}


def problem(message: str, lang: str) -> str:
    """A desk's refusal (``NIK must be 16 digits, got 14``) in ``lang``: the command
    line's own translation (:func:`sinergi.i18n.problem_message`), so both say the same."""
    return cli_i18n.problem_message(message, lang)


def field_problem(error: FieldError, lang: str) -> str:
    """A refusal with its row and field (``baris 3, kolom nik: ...``), as the command
    line shows it: a problem of a whole file (not UTF-8, a row with more cells than the
    header)."""
    return cli_i18n.problem(error, lang)


def language(value: str | None) -> str:
    return value if value in LANGS else DEFAULT


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **values)`` in ``lang``; an unknown key is shown as itself."""
    index = 0 if lang == "id" else 1

    def t(key: str, **values: object) -> str:
        words = WORDS.get(key)
        text = words[index] if words else key
        return text.format(**values) if values else text

    return t


# Column names of the forms, for people (the CSV header keeps the column's own name).
COLUMNS: dict[str, tuple[str, str]] = {
    "event_id": ("ID catatan (UUID, kosongkan)", "Record id (UUID, leave empty)"),
    "occurred_at": ("Waktu kejadian (WITA)", "When it happened (WITA)"),
    "corrects": ("Mengoreksi ID peristiwa", "Corrects event id"),
    "nik": ("NIK", "NIK"),
    "name": ("Nama (hanya jika tanpa NIK)", "Name (only without a NIK)"),
    "sex": ("Jenis kelamin (P/L)", "Sex (F/M)"),
    "birth_date": ("Tanggal lahir", "Birth date"),
    "estimated_age": ("Perkiraan umur", "Estimated age"),
    "origin_regency": ("Kabupaten/kota asal", "Origin regency"),
    "destination_country": ("Negara tujuan", "Destination country"),
    "sector": ("Sektor kerja", "Sector"),
    "exit_point": ("Titik keberangkatan", "Exit point"),
    "route": ("Rute", "Route"),
    "documents": ("Masalah dokumen", "Document problems"),
    "recruiter": ("Perekrut (telepon atau nama)", "Recruiter (phone or name)"),
    "recruiters": ("Para perekrut", "Recruiters"),
    "group_ref": ("Kode rombongan", "Group code"),
    "outcome": ("Tindak lanjut", "Outcome"),
    "officer": ("Kode petugas", "Officer code"),
}


def column(name: str, lang: str) -> str:
    words = COLUMNS.get(name)
    if words is None:
        return name.replace("_", " ")
    return words[0 if lang == "id" else 1]
