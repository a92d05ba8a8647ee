"""What the report calls things, in Bahasa Indonesia and English.

Codes never reach a reader: posts, routes, regencies, countries, kinds and rules are
named from the reference data (``schemas/reference``) or from the tables here.
"""

from __future__ import annotations

from collections.abc import Mapping

from schemas import reference

LANGUAGES = ("id", "en")

TEXTS: Mapping[str, tuple[str, str]] = {
    "title": ("Laporan Akuntabilitas Publik Bulanan", "Monthly Public Accountability Report"),
    "subtitle": (
        "Pencegahan pekerja migran non-prosedural dan TPPO di Nusa Tenggara Timur",
        "Preventing non-procedural labour migration and human trafficking in Nusa Tenggara Timur",
    ),
    "period": ("Periode", "Period"),
    "generated": ("Dibuat", "Generated"),
    "source": (
        "Sumber: buku kasus bersama Sinergi (tampilan analis), dibaca {when} WITA.",
        "Source: the Sinergi joint case ledger (analysts' views), read {when} WITA.",
    ),
    "days_note": (
        "Hari dihitung seperti pada tabel metrik harian hub (tanggal UTC).",
        "Days are counted as in the hub's daily metrics table (UTC dates).",
    ),
    "summary": ("Ringkasan", "Summary"),
    "figure": ("Angka", "Figure"),
    "this_month": ("Bulan ini", "This month"),
    "previous_month": ("Bulan lalu", "Previous month"),
    "last_year": ("Bulan yang sama tahun lalu", "Same month last year"),
    "change": ("Perubahan", "Change"),
    "total": ("Jumlah", "Total"),
    "category": ("Kategori", "Category"),
    "suppressed_mark": ("x", "x"),
    "privacy_title": ("Perlindungan data", "Data protection"),
    "privacy": (
        "Angka 1 sampai {k1} tidak diterbitkan (standar CTDC IOM, k = {k}), dan angka lain"
        " disembunyikan bila perlu agar angka yang disembunyikan tidak dapat dihitung"
        " kembali dari jumlah atau dari kolom pembanding. Tanda x: disembunyikan. Laporan"
        " ini tidak memuat data pribadi, nomor kasus, ataupun nama samaran.",
        "Counts from 1 to {k1} are not published (IOM's CTDC standard, k = {k}), and other"
        " counts are withheld where needed so that a withheld count cannot be worked out"
        " from totals or from the comparison columns. Mark x: withheld. This report holds"
        " no personal data, no case numbers and no pseudonyms.",
    ),
    "prevention_note": (
        "Kegiatan pencegahan dan jumlah pesertanya adalah kegiatan umum, bukan data"
        " perorangan: diterbitkan utuh.",
        "Prevention activities and their attendance are public events, not records of"
        " people: published whole.",
    ),
    "people_note": (
        "Setiap intersepsi dihitung: orang yang dicegat dua kali dalam sebulan dihitung dua kali.",
        "Every interception counts: a person intercepted twice in a month counts twice.",
    ),
    "sec.interceptions": ("Pencegahan keberangkatan (intersepsi)", "Interceptions"),
    "t.by_post": ("Intersepsi menurut posko", "Interceptions by post"),
    "t.by_route": ("Intersepsi menurut rute", "Interceptions by route"),
    "t.by_destination": ("Intersepsi menurut negara tujuan", "Interceptions by destination"),
    "t.by_origin": (
        "Orang yang dicegat menurut kabupaten/kota asal",
        "People intercepted by origin regency",
    ),
    "sec.repatriations": ("Pemulangan dan kematian", "Repatriations and deaths"),
    "t.by_kind": ("Pemulangan menurut jenis", "Repatriations by kind"),
    "t.by_procedural": ("Pemulangan menurut status prosedur", "Repatriations by procedural status"),
    "t.deaths": ("Kematian (jenazah) menurut status prosedur", "Deaths by procedural status"),
    "t.by_country": ("Pemulangan menurut negara asal pemulangan", "Repatriations by country"),
    "sec.alerts": ("Peringatan untuk polisi", "Alerts for police"),
    "t.alerts": ("Peringatan yang diterbitkan menurut aturan", "Alerts raised by rule"),
    "sec.prevention": ("Kegiatan pencegahan", "Prevention activities"),
    "t.prevention_activities": ("Kegiatan menurut jenis", "Activities by kind"),
    "t.prevention_attendance": ("Peserta menurut jenis kegiatan", "Attendance by kind"),
    "h.interceptions": ("Intersepsi", "Interceptions"),
    "h.repatriations": ("Pemulangan", "Repatriations"),
    "h.deaths": ("Kematian (jenazah)", "Deaths"),
    "h.non_procedural_share": (
        "Bagian non-prosedural (pemulangan dengan status diketahui)",
        "Non-procedural share (repatriations of known status)",
    ),
    "h.alerts_raised": ("Peringatan diterbitkan", "Alerts raised"),
    "h.alerts_acknowledged": ("Peringatan ditanggapi polisi", "Alerts acknowledged by police"),
    "h.ack_median": ("Median waktu sampai ditanggapi", "Median time to acknowledge"),
    "h.prevention_activities": ("Kegiatan pencegahan", "Prevention activities"),
    "h.prevention_attendance": ("Peserta kegiatan pencegahan", "Prevention attendance"),
    "chart.by_post": ("Intersepsi menurut posko", "Interceptions by post"),
    "chart.by_origin": (
        "Orang yang dicegat menurut kabupaten/kota asal (bulan ini)",
        "People intercepted by origin regency (this month)",
    ),
    "chart.by_destination": (
        "Intersepsi menurut negara tujuan (bulan ini)",
        "Interceptions by destination (this month)",
    ),
    "chart.by_kind": ("Pemulangan menurut jenis", "Repatriations by kind"),
    "chart.alerts": ("Peringatan: diterbitkan dan ditanggapi", "Alerts: raised and acknowledged"),
    "chart.suppressed": ("x = disembunyikan", "x = withheld"),
    "unknown": ("Tidak diketahui", "Unknown"),
    "page": ("Halaman", "Page"),
    "months": (
        "Januari Februari Maret April Mei Juni Juli Agustus September Oktober November Desember",
        "January February March April May June July August September October November December",
    ),
}


def text(key: str, lang: str, **values: object) -> str:
    """The text ``key`` in ``lang`` (id or en), with ``values`` filled in."""
    chosen = TEXTS[key][LANGUAGES.index(lang)]
    return chosen.format(**values) if values else chosen


def month_name(year: int, month: int, lang: str) -> str:
    """ "Maret 2026" / "March 2026"."""
    return f"{text('months', lang).split()[month - 1]} {year}"


# --- codes to names ----------------------------------------------------------------------

ROUTES: Mapping[str, tuple[str, str]] = {
    "direct-flight": ("Penerbangan langsung dari El Tari", "Direct flight from El Tari"),
    "larantuka-nunukan-tawau": ("Larantuka - Nunukan - Tawau", "Larantuka - Nunukan - Tawau"),
    "lewoleba-kalimantan": ("Lewoleba - Kalimantan", "Lewoleba - Kalimantan"),
    "labuanbajo-kalbar": ("Labuan Bajo - Kalimantan Barat", "Labuan Bajo - West Kalimantan"),
    "nunukan-tawau": ("Nunukan - Tawau", "Nunukan - Tawau"),
    "entikong-sarawak": ("Entikong - Sarawak", "Entikong - Sarawak"),
    "batam-johor": ("Batam - Johor", "Batam - Johor"),
    "other": ("Rute lain", "Other route"),
}
COUNTRIES_ID: Mapping[str, str] = {
    "MY": "Malaysia",
    "SG": "Singapura",
    "HK": "Hong Kong",
    "TW": "Taiwan",
    "BN": "Brunei Darussalam",
    "SA": "Arab Saudi",
    "JP": "Jepang",
    "KR": "Korea Selatan",
    "AE": "Uni Emirat Arab",
    "QA": "Qatar",
    "KW": "Kuwait",
    "OM": "Oman",
    "TL": "Timor-Leste",
    "AU": "Australia",
    "CN": "Tiongkok",
    "TH": "Thailand",
    "PH": "Filipina",
}
REPATRIATION_KINDS: Mapping[str, tuple[str, str]] = {
    "deported": ("Dideportasi", "Deported"),
    "sick": ("Sakit", "Sick"),
    "deceased": ("Meninggal (jenazah)", "Deceased"),
    "voluntary": ("Pulang sukarela", "Voluntary return"),
    "trafficking_victim": ("Korban TPPO", "Trafficking victim"),
}
PROCEDURAL: Mapping[str, tuple[str, str]] = {
    "non_procedural": ("Non-prosedural", "Non-procedural"),
    "procedural": ("Prosedural", "Procedural"),
    "unknown": ("Tidak diketahui", "Unknown"),
}
ALERT_RULES: Mapping[str, tuple[str, str]] = {
    "RECRUITER_NETWORK": ("Jaringan perekrut (calo)", "Recruiter network"),
    "MINOR_INTERCEPTED": ("Anak dicegat", "Minor intercepted"),
    "REPEAT_INTERCEPTION": ("Dicegat berulang", "Repeat interception"),
    "TIP_MATCHED": ("Laporan SI-SAGA cocok", "Hotline tip matched"),
    "DECEASED_AFTER_INTERCEPTION": ("Meninggal setelah dicegat", "Deceased after interception"),
    "DECEASED_UNREGISTERED": ("Meninggal tanpa terdaftar", "Deceased, never registered"),
    "GROUP_INTERCEPTED": ("Rombongan dicegat", "Group intercepted"),
    "UNDERAGE_REGISTRATION": ("Pendaftaran di bawah umur", "Under-age registration"),
}
PREVENTION_KINDS: Mapping[str, tuple[str, str]] = {
    "village_socialisation": ("Sosialisasi desa", "Village socialisation"),
    "school_session": ("Sesi sekolah", "School session"),
    "religious_gathering": ("Pertemuan keagamaan", "Religious gathering"),
    "radio_broadcast": ("Siaran radio", "Radio broadcast"),
    "task_force_meeting": ("Rapat gugus tugas", "Task force meeting"),
    "other": ("Lainnya", "Other"),
}
UNKNOWN_CODES = ("unknown", "", "-")


def _pick(table: Mapping[str, tuple[str, str]], code: str, lang: str) -> str:
    if code in UNKNOWN_CODES:
        return text("unknown", lang)
    found = table.get(code)
    return found[LANGUAGES.index(lang)] if found else code


def post(code: str, lang: str) -> str:
    found = reference.posts().get(code)
    return found.name if found else _pick({}, code, lang)


def route(code: str, lang: str) -> str:
    return _pick(ROUTES, code, lang)


def regency(code: str, lang: str) -> str:
    """A regency by its name (never its code): "Timor Tengah Selatan"."""
    found = reference.regencies().get(code)
    return found.name if found else _pick({}, code, lang)


def country(code: str, lang: str) -> str:
    if code in UNKNOWN_CODES:
        return text("unknown", lang)
    if lang == "id" and code in COUNTRIES_ID:
        return COUNTRIES_ID[code]
    found = reference.countries().get(code)
    return found.name if found else code


def repatriation_kind(code: str, lang: str) -> str:
    return _pick(REPATRIATION_KINDS, code, lang)


def procedural(code: str, lang: str) -> str:
    return _pick(PROCEDURAL, code, lang)


def alert_rule(code: str, lang: str) -> str:
    return _pick(ALERT_RULES, code, lang)


def prevention_kind(code: str, lang: str) -> str:
    return _pick(PREVENTION_KINDS, code, lang)
