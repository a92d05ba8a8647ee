"""The command line's words in Bahasa Indonesia and English: one catalogue, no conditionals.

Officers at the posts, police and the districts read Bahasa Indonesia; operations and
developers may prefer English. Every text the command line shows is looked up here by a
key (:func:`t`), in the language chosen once per run (:func:`set_language`: ``--lang``,
else ``SINERGI_LANG``, else the locale; see :func:`sinergi.config.language`).

The libraries below the command line (the forms, the ledger readers, the members) keep
their messages in English, their source of truth, so that tests, logs and the audit read
the same everywhere. The command line translates them when it shows them:
:func:`problem` for a field's problem (``row 7, field nik: ...``), :func:`sentence` for an
error sentence, both through patterns (an English regular expression and its Bahasa
template); a message without a pattern is shown in English inside the Bahasa frame. The
browser application shows a desk's refusals through the same patterns
(:func:`problem_message`, :func:`problem` with the page's language), so an officer reads
the same words at the command line and on a page.
Typer's own words (``Commands``, ``Missing option``) are in :data:`CLICK` and
:data:`USAGE_ERRORS`.

A unit test checks that every key has both languages, that every pattern's template
uses only the pattern's groups, and that every column of every form has a help text;
another (tests/unit/test_i18n_problems.py) that every refusal a desk can give, found by
exercising every rule, has its Bahasa sentence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from producers import bp3mi, hotline, person, police, posts
from producers.districts import PREVENTION_KIND
from producers.fields import EnumParser, FieldError
from producers.formkit import SECTOR
from schemas.contract import ATTENDANCE_MAX

LANGUAGES = ("id", "en")
DEFAULT = "id"

_current = DEFAULT


def set_language(lang: str) -> None:
    """Speak ``lang`` ("id" or "en") from now on; raises ValueError for another."""
    global _current
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
    _current = lang


def language() -> str:
    return _current


def argv_language(argv: Sequence[str]) -> str | None:
    """The ``--lang`` given before the command (``sinergi --lang en post ...``), if any.

    Help texts are made when the commands are registered, before Click parses the
    command line, so the language they need is read from it first."""
    args = list(argv)
    for index, arg in enumerate(args):
        if arg == "--lang" and index + 1 < len(args):
            value = args[index + 1].strip().lower()
            return value if value in LANGUAGES else None
        if arg.startswith("--lang="):
            value = arg.split("=", 1)[1].strip().lower()
            return value if value in LANGUAGES else None
        if not arg.startswith("-"):
            return None  # the command begins: its own options are not ours
    return None


def t(key: str, /, **values: Any) -> str:
    """The text ``key`` in the current language, with ``values`` filled in."""
    return MESSAGES[key][_current].format(**values)


# --- the command line's own texts ------------------------------------------------------------

MESSAGES: Mapping[str, Mapping[str, str]] = {
    # the application and its groups
    "app.help": {
        "id": "Sinergi: hub antarlembaga NTT melawan migrasi nonprosedural dan perdagangan"
        " orang (TPPO).",
        "en": "Sinergi: the NTT inter-agency hub against non-procedural migration and trafficking.",
    },
    "app.lang": {
        "id": "Bahasa: id (Bahasa Indonesia, bawaan) atau en (English); juga SINERGI_LANG",
        "en": "Language: id (Bahasa Indonesia, the default) or en (English); also SINERGI_LANG",
    },
    "app.version": {"id": "Tampilkan versi lalu keluar", "en": "Show the version and exit"},
    "app.version_line": {"id": "sinergi {version}{commit}", "en": "sinergi {version}{commit}"},
    "app.commit": {"id": " (commit {commit})", "en": " (commit {commit})"},
    "app.bad_lang": {
        "id": "bahasa tidak dikenal {lang}; pilih id atau en",
        "en": "unknown language {lang}; choose id or en",
    },
    "group.stack": {
        "id": "Kafka, PostgreSQL dan registry skema di mesin ini.",
        "en": "The local Kafka, PostgreSQL and schema registry.",
    },
    "group.processor": {
        "id": "Prosesor buku kasus (latar belakang).",
        "en": "The ledger processor (in the background).",
    },
    "group.ledger": {
        "id": "Buku kasus bersama di PostgreSQL.",
        "en": "The joint case ledger in PostgreSQL.",
    },
    "group.alerts": {
        "id": "Peringatan untuk polisi: ikuti, daftar, tanggapi.",
        "en": "Alerts for police: follow, list, acknowledge.",
    },
    "group.agency": {
        "id": "Anggota hub: kredensial, kunci tanda tangan, akses seperlunya.",
        "en": "Members of the hub: credentials, signing keys, least-privilege access.",
    },
    "group.audit": {
        "id": "Jejak audit berantai hash: siapa menerbitkan apa.",
        "en": "The hash-chained audit trail of who published what.",
    },
    "group.forms": {
        "id": "Formulir setiap lembaga: kolomnya (* wajib) dan peristiwanya; templat CSV.",
        "en": "What every agency records: forms, their columns (* required) and events;"
        " CSV templates.",
    },
    "group.post": {
        "id": "Posko: mencatat penggagalan keberangkatan (intersepsi).",
        "en": "Posts (posko): record interceptions.",
    },
    "group.police": {
        "id": "Polisi: penyelidikan, tersangka, berkas ke kejaksaan.",
        "en": "Police: investigations, suspects, files sent to the prosecutor.",
    },
    "group.bp3mi": {
        "id": "BP3MI: penempatan prosedural dan pemulangan.",
        "en": "BP3MI: procedural placements and repatriations.",
    },
    "group.district": {
        "id": "Kabupaten/kota: pendaftaran LTSA dan kegiatan pencegahan.",
        "en": "Districts: LTSA registrations and prevention activities.",
    },
    "group.hotline": {
        "id": "Hotline SI-SAGA: laporan masyarakat (pelapor tetap anonim).",
        "en": "SI-SAGA hotline: public tips (the reporter stays anonymous).",
    },
    # forms, as people call them
    "form.interception": {"id": "intersepsi", "en": "interception"},
    "form.investigation": {"id": "penyelidikan", "en": "investigation"},
    "form.suspect": {"id": "tersangka", "en": "suspect"},
    "form.prosecution": {"id": "pelimpahan berkas", "en": "prosecution"},
    "form.acknowledgement": {"id": "tanggapan peringatan", "en": "acknowledgement"},
    "form.placement": {"id": "penempatan", "en": "placement"},
    "form.repatriation": {"id": "pemulangan", "en": "repatriation"},
    "form.ltsa": {"id": "pendaftaran LTSA", "en": "ltsa"},
    "form.prevention": {"id": "kegiatan pencegahan", "en": "prevention"},
    "form.tip": {"id": "laporan", "en": "tip"},
    "form.retraction": {"id": "penarikan", "en": "retraction"},
    # where a desk is
    "place.post": {"id": "Posko: eltari, tenau, ...", "en": "The post: eltari, tenau, ..."},
    "place.police": {
        "id": "Satuan polisi: polda-ntt atau polres-<kode kabupaten>",
        "en": "The police unit: polda-ntt or polres-<regency code>",
    },
    "place.bp3mi": {"id": "Kantor BP3MI: ntt", "en": "The BP3MI office: ntt"},
    "place.district": {
        "id": "Kabupaten/kota: kode Kemendagri atau namanya",
        "en": "The district: a regency's Kemendagri code or name",
    },
    "place.hotline": {"id": "Hotline: sisaga", "en": "The hotline: sisaga"},
    "place.every_desk": {
        "id": " (bawaan: setiap meja di mesin ini)",
        "en": " (default: every desk of this machine)",
    },
    "place.publisher": {
        "id": " (satuan yang menerbitkannya)",
        "en": " (the unit that published it)",
    },
    "place.missing": {
        "id": "opsi --at wajib diisi: {help}",
        "en": "the option --at is required: {help}",
    },
    "place.twice": {
        "id": "--post adalah nama lama dari --at: berikan salah satu saja",
        "en": "--post is the former name of --at: give only one of them",
    },
    # common options
    "opt.dry_run": {
        "id": "Periksa saja; tidak ada yang dikirim",
        "en": "Validate only; send nothing",
    },
    "opt.json": {
        "id": "Keluaran JSON (satu objek per baris)",
        "en": "JSON output (one object per line)",
    },
    "opt.required": {"id": " (wajib)", "en": " (required)"},
    "opt.default_now": {
        "id": " (bawaan: sekarang, WITA)",
        "en": " (default: now, WITA)",
    },
    "opt.values": {"id": ". Nilai: {values}", "en": ". Values: {values}"},
    # recording
    "cmd.form": {"id": "Catat satu {label} ({event}).", "en": "Record one {label} ({event})."},
    "cmd.record": {
        "id": "Catat satu intersepsi (InterceptionRecorded): perintah harian posko.",
        "en": "Record one interception (InterceptionRecorded): the posts' everyday command.",
    },
    "cmd.import": {
        "id": "Impor berkas CSV: setiap baris diperiksa sebelum apa pun dikirim.",
        "en": "Import a CSV file: every row is checked before anything is sent.",
    },
    "arg.import_form": {"id": "Salah satu: {names}", "en": "One of: {names}"},
    "arg.import_file": {
        "id": "Berkas CSV (UTF-8; baris 1 judul kolom: sinergi forms template FORM)",
        "en": "The CSV file (UTF-8; row 1 the header: sinergi forms template FORM)",
    },
    "cmd.correct": {
        "id": "Koreksi catatan yang diterbitkan meja ini: berikan seluruh catatan lagi,"
        " sebagaimana seharusnya (hub menggantinya; tidak ada yang diubah di tempat).",
        "en": "Correct a record this desk published: give the whole record again, as it"
        " should have been (the hub replaces the record with it; nothing is changed in"
        " place).",
    },
    "arg.correct": {"id": "Id catatan yang dikoreksi", "en": "The id of the record to correct"},
    "cmd.retract": {
        "id": "Tarik catatan yang diterbitkan meja ini: buku kasus menganggapnya tidak ada.",
        "en": "Retract a record this desk published: the ledger treats it as absent.",
    },
    "arg.retract": {"id": "Id catatan yang ditarik", "en": "The id of the record to retract"},
    "opt.reason": {"id": "Alasan (kode): {reasons}", "en": "Why (a code): {reasons}"},
    "opt.form": {
        "id": "Formulir catatan itu ({names}); bawaan: sebagaimana dicatat meja ini",
        "en": "The record's form ({names}); default: as this desk recorded it",
    },
    "opt.as_admin": {
        "id": "Tanda tangani sebagai administrator lembaga ({admin}), yang boleh mengubah"
        " catatan semua satuannya",
        "en": "Sign as the agency's administrator ({admin}), who may amend any of its units'"
        " records",
    },
    "cmd.sync": {
        "id": "Kirim yang menunggu di meja, berurutan (kode keluar 1 selama masih ada yang"
        " menunggu).",
        "en": "Deliver what waits at the desk, in order (exit code 1 while some still waits).",
    },
    "cmd.pending": {
        "id": "Yang menunggu di meja untuk hub: id peristiwa, jenis, waktu, percobaan,"
        " galat terakhir.",
        "en": "What waits at the desk for the hub: event ids, types, times, attempts, last error.",
    },
    "unknown_reason": {
        "id": "alasan tidak dikenal; pilih salah satu: {reasons}",
        "en": "unknown reason; expected one of {reasons}",
    },
    "no_form": {
        "id": "{agency} tidak punya formulir {form}; formulir: {names}",
        "en": "the {agency} has no form {form}; forms: {names}",
    },
    "not_recorded_here": {
        "id": "meja ini tidak mencatat peristiwa itu: sebutkan formulirnya dengan --form ({names})",
        "en": "this desk did not record that event: say its form with --form ({names})",
    },
    "amend_unknown_here": {
        "id": "perhatian: meja ini tidak punya catatan dengan id itu. Tetap dikirim, tetapi hub"
        " menolaknya bila {unit} tidak mencatatnya (lihat `sinergi audit dead-letters`).",
        "en": "note: this desk holds no record with that id. It is sent anyway, but the hub"
        " refuses it unless {unit} recorded it (see `sinergi audit dead-letters`).",
    },
    "not_uuid": {"id": "id peristiwa harus UUID", "en": "the event id must be a UUID"},
    "refused": {
        "id": "ditolak, tidak ada yang dikirim: {count} masalah",
        "en": "refused, nothing was sent: {count} problem(s)",
    },
    "and_more": {"id": "  ... dan {count} lainnya", "en": "  ... and {count} more"},
    "error": {"id": "kesalahan: ", "en": "error: "},
    "valid": {
        "id": "sah: {count} baris {label}; tidak ada yang dikirim",
        "en": "valid: {count} {label} row(s); nothing sent",
    },
    "published": {
        "id": "diterbitkan {count} {label} dari {unit}",
        "en": "published {count} {label}(s) from {unit}",
    },
    "published_earlier": {
        "id": "  bersama {count} catatan sebelumnya yang menunggu di meja",
        "en": "  with {count} earlier record(s) that had waited at the desk",
    },
    "recorded_before": {
        "id": "  {count} {label} sudah pernah dicatat di meja ini: disimpan sekali",
        "en": "  {count} {label}(s) were recorded at this desk before: kept once",
    },
    "kept_id": {"id": "menunggu di meja", "en": "waiting at the desk"},
    "kept_at_desk": {
        "id": "disimpan di meja: hub belum dapat dihubungi ({error}), jadi {count} catatan"
        " {unit} menunggu di sana; `sinergi {agency} sync --at {place}` mengirimkannya.",
        "en": "kept at the desk: the hub cannot be reached now ({error}), so {count}"
        " record(s) of {unit} wait there; `sinergi {agency} sync --at {place}` delivers them.",
    },
    "delivered": {
        "id": "terkirim {count} catatan dari {unit}",
        "en": "delivered {count} record(s) from {unit}",
    },
    "nothing_waits": {
        "id": "{unit}: tidak ada yang menunggu di meja",
        "en": "{unit}: nothing waits at the desk",
    },
    "no_desk": {
        "id": "tidak ada meja {agency} di mesin ini yang menyimpan sesuatu",
        "en": "no {agency} desk on this machine has kept anything",
    },
    "waiting": {
        "id": "{unit}: {count} catatan menunggu hub",
        "en": "{unit}: {count} record(s) wait for the hub",
    },
    "waiting_more": {
        "id": "  ... dan {count} lainnya (--json menampilkan semuanya)",
        "en": "  ... and {count} more (--json lists them all)",
    },
    "col.event_type": {"id": "jenis peristiwa", "en": "event type"},
    "col.recorded": {"id": "dicatat (WITA)", "en": "recorded (WITA)"},
    "col.attempts": {"id": "percobaan", "en": "attempts"},
    "col.last_error": {"id": "galat terakhir", "en": "last error"},
    "col.event_id": {"id": "id peristiwa", "en": "event id"},
    # progress
    "progress.rows": {"id": "memeriksa baris", "en": "checking rows"},
    "progress.sign": {"id": "menandatangani", "en": "signing"},
    "progress.send": {"id": "mengirim ke hub", "en": "sending to the hub"},
    "progress.sync": {"id": "mengirim yang menunggu", "en": "delivering what waits"},
    "progress.wait": {"id": "menunggu prosesor", "en": "waiting for the processor"},
    "progress.replay": {"id": "memutar ulang pesan", "en": "replaying messages"},
    "progress.compare": {"id": "membandingkan", "en": "comparing"},
    # forms
    "cmd.forms": {
        "id": "Formulir setiap lembaga: kolomnya (* wajib) dan peristiwanya.",
        "en": "What every agency records: forms, their columns (* required) and events.",
    },
    "cmd.template": {
        "id": "Tulis berkas CSV kosong dengan baris judul formulir, untuk diisi lalu diimpor.",
        "en": "Write an empty CSV file with the form's header, to fill in and import.",
    },
    "arg.template_form": {"id": "Formulir: {names}", "en": "The form: {names}"},
    "arg.template_file": {
        "id": "Berkas yang ditulis (bawaan: FORM.csv; - untuk layar)",
        "en": "The file to write (default: FORM.csv; - for the screen)",
    },
    "opt.force": {"id": "Timpa berkas yang sudah ada", "en": "Overwrite an existing file"},
    "unknown_form": {
        "id": "formulir tidak dikenal {form}; formulir: {names}",
        "en": "unknown form {form}; forms: {names}",
    },
    "file_exists": {
        "id": "{path} sudah ada: pilih nama lain atau tambahkan --force",
        "en": "{path} exists already: choose another name or add --force",
    },
    "template_written": {
        "id": "ditulis {path}: {count} kolom ({required} wajib); isi lalu impor dengan"
        " `sinergi {agency} import {form} {path} --at TEMPAT`",
        "en": "wrote {path}: {count} columns ({required} required); fill it in, then import"
        " it with `sinergi {agency} import {form} {path} --at PLACE`",
    },
    "col.agency": {"id": "lembaga", "en": "agency"},
    "col.form": {"id": "formulir", "en": "form"},
    "col.event": {"id": "peristiwa", "en": "event"},
    "col.columns": {"id": "kolom", "en": "columns"},
    # stack and processor
    "cmd.stack_up": {
        "id": "Jalankan PostgreSQL, Kafka dan registry skema; buat topik, skema dan tabel.",
        "en": "Start PostgreSQL, Kafka and the schema registry; create topics, schemas and tables.",
    },
    "opt.hub": {
        "id": "Jalankan juga prosesor dan aplikasi web (seperti sinergi processor start dan"
        " sinergi web start)",
        "en": "Also start the processor and the web app (as sinergi processor start and"
        " sinergi web start do)",
    },
    "cmd.stack_down": {
        "id": "Hentikan prosesor dan semua layanan (data tetap di SINERGI_HOME).",
        "en": "Stop the processor and every service (data stays in SINERGI_HOME).",
    },
    "cmd.stack_status": {
        "id": "Tampilkan apakah setiap layanan berjalan.",
        "en": "Show whether each service runs.",
    },
    "col.service": {"id": "layanan", "en": "service"},
    "col.status": {"id": "status", "en": "status"},
    "cmd.process": {
        "id": "Jalankan prosesor buku kasus di latar depan (Ctrl-C menghentikannya dengan rapi).",
        "en": "Run the ledger processor in the foreground (Ctrl-C stops it cleanly).",
    },
    "cmd.processor_start": {
        "id": "Jalankan prosesor di latar belakang (log di SINERGI_HOME/logs/processor.log).",
        "en": "Start the processor in the background (logs in SINERGI_HOME/logs/processor.log).",
    },
    "cmd.processor_stop": {
        "id": "Hentikan prosesor latar belakang.",
        "en": "Stop the background processor.",
    },
    "processor": {"id": "prosesor: {state}", "en": "processor: {state}"},
    "cmd.demo": {
        "id": "Jalankan semuanya dan tunjukkan setiap lembaga menerbitkan dan buku kasus terisi.",
        "en": "Start everything and show every agency publishing and the ledger filling.",
    },
    "opt.months": {
        "id": "Bulan kegiatan yang disimulasikan",
        "en": "Months of activity to simulate",
    },
    "opt.seed": {
        "id": "Benih acak (benih sama, data sama)",
        "en": "Random seed (same seed, same data)",
    },
    # police
    "cmd.follow": {
        "id": "Ikuti peringatan saat hub menaikkan (dan mencabut) peringatan (Ctrl-C berhenti).",
        "en": "Follow alerts as the hub raises (and withdraws) them (Ctrl-C to stop).",
    },
    "opt.follow_unit": {
        "id": "Satuan polisi yang mengikuti: polda-ntt atau polres-<kode> (grup konsumennya"
        " sendiri)",
        "en": "Police unit following: polda-ntt or polres-<code> (its own consumer group)",
    },
    "opt.from_beginning": {
        "id": "Tampilkan semua peringatan yang pernah dinaikkan",
        "en": "Show every alert ever raised",
    },
    "opt.max": {
        "id": "Berhenti setelah sebanyak ini (0: tidak pernah)",
        "en": "Stop after this many (0: never)",
    },
    "opt.idle": {
        "id": "Berhenti setelah sekian detik tanpa peringatan",
        "en": "Stop after this many idle seconds",
    },
    "opt.reveal": {
        "id": "Buka kontak perekrut yang disegel untuk polisi",
        "en": "Open the recruiter contacts sealed for police",
    },
    "skipped": {"id": "dilewati", "en": "skipped"},
    "alert_line": {"id": "    peringatan {alert_id}", "en": "    alert {alert_id}"},
    "cases_line": {"id": "    kasus {cases}", "en": "    cases {cases}"},
    "contact_line": {
        "id": "    kontak perekrut (hanya polisi): {contacts}",
        "en": "    recruiter contact (police only): {contacts}",
    },
    "withdrawn": {"id": "DICABUT", "en": "WITHDRAWN"},
    "cmd.ack": {
        "id": "Tanggapi peringatan (menerbitkan AlertAcknowledged dengan id utuh peringatan).",
        "en": "Acknowledge an alert (publishes AlertAcknowledged with the alert's whole id).",
    },
    "arg.alert": {
        "id": "Peringatan yang ditanggapi: id-nya, atau 8 digit heksa pertamanya atau lebih",
        "en": "The alert to acknowledge: its id, or 8 or more of its first hex digits",
    },
    "opt.officer": {"id": "Kode staf Anda", "en": "Your staff code"},
    "opt.action": {"id": "Tindakan{values}", "en": "What you do about it{values}"},
    "opt.ack_unit": {
        "id": "Satuan polisi Anda: polda-ntt atau polres-<kode>",
        "en": "Your police unit: polda-ntt or polres-<code>",
    },
    "opt.when": {"id": "Kapan (bawaan: sekarang, WITA)", "en": "When (default: now, WITA)"},
    "cmd.alerts_list": {
        "id": "Peringatan dengan statusnya (terbuka, ditanggapi, dicabut) dan tanggapannya.",
        "en": "Alerts with their status (open, acknowledged, withdrawn) and acknowledgement.",
    },
    "opt.open": {
        "id": "Hanya peringatan terbuka: masih berlaku dan belum ditanggapi",
        "en": "Only open alerts: holding and not acknowledged",
    },
    "opt.rule": {
        "id": "Hanya aturan ini: {rules}",
        "en": "Only this rule: {rules}",
    },
    "opt.severity": {
        "id": "Hanya tingkat ini: {severities}",
        "en": "Only this severity: {severities}",
    },
    "opt.limit": {
        "id": "Berapa banyak, yang terakhir dimunculkan dulu",
        "en": "How many, the last raised first",
    },
    "alerts_more": {
        "id": "{shown} peringatan yang terakhir dimunculkan ditampilkan; masih ada lagi:"
        " --limit N menampilkan N",
        "en": "showing the {shown} alerts raised last; there are more: --limit N shows N",
    },
    "no_open_alerts": {"id": "tidak ada peringatan terbuka", "en": "no open alerts"},
    "no_alerts": {"id": "tidak ada peringatan", "en": "no alerts"},
    # ledger
    "cmd.summary": {
        "id": "Kasus, status, intersepsi per posko, perekrut dan peringatan (terbuka,"
        " ditanggapi, dicabut).",
        "en": "Cases, statuses, interceptions per post, recruiters and alerts (open,"
        " acknowledged, withdrawn).",
    },
    "cmd.case": {
        "id": "Satu kasus dan linimasanya lintas lembaga.",
        "en": "One case and its timeline across agencies.",
    },
    "arg.case": {
        "id": "Id kasus (nik:... atau weak:...), 8 digit heksa pertamanya atau lebih, atau NIK"
        " 16 digit (dipseudonimkan di sini, tidak pernah dikirim)",
        "en": "The case id (nik:... or weak:...), 8 or more of its first hex digits, or a"
        " 16-digit NIK (pseudonymised here, never sent)",
    },
    # the police's and analysts' views (sinergi/views.py)
    "view.summary": {
        "id": "Buku kasus bersama (joint case ledger)",
        "en": "Joint case ledger (buku kasus bersama)",
    },
    "view.what": {"id": "apa", "en": "what"},
    "view.count": {"id": "jumlah", "en": "count"},
    "view.cases": {"id": "kasus (orang)", "en": "cases (people)"},
    "view.strong": {"id": "dicocokkan dengan NIK (kuat)", "en": "matched by NIK (strong)"},
    "view.weak": {
        "id": "dicocokkan dengan nama/lahir/asal (lemah)",
        "en": "matched by name/birth/origin (weak)",
    },
    "view.case_status": {"id": "status {status}", "en": "status {status}"},
    "view.repeat": {"id": "dicegah lebih dari sekali", "en": "intercepted more than once"},
    "view.minors": {"id": "anak saat pertama tercatat", "en": "minors when first seen"},
    "view.interceptions": {"id": "pencegahan di buku kasus", "en": "interceptions in the ledger"},
    "view.at_post": {"id": "di pos {post}", "en": "at post {post}"},
    "view.recruiters": {"id": "calo yang terkait", "en": "recruiters (calo) linked"},
    "view.alerts": {"id": "peringatan untuk polisi", "en": "alerts for police"},
    "view.alerts_open": {
        "id": "terbuka (masih berlaku, belum ditanggapi)",
        "en": "open (holding, not yet acknowledged)",
    },
    "view.alerts_acknowledged": {"id": "ditanggapi", "en": "acknowledged"},
    "view.alerts_withdrawn": {
        "id": "dicabut (diakhiri fakta yang datang kemudian)",
        "en": "withdrawn (a later fact ended them)",
    },
    "view.case": {"id": "Kasus", "en": "Case"},
    "view.erased": {"id": "dihapus", "en": "erased"},
    "view.timeline": {"id": "Linimasa (timeline)", "en": "Timeline (linimasa)"},
    "view.when": {"id": "kapan (WITA)", "en": "when (WITA)"},
    "view.fact": {"id": "fakta", "en": "fact"},
    "view.by": {"id": "oleh", "en": "by"},
    "view.details": {"id": "rincian", "en": "details"},
    "view.triggered": {"id": "terjadi (WITA)", "en": "triggered (WITA)"},
    "view.status": {"id": "status", "en": "status"},
    "view.severity": {"id": "tingkat", "en": "severity"},
    "view.rule": {"id": "aturan", "en": "rule"},
    "view.alert_summary": {"id": "ringkasan", "en": "summary"},
    "view.alert_id": {"id": "id peringatan", "en": "alert id"},
    "view.alert": {"id": "peringatan", "en": "alert"},
    "view.status.open": {"id": "terbuka", "en": "open"},
    "view.status.acknowledged": {"id": "ditanggapi", "en": "acknowledged"},
    "view.status.withdrawn": {"id": "dicabut", "en": "withdrawn"},
    "case_erased": {
        "id": "dihapus pada {day} (data pribadinya tidak dapat dibaca lagi; faktanya tetap"
        " dihitung)",
        "en": "erased on {day} (their personal data can no longer be read; the facts are still"
        " counted)",
    },
    "case_gone": {
        "id": "kasus itu sudah tidak ada di buku kasus",
        "en": "the case is no longer in the ledger",
    },
    "cmd.recruiters": {
        "id": "Perekrut (pseudonim) yang terhubung dengan orang terbanyak.",
        "en": "Recruiters (pseudonymous) linked to the most people.",
    },
    "opt.how_many": {"id": "Berapa banyak", "en": "How many"},
    "col.recruiter": {"id": "perekrut", "en": "recruiter"},
    "col.people": {"id": "orang", "en": "people"},
    "col.interceptions": {"id": "intersepsi", "en": "interceptions"},
    "col.tips": {"id": "laporan", "en": "tips"},
    "col.groups": {"id": "rombongan", "en": "groups"},
    "col.investigations": {"id": "penyelidikan", "en": "investigations"},
    "col.suspect": {"id": "tersangka", "en": "suspect"},
    "col.last_seen": {"id": "terakhir terlihat (WITA)", "en": "last seen (WITA)"},
    "cmd.rebuild": {
        "id": "Putar ulang setiap topik dari awal ke proyeksi baru; bandingkan dengan yang"
        " berjalan.",
        "en": "Replay every topic from the beginning into a fresh projection; compare with live.",
    },
    "opt.keep": {
        "id": "Simpan skema hasil bangun ulang (tabel unlogged) untuk diperiksa",
        "en": "Keep the rebuilt schema (unlogged tables) for inspection",
    },
    "opt.wait": {
        "id": "Detik menunggu prosesor yang berjalan",
        "en": "Seconds to wait for the live processor",
    },
    "opt.workers": {
        "id": "Proses yang memutar ulang partisi (bawaan: 1)",
        "en": "Processes replaying the partitions (default: 1)",
    },
    "col.table": {"id": "tabel", "en": "table"},
    "col.rows_live": {"id": "baris (berjalan)", "en": "rows (live)"},
    "col.differences": {"id": "perbedaan", "en": "differences"},
    "identical": {
        "id": "identik: hasil bangun ulang dari {count} pesan sama dengan buku kasus berjalan",
        "en": "identical: the rebuild from {count} messages equals the live ledger",
    },
    "rebuild_differs": {
        "id": "hasil bangun ulang berbeda dari buku kasus berjalan",
        "en": "the rebuild differs from the live ledger",
    },
    # members and audit
    "cmd.agency_add": {
        "id": "Buat anggota: kredensial SCRAM, kunci tanda tangan Ed25519, ACL, entri direktori.",
        "en": "Create a member: SCRAM credential, Ed25519 signing key, ACLs, directory entry.",
    },
    "arg.member": {
        "id": "Id anggota dari data rujukan, mis. post-atapupu atau police-polres-5304",
        "en": "Member id from the reference data, e.g. post-atapupu or police-polres-5304",
    },
    "opt.role": {"id": "Apa yang boleh dilakukan anggota", "en": "What the member may do"},
    "member_ready": {
        "id": "anggota {member} ({role}) siap",
        "en": "member {member} ({role}) ready",
    },
    "member_credential": {
        "id": "  kredensial Kafka: {path} (mode 0600)",
        "en": "  Kafka credential: {path} (mode 0600)",
    },
    "member_key": {
        "id": "  kunci tanda tangan: {path} (mode 0600)",
        "en": "  signing key:      {path} (mode 0600)",
    },
    "member_public": {
        "id": "  kunci publik: {key} (di {path})",
        "en": "  public key:       {key} (in {path})",
    },
    "cmd.agency_list": {
        "id": "Anggota, perannya, jumlah ACL, dan apakah dicabut.",
        "en": "Members, their roles, ACL counts, and whether they were revoked.",
    },
    "col.member": {"id": "anggota", "en": "member"},
    "col.role": {"id": "peran", "en": "role"},
    "col.acls": {"id": "ACL", "en": "ACLs"},
    "col.since": {"id": "sejak", "en": "since"},
    "col.revoked": {"id": "dicabut", "en": "revoked"},
    "cmd.agency_revoke": {
        "id": "Hapus kredensial dan ACL anggota; tanda tangan lamanya tetap dapat diperiksa.",
        "en": "Remove a member's credential and ACLs; its past signatures stay verifiable.",
    },
    "arg.member_id": {"id": "Id anggota", "en": "Member id"},
    "cmd.intake_keys": {
        "id": "Kunci penerimaan hub (tempat meja menyegel data pribadi) dan yang berlaku kini.",
        "en": "The hub's intake keys (desks seal personal data to them) and the current one.",
    },
    "cmd.rotate_intake": {
        "id": "Buat kunci penerimaan baru untuk meja; yang lama tetap membuka sampai dipensiunkan.",
        "en": "Make a new intake key for desks; the old one still opens until it is retired.",
    },
    "cmd.retire_intake": {
        "id": "Hapus kunci penerimaan lama: yang disegel padanya hanya terbaca dari brankas.",
        "en": "Delete an old intake key: what was sealed to it is readable from the vault only.",
    },
    "arg.intake_key": {"id": "Id kunci penerimaan (8 heksa)", "en": "Intake key id (8 hex)"},
    "opt.grace_days": {
        "id": "Hari sejak rotasi yang ditunggu lebih dulu, agar meja yang sedang luring sempat"
        " mengirim catatan yang disegel ke kunci ini",
        "en": "Days since the rotation to wait first, so that desks offline then can send the"
        " records they sealed to this key",
    },
    "col.key_id": {"id": "id kunci", "en": "key id"},
    "col.current": {"id": "berlaku", "en": "current"},
    "yes": {"id": "ya", "en": "yes"},
    "intake_rotated": {
        "id": "Kunci penerimaan baru {kid}: meja menyegel padanya mulai sekarang.",
        "en": "New intake key {kid}: desks seal to it from now on.",
    },
    "intake_retired": {
        "id": "Kunci penerimaan {kid} dihapus.",
        "en": "Intake key {kid} deleted.",
    },
    "member_revoked": {"id": "dicabut {member} pada {at}", "en": "revoked {member} at {at}"},
    "cmd.audit_verify": {
        "id": "Periksa jejak audit: rantai hash setiap partisi, setiap offset yang dikomit"
        " prosesor punya entri, dan topik surat mati sepakat dengannya.",
        "en": "Check the audit trail: every partition's hash chain, that every offset the"
        " processor committed has an entry, and that the dead-letter topic agrees with it.",
    },
    "audit_intact": {
        "id": "utuh: {entries} entri dalam {chains} rantai",
        "en": "intact: {entries} entries in {chains} chain(s)",
    },
    "audit_broken": {
        "id": "rusak: rantai {chain}, entri {at}: {reason}",
        "en": "broken: chain {chain}, entry {at}: {reason}",
    },
    "audit_complete": {
        "id": "lengkap: setiap offset di bawah offset yang dikomit pada {partitions} partisi"
        " punya entri",
        "en": "complete: every offset below the committed offset of {partitions} partition(s)"
        " has an entry",
    },
    "audit_incomplete": {"id": "tidak lengkap: {gap}", "en": "incomplete: {gap}"},
    "audit_dead_letters": {
        "id": "surat mati sepakat: {audited} di audit, {published} di topik surat mati (atau"
        " segera diteruskan)",
        "en": "dead letters agree: {audited} in the audit, {published} on the dead-letter topic"
        " (or about to be relayed)",
    },
    "cmd.audit_dead_letters": {
        "id": "Pesan yang ditolak hub (surat mati), terbaru dulu: di mana (topik, partisi,"
        " offset), siapa yang menandatangani, dan alasannya (aturan dan kolomnya, tanpa isi).",
        "en": "The messages the hub refused (dead letters), newest first: where (topic,"
        " partition, offset), who signed them, and why (the rule and the field, never the"
        " content).",
    },
    "opt.dead_letters_since": {
        "id": "Hanya yang dicatat sejak saat ini (YYYY-MM-DD[THH:MM], WITA)",
        "en": "Only those logged since this moment (YYYY-MM-DD[THH:MM], WITA)",
    },
    "no_dead_letters": {"id": "Tidak ada surat mati.", "en": "No dead letters."},
    "col.position": {
        "id": "posisi (topik[partisi]@offset)",
        "en": "where (topic[partition]@offset)",
    },
    "col.signer": {"id": "penanda tangan", "en": "signer"},
    "col.reason": {"id": "alasan", "en": "reason"},
    "more_dead_letters": {
        "id": "{shown} terbaru dari {total} ditampilkan; --limit untuk lebih banyak.",
        "en": "the newest {shown} of {total} shown; --limit for more.",
    },
    "audit_not_published": {
        "id": "tidak ada surat mati untuk {where}",
        "en": "no dead letter for {where}",
    },
    "audit_not_audited": {
        "id": "tidak ada di audit: surat mati dari {where}",
        "en": "not in the audit: dead letter of {where}",
    },
    "audit_failed": {
        "id": "jejak audit tidak membuktikan bahwa tidak ada yang hilang atau diubah",
        "en": "the audit trail does not prove that nothing was lost or changed",
    },
    # the breach clock (sinergi/breach.py, sinergi/cli_breach.py)
    "cmd.audit_watch": {
        "id": "Awasi dugaan pelanggaran data pribadi: periksa jejak audit dan log authorizer"
        " Kafka (akses di luar matriks ACL); yang ditemukan memulai jam pemberitahuan 3 x 24"
        " jam. Jalankan berkala (cron/timer). Kode keluar: 0 bersih, 1 ada dugaan terbuka, 2"
        " sebuah pemeriksaan tidak dapat berjalan.",
        "en": "Watch for suspected personal data breaches: check the audit trail and Kafka's"
        " authorizer log (access outside the ACL matrix); what is found starts the 3 x 24 hour"
        " notification clock. Run it periodically (cron, a timer). Exit code: 0 clean, 1"
        " suspicions open, 2 a check could not run.",
    },
    "opt.watch_verify": {
        "id": "Jalankan juga pemeriksaan jejak audit (seperti audit verify; lebih lama)",
        "en": "Also run the audit trail's check (as audit verify does; slower)",
    },
    "opt.watch_log": {
        "id": "Log authorizer Kafka yang dibaca (boleh berulang); bawaan: setiap node stack ini",
        "en": "A Kafka authorizer log to read (repeatable); default: every node of this stack",
    },
    "opt.watch_every": {
        "id": "Ulangi setiap N detik sampai Ctrl-C (0: sekali)",
        "en": "Repeat every N seconds until Ctrl-C (0: once)",
    },
    "watch_ok": {"id": "{source}: bersih", "en": "{source}: clean"},
    "watch_suspected": {
        "id": "{source}: dugaan pelanggaran {kind} {subject} ({count} kali)",
        "en": "{source}: suspected breach {kind} {subject} ({count} time(s))",
    },
    "watch_unavailable": {
        "id": "{source}: tidak dapat diperiksa: {reason}",
        "en": "{source}: could not be checked: {reason}",
    },
    "cmd.audit_breaches": {
        "id": "Dugaan pelanggaran: sejak kapan, batas waktu pemberitahuan (3 x 24 jam), bukti.",
        "en": "Suspected breaches: since when, the notification deadline (3 x 24 hours), the"
        " evidence.",
    },
    "opt.all_breaches": {
        "id": "Juga yang sudah ditutup",
        "en": "Closed ones too",
    },
    "breach_none": {
        "id": "tidak ada dugaan pelanggaran yang terbuka",
        "en": "no suspected breach is open",
    },
    "breach_line": {
        "id": "{id} {kind} {subject}: terdeteksi {detected}, beri tahu paling lambat {deadline}"
        " ({left}); {count} kali",
        "en": "{id} {kind} {subject}: detected {detected}, notify by {deadline} ({left});"
        " {count} time(s)",
    },
    "breach_left": {"id": "sisa {hours} jam", "en": "{hours} h left"},
    "breach_overdue": {"id": "lewat {hours} jam", "en": "{hours} h overdue"},
    "breach_closed_line": {
        "id": "{id} {kind} {subject}: ditutup {closed} oleh {by}: {note}",
        "en": "{id} {kind} {subject}: closed {closed} by {by}: {note}",
    },
    "cmd.audit_close": {
        "id": "Tutup dugaan pelanggaran dengan catatan: siapa diberi tahu dan kapan, atau"
        " mengapa bukan pelanggaran. Jamnya tidak dapat diulang.",
        "en": "Close a suspected breach with a note: who was told and when, or why it was not"
        " a breach. Its clock cannot be reset.",
    },
    "arg.suspicion": {
        "id": "Id dugaan (atau 8 digit heksa pertamanya)",
        "en": "The suspicion's id (or its first 8 hex digits)",
    },
    "opt.close_note": {
        "id": "Catatan penutupan (tanpa data pribadi)",
        "en": "The closing note (no personal data)",
    },
    "opt.close_notified": {
        "id": "Subjek data dan lembaga telah diberi tahu (--not-notified: bukan pelanggaran)",
        "en": "The data subjects and the authority were told (--not-notified: not a breach)",
    },
    "breach_closed": {"id": "ditutup {id}", "en": "closed {id}"},
    "breach_clock_started": {
        "id": "jam pemberitahuan 3 x 24 jam berjalan: {count} dugaan pelanggaran terbuka"
        " (sinergi audit breaches)",
        "en": "the 3 x 24 hour notification clock runs: {count} suspected breach(es) open"
        " (sinergi audit breaches)",
    },
    "breach_not_recorded": {
        "id": "dugaan pelanggaran tidak dapat dicatat di PostgreSQL ({kind}); catat sendiri"
        " waktunya: jam 3 x 24 jam sudah berjalan",
        "en": "the suspected breach could not be recorded in PostgreSQL ({kind}); note the time"
        " yourself: the 3 x 24 hour clock runs",
    },
    # a data subject's right of access (sinergi/person.py, sinergi/cli_person.py)
    "group.person": {
        "id": "Data seseorang: hak subjek data (UU 27/2022).",
        "en": "A person's data: the rights of data subjects (UU 27/2022).",
    },
    "cmd.person_export": {
        "id": "Semua yang disimpan hub tentang satu orang (hak akses), sebagai JSON: peristiwa,"
        " kasus dan linimasanya, peringatan dan statusnya, perekrut/kelompok/berkas polisi"
        " yang terkait, versi catatan, entri audit. Hanya administrator; setiap ekspor dicatat"
        " (siapa, kapan, pseudonim; tidak pernah NIK).",
        "en": "Everything the hub holds about one person (their right of access), as JSON:"
        " events, the case and its timeline, alerts and their status, linked recruiters,"
        " groups and police files, record versions, audit entries. Administrator only; every"
        " export is recorded (who, when, the pseudonym; never the NIK).",
    },
    "arg.person_nik": {
        "id": "NIK orang itu; kosongkan untuk ditanya (agar tidak masuk riwayat shell)",
        "en": "The person's NIK; leave it out to be asked (so it stays out of the shell's history)",
    },
    "opt.export_out": {
        "id": "Berkas JSON tujuan (mode 0600); tanpa ini: keluaran standar",
        "en": "The JSON file to write (mode 0600); without it: standard output",
    },
    "opt.export_request": {
        "id": "Nomor permintaan subjek data (dicatat bersama ekspor)",
        "en": "The data subject's request reference (recorded with the export)",
    },
    "opt.who": {
        "id": "Siapa (nama atau kode staf); bawaan: pengguna sistem",
        "en": "Who (a name or staff code); default: the system user",
    },
    "person_nik_prompt": {"id": "NIK", "en": "NIK"},
    "person_exported": {
        "id": "diekspor: kasus {case}: {events} peristiwa, {alerts} peringatan, ke {where};"
        " dicatat sebagai ekspor #{seq}",
        "en": "exported: case {case}: {events} event(s), {alerts} alert(s), to {where};"
        " recorded as export #{seq}",
    },
    "person_not_held": {
        "id": "hub tidak menyimpan kasus untuk NIK ini (ekspor tetap dicatat)",
        "en": "the hub holds no case for this NIK (the export is recorded all the same)",
    },
    "stdout": {"id": "keluaran standar", "en": "standard output"},
    "opt.person_case": {
        "id": "Id kasus orang itu (nik:/weak: dan 32 digit heksa), bagi yang dikenal hanya dari"
        " nama (mis. ditemukan di peramban) atau sudah dihapus; sebagai ganti NIK",
        "en": "The person's case id (nik:/weak: and 32 hex digits), for someone known only by"
        " name (e.g. found in the browser) or already erased; instead of a NIK",
    },
    "person_nothing_held": {
        "id": "hub tidak menyimpan apa pun tentang NIK ini: tidak ada orang di brankasnya (tidak"
        " pernah dicatat, atau sudah dihapus)",
        "en": "the hub holds nothing about this NIK: no person in its vault (never recorded, or"
        " erased)",
    },
    "person_export_erased": {
        "id": "orang ini telah dihapus pada {at} (permintaan {request}): data pribadinya tidak"
        " dapat dibaca lagi; fakta-faktanya tetap dihitung",
        "en": "this person was erased on {at} (request {request}): their personal fields can no"
        " longer be read; their facts stay, counted",
    },
    # erasure (sinergi/erasure.py, sinergi/cli_person.py)
    "cmd.person_erase": {
        "id": "Hapus seseorang (crypto-shredding): kunci datanya dimusnahkan sehingga data"
        " pribadinya tidak terbaca lagi di mana pun; fakta-faktanya tetap dihitung. Seorang"
        " administrator meminta (NIK atau --case, dan --reason), administrator LAIN"
        " mengonfirmasi (--confirm ID_PERMINTAAN); --list: permintaan yang menunggu;"
        " --withdraw ID_PERMINTAAN --reason KODE: menarik kembali. Setiap langkah dicatat;"
        " hub menerbitkan PersonErased bertanda tangan di hub.cases.",
        "en": "Erase a person (crypto-shredding): their data key is destroyed so their personal"
        " fields can no longer be read anywhere; their facts stay, counted. One administrator"
        " asks (a NIK or --case, and --reason), ANOTHER confirms (--confirm REQUEST_ID);"
        " --list: the requests waiting; --withdraw REQUEST_ID --reason CODE: withdraw one."
        " Every step is recorded; the hub publishes a signed PersonErased on hub.cases.",
    },
    "opt.erase_reason": {
        "id": "Alasan, sebagai kode: SUBJECT_REQUEST (orang itu meminta), CONSENT_WITHDRAWN,"
        " COURT_ORDER, UNLAWFUL_PROCESSING",
        "en": "Why, as a code: SUBJECT_REQUEST (the person asked), CONSENT_WITHDRAWN,"
        " COURT_ORDER, UNLAWFUL_PROCESSING",
    },
    "opt.erase_confirm": {
        "id": "Laksanakan permintaan ini (id atau 8 digit heksa pertamanya); oleh administrator"
        " lain daripada yang meminta",
        "en": "Carry out this request (its id or first 8 hex digits); by another administrator"
        " than the one who asked",
    },
    "opt.erase_list": {
        "id": "Tampilkan permintaan penghapusan yang menunggu konfirmasi",
        "en": "Show the erasure requests waiting for confirmation",
    },
    "erase_requested": {
        "id": "penghapusan diminta: {request} untuk kasus {case}, alasan {reason}, oleh {by}",
        "en": "erasure requested: {request} for case {case}, reason {reason}, by {by}",
    },
    "erase_confirm_hint": {
        "id": "administrator lain melaksanakannya: sinergi person erase --confirm {request}",
        "en": "another administrator carries it out: sinergi person erase --confirm {request}",
    },
    "erase_pending_line": {
        "id": "{request} kasus {case}: {reason}, diminta oleh {by} pada {at}",
        "en": "{request} case {case}: {reason}, asked by {by} on {at}",
    },
    "erase_none_pending": {
        "id": "tidak ada permintaan penghapusan yang menunggu",
        "en": "no erasure request is waiting",
    },
    "opt.erase_withdraw": {
        "id": "Tarik kembali permintaan ini (id atau 8 digit heksa pertamanya) sebelum"
        " dilaksanakan, dengan --reason MISTAKEN, DUPLICATE, SUBJECT_WITHDREW atau LEGAL_HOLD",
        "en": "Withdraw this request (its id or first 8 hex digits) before it is carried out,"
        " with --reason MISTAKEN, DUPLICATE, SUBJECT_WITHDREW or LEGAL_HOLD",
    },
    "erase_withdrawn": {
        "id": "ditarik kembali: permintaan {request} untuk kasus {case} ({reason}, oleh {by});"
        " tidak ada yang dihapus",
        "en": "withdrawn: request {request} for case {case} ({reason}, by {by}); nothing was"
        " erased",
    },
    "person_erased": {
        "id": "dihapus: kasus {case}, {facts} fakta tidak terbaca lagi; permintaan {request}"
        " (diminta oleh {asked}, dikonfirmasi oleh {confirmed})",
        "en": "erased: case {case}, {facts} fact(s) made unreadable; request {request} (asked"
        " by {asked}, confirmed by {confirmed})",
    },
    "person_erased_published": {
        "id": "PersonErased diterbitkan di hub.cases",
        "en": "PersonErased published on hub.cases",
    },
    "person_erased_waits": {
        "id": "PersonErased menunggu di outbox hub: prosesor menerbitkannya pada gilirannya"
        " berikutnya",
        "en": "PersonErased waits in the hub's outbox: the processor publishes it on its next turn",
    },
    "cmd.person_retention": {
        "id": "Orang yang masa simpannya telah lewat menurut deploy/retention.yaml (setiap fakta"
        " tentang mereka lebih tua dari masa jenisnya); --apply menghapus masing-masing (alasan"
        " RETENTION, tanpa administrator kedua: kebijakan itulah keputusannya), dicatat dan"
        " diumumkan seperti `person erase`.",
        "en": "The people whose retention has passed under deploy/retention.yaml (every fact"
        " about them older than its type's period); --apply erases each (reason RETENTION, no"
        " second administrator: the policy is the decision), recorded and announced as"
        " `person erase` does.",
    },
    "opt.retention_apply": {
        "id": "Hapus mereka (tanpa ini: hanya daftar)",
        "en": "Erase them (without it: only list them)",
    },
    "opt.retention_at": {
        "id": "Nilai pada saat ini (YYYY-MM-DD[THH:MM], WITA) alih-alih sekarang; saat yang akan"
        " datang hanya dapat dilihat, tidak diterapkan",
        "en": "Judge as of this moment (YYYY-MM-DD[THH:MM], WITA) instead of now; a later moment"
        " may be looked at, never applied",
    },
    "opt.retention_policy": {
        "id": "Berkas kebijakan; bawaan: deploy/retention.yaml",
        "en": "The policy file; default: deploy/retention.yaml",
    },
    "retention_due": {"id": "{case}: masa simpan lewat", "en": "{case}: retention passed"},
    "retention_held": {
        "id": "{case}: masa simpan lewat, tetapi ditahan secara hukum (LEGAL_HOLD): disimpan",
        "en": "{case}: retention passed, but under a legal hold (LEGAL_HOLD): kept",
    },
    "retention_listed": {
        "id": "{count} orang lewat masa simpannya pada {at} (--apply menghapus mereka)",
        "en": "{count} person(s) past their retention on {at} (--apply erases them)",
    },
    "retention_applied": {
        "id": "{count} orang dihapus menurut kebijakan masa simpan",
        "en": "{count} person(s) erased under the retention policy",
    },
    # backups that erasure reaches (sinergi/backup.py, sinergi/cli_backup.py)
    "group.backup": {
        "id": "Cadangan basis data: data dan kunci orang disimpan terpisah, agar penghapusan"
        " menjangkau setiap cadangan.",
        "en": "Database backups: the data and the person keys kept apart, so that an erasure"
        " reaches every backup.",
    },
    "cmd.backup_run": {
        "id": "Cadangkan basis data hub (pg_dump, format custom): cadangan data tanpa baris"
        " person_keys, dan terpisah cadangan kunci (person_keys saja), dari satu snapshot;"
        " berkas mode 0600 dengan manifes sha256. KEK tidak ada di keduanya.",
        "en": "Back up the hub's database (pg_dump, custom format): a data backup without"
        " person_keys' rows and, apart, a keys backup (person_keys only), from one snapshot;"
        " files mode 0600 with a sha256 manifest. The KEK is in neither.",
    },
    "cmd.backup_prune": {
        "id": "Cadangan yang lewat masa simpannya (kunci: SINERGI_BACKUP_KEYS_DAYS, bawaan 35;"
        " data: SINERGI_BACKUP_DATA_DAYS, bawaan 400); --apply menghapusnya.",
        "en": "The backups past their retention (keys: SINERGI_BACKUP_KEYS_DAYS, default 35;"
        " data: SINERGI_BACKUP_DATA_DAYS, default 400); --apply deletes them.",
    },
    "cmd.backup_restore": {
        "id": "Pulihkan cadangan data dan cadangan kunci ke basis data BARU (yang sudah ada"
        " ditolak), untuk membuktikan cadangan itu dapat dipakai.",
        "en": "Restore a data backup and a keys backup into a NEW database (an existing one is"
        " refused), to prove the backup works.",
    },
    "opt.backup_to": {
        "id": "Folder akar cadangan (data/ dan keys/); bawaan: SINERGI_BACKUP_DIR, atau"
        " SINERGI_HOME/backups",
        "en": "The backups' root folder (data/ and keys/); default: SINERGI_BACKUP_DIR, else"
        " SINERGI_HOME/backups",
    },
    "opt.backup_prune_apply": {
        "id": "Hapus cadangan itu (tanpa ini: hanya daftar)",
        "en": "Delete those backups (without it: only list them)",
    },
    "opt.backup_data": {"id": "Berkas cadangan data (.dump)", "en": "The data backup (.dump)"},
    "opt.backup_keys": {
        "id": "Berkas cadangan kunci (.dump), diambil bersamaan atau setelah cadangan data",
        "en": "The keys backup (.dump), taken with the data backup or later",
    },
    "opt.backup_database": {
        "id": "Nama basis data baru tujuan pemulihan",
        "en": "The new database to restore into",
    },
    "backup_written_data": {
        "id": "cadangan data: {path} ({size} bita, sha256 {sha}...; tanpa baris person_keys)",
        "en": "data backup: {path} ({size} bytes, sha256 {sha}...; no person_keys rows)",
    },
    "backup_written_keys": {
        "id": "cadangan kunci: {path} ({size} bita, sha256 {sha}...; {people} orang, {keys}"
        " dengan kunci data)",
        "en": "keys backup: {path} ({size} bytes, sha256 {sha}...; {people} people, {keys}"
        " with a data key)",
    },
    "backup_kek_apart": {
        "id": "KEK ({kek}) tidak ada di cadangan mana pun: simpan salinannya offline, terpisah"
        " dari keduanya (tanpanya tidak ada data pribadi yang dapat dibuka)",
        "en": "the KEK ({kek}) is in neither backup: keep a copy offline, apart from both"
        " (without it no personal field can be opened)",
    },
    "backup_expired": {
        "id": "{kind} {path}: diambil {at}, lewat {days} hari (--apply menghapusnya)",
        "en": "{kind} {path}: taken {at}, past {days} days (--apply deletes it)",
    },
    "backup_pruned": {
        "id": "{kind} {path}: diambil {at}, lewat {days} hari: dihapus",
        "en": "{kind} {path}: taken {at}, past {days} days: deleted",
    },
    "backup_prune_listed": {
        "id": "{count} cadangan lewat masa simpannya pada {at}, {kept} tetap disimpan",
        "en": "{count} backup(s) past their retention on {at}, {kept} kept",
    },
    "backup_prune_applied": {
        "id": "{count} cadangan dihapus (masa simpan pada {at}), {kept} tetap disimpan",
        "en": "{count} backup(s) deleted (retention as of {at}), {kept} kept",
    },
    "backup_no_keys_left": {
        "id": "tidak ada cadangan kunci yang tersisa: cadangan data tidak dapat membuka data"
        " pribadi sampai `sinergi backup run` berikutnya",
        "en": "no keys backup is left: the data backups cannot open personal fields until the"
        " next `sinergi backup run`",
    },
    "backup_restored": {
        "id": "dipulihkan ke {database}: {people} orang, {keys} dengan kunci data; {facts}"
        " fakta, {readable} di bawah kunci data yang ada di cadangan kunci",
        "en": "restored into {database}: {people} people, {keys} with a data key; {facts}"
        " facts, {readable} under a data key the keys backup holds",
    },
    "cmd.backup_drop": {
        "id": "Hapus basis data yang dibuat `backup restore` (basis data lain ditolak).",
        "en": "Drop a database `backup restore` made (any other is refused).",
    },
    "opt.backup_drop_database": {
        "id": "Basis data hasil pemulihan yang dihapus",
        "en": "The restored database to drop",
    },
    "backup_dropped": {
        "id": "{database} dihapus (jika ada)",
        "en": "{database} dropped (if it was there)",
    },
    "backup_sample_opened": {
        "id": "KEK hub ini membuka {opened} dari {tried} fakta contoh",
        "en": "this hub's KEK opened {opened} of {tried} sample facts",
    },
    "backup_sample_failed": {
        "id": "KEK hub ini hanya membuka {opened} dari {tried} fakta contoh: cadangan ini"
        " bukan dari KEK ini, atau rusak",
        "en": "this hub's KEK opened only {opened} of {tried} sample facts: the backup is not"
        " under this KEK, or damaged",
    },
    # refusals that are not the user's typing: one sentence each, never a traceback
    "refusal.kafka_acl": {
        "id": "Kafka menolak: {unit} tidak berhak atas {what} (ACL); minta administrator"
        " memeriksa perannya (sinergi agency list)",
        "en": "Kafka refused: {unit} may not use {what} (ACLs); ask the administrator to check"
        " its role (sinergi agency list)",
    },
    "refusal.kafka_login": {
        "id": "Kafka menolak login {unit}: kredensialnya salah atau sudah dicabut",
        "en": "Kafka refused the login of {unit}: its credential is wrong or was revoked",
    },
    "refusal.kafka_down": {
        "id": "Kafka di {address} tidak dapat dihubungi ({kind})",
        "en": "Kafka at {address} cannot be reached ({kind})",
    },
    "refusal.pg_permission": {
        "id": "PostgreSQL menolak: peran ini tidak berhak ({detail}); analis hanya membaca"
        " view v_*",
        "en": "PostgreSQL refused: this role may not do that ({detail}); analysts read the"
        " v_* views only",
    },
    "refusal.pg_login": {
        "id": "PostgreSQL menolak login: kata sandi atau peran salah",
        "en": "PostgreSQL refused the login: wrong password or role",
    },
    "refusal.pg_down": {
        "id": "PostgreSQL di {address} tidak dapat dihubungi ({kind})",
        "en": "PostgreSQL at {address} cannot be reached ({kind})",
    },
    "refusal.pg_other": {
        "id": "PostgreSQL menolak permintaan ini ({kind})",
        "en": "PostgreSQL refused the request ({kind})",
    },
    "refusal.file": {
        "id": "tidak ada izin untuk membuka {path}",
        "en": "no permission to open {path}",
    },
    "what.topic": {"id": "topik ini", "en": "this topic"},
    "what.group": {"id": "grup konsumen ini", "en": "this consumer group"},
    "what.cluster": {"id": "kluster ini", "en": "this cluster"},
    "what.other": {"id": "sumber daya ini", "en": "this resource"},
    "someone": {"id": "anggota ini", "en": "this member"},
    # stack up
    "opt.brokers": {
        "id": "Jumlah node Kafka: 1, atau 3 untuk kluster tereplikasi [SINERGI_KAFKA_BROKERS]",
        "en": "Kafka nodes: 1, or 3 for a replicated cluster [SINERGI_KAFKA_BROKERS]",
    },
    # the browser application (sinergi.cli_web)
    "group.web": {
        "id": "Aplikasi peramban (polisi, posko, lembaga, tim operasi).",
        "en": "The browser application (police, posts, agencies, operations).",
    },
    "cmd.web": {
        "id": "Jalankan aplikasi peramban di latar depan (SINERGI_WEB_HOST, SINERGI_WEB_PORT;"
        " bawaan: hanya loopback), beserta pemberi tahu peringatan baru.",
        "en": "Serve the browser application in the foreground (SINERGI_WEB_HOST,"
        " SINERGI_WEB_PORT; loopback by default), with the notifier of new alerts.",
    },
    "opt.no_notify": {
        "id": "Jangan jalankan pemberi tahu peringatan baru",
        "en": "Do not run the notifier of new alerts",
    },
    "cmd.web_start": {
        "id": "Jalankan aplikasi peramban di latar belakang (log di SINERGI_HOME/logs/web.log).",
        "en": "Start the browser application in the background (logs in"
        " SINERGI_HOME/logs/web.log).",
    },
    "cmd.web_stop": {
        "id": "Hentikan aplikasi peramban yang berjalan di latar belakang.",
        "en": "Stop the background browser application.",
    },
    "web.db_down": {
        "id": "PostgreSQL tidak dapat dihubungi sebagai administratornya ({kind}): apakah stack"
        " sudah berjalan? (sinergi stack up)",
        "en": "PostgreSQL cannot be reached as its administrator ({kind}): is the stack up?"
        " (sinergi stack up)",
    },
    "group.officer": {
        "id": "Petugas yang masuk ke aplikasi peramban.",
        "en": "Officers who log in to the browser application.",
    },
    "cmd.officer_add": {
        "id": "Tambahkan petugas. Kata sandi yang dibuatkan ditulis ke SINERGI_HOME/secrets/web/"
        "USERNAME.password (mode 0600) dan tidak pernah dicetak.",
        "en": "Add an officer. A generated password is written to SINERGI_HOME/secrets/web/"
        "USERNAME.password (mode 0600) and never printed.",
    },
    "arg.new_username": {
        "id": "Nama untuk masuk: huruf kecil, angka, . _ -",
        "en": "Log-in name: lower-case letters, digits, . _ -",
    },
    "opt.officer_unit": {
        "id": "Unit anggota: post-eltari, police-polres-5371, bp3mi-ntt, district-5302,"
        " hotline-sisaga, ops, admin",
        "en": "The member unit: post-eltari, police-polres-5371, bp3mi-ntt, district-5302,"
        " hotline-sisaga, ops, admin",
    },
    "opt.officer_code": {
        "id": "Kode staf petugas, seperti yang diterbitkan meja layanan (pseudonim seperti"
        " ELT-07, tidak pernah nama)",
        "en": "The officer's staff code, as the desks publish it (a pseudonym such as ELT-07,"
        " never a name)",
    },
    "opt.password_stdin": {
        "id": "Baca kata sandi dari masukan standar (jika tidak, kata sandi dibuatkan)",
        "en": "Read the password from standard input (else one is generated)",
    },
    "officer.added": {
        "id": "[green]petugas {username}[/green] dari {unit} ({code})",
        "en": "[green]officer {username}[/green] of {unit} ({code})",
    },
    "officer.password_at": {
        "id": "  kata sandi: {path} (mode 0600)",
        "en": "  password: {path} (mode 0600)",
    },
    "cmd.officer_list": {
        "id": "Para petugas, unit dan kodenya, dan apakah dinonaktifkan atau terkunci.",
        "en": "Officers, their units and codes, and whether they are disabled or locked out.",
    },
    "col.username": {"id": "nama pengguna", "en": "username"},
    "col.member_unit": {"id": "unit", "en": "unit"},
    "col.staff_code": {"id": "kode", "en": "code"},
    "col.last_login": {"id": "terakhir masuk", "en": "last log-in"},
    "col.state": {"id": "keadaan", "en": "state"},
    "state.active": {"id": "aktif", "en": "active"},
    "state.disabled": {"id": "nonaktif", "en": "disabled"},
    "state.locked_until": {"id": "terkunci sampai {until}", "en": "locked until {until}"},
    "officer.unknown": {"id": "tidak ada petugas {username}", "en": "no officer {username}"},
    "officer.now_disabled": {
        "id": "{username}: dinonaktifkan (keluar pada permintaan berikutnya)",
        "en": "{username}: disabled (logged out at the next request)",
    },
    "officer.now_enabled": {"id": "{username}: diaktifkan", "en": "{username}: enabled"},
    "cmd.officer_disable": {
        "id": "Nonaktifkan petugas: sesinya berakhir pada permintaan berikutnya.",
        "en": "Disable an officer: their sessions end at their next request.",
    },
    "cmd.officer_enable": {
        "id": "Aktifkan kembali petugas yang dinonaktifkan.",
        "en": "Enable a disabled officer again.",
    },
    "arg.username": {"id": "Nama pengguna petugas", "en": "The officer's username"},
    "cmd.officer_reset": {
        "id": "Kata sandi baru yang dibuatkan (di SINERGI_HOME/secrets/web/USERNAME.password);"
        " penguncian dicabut.",
        "en": "A new generated password (in SINERGI_HOME/secrets/web/USERNAME.password); the"
        " lockout is lifted.",
    },
    "officer.new_password": {
        "id": "{username}: kata sandi baru di {path} (mode 0600)",
        "en": "{username}: new password in {path} (mode 0600)",
    },
    "group.notify": {
        "id": "Notifikasi dorong untuk peringatan baru (webhook, e-mail).",
        "en": "Push notifications of new alerts (webhooks, e-mail).",
    },
    "cmd.notify_add": {
        "id": "Beri tahu unit polisi tentang peringatan baru melalui sebuah saluran (peringatan"
        " yang muncul mulai sekarang). Rahasia penandatanganan webhook ditulis ke"
        " SINERGI_HOME/secrets/webhooks/ID.password.",
        "en": "Tell a police unit of new alerts on a channel (alerts raised from now on). A"
        " webhook's signing secret is written to SINERGI_HOME/secrets/webhooks/ID.password.",
    },
    "arg.new_channel": {
        "id": "Nama saluran, mis. polres-tts-hook",
        "en": "A name for the channel, e.g. polres-tts-hook",
    },
    "opt.notify_unit": {
        "id": "Unit polisi yang diberi tahu: police-polda-ntt atau police-polres-<kode>",
        "en": "The police unit told: police-polda-ntt or police-polres-<code>",
    },
    "opt.webhook": {
        "id": "URL tujuan notifikasi bertanda tangan (dikirim dengan POST)",
        "en": "A URL to POST signed notifications to",
    },
    "opt.email": {
        "id": "Alamat e-mail tujuan notifikasi",
        "en": "An address to e-mail notifications to",
    },
    "opt.min_severity": {
        "id": "LOW, MEDIUM, HIGH atau CRITICAL",
        "en": "LOW, MEDIUM, HIGH or CRITICAL",
    },
    "notify.police_only": {
        "id": "hanya unit polisi yang diberi tahu tentang peringatan",
        "en": "only police units are told of alerts",
    },
    "notify.one_target": {
        "id": "berikan salah satu: --webhook atau --email",
        "en": "give one of --webhook or --email",
    },
    "notify.bad_severity": {
        "id": "--min-severity adalah LOW, MEDIUM, HIGH atau CRITICAL",
        "en": "--min-severity is LOW, MEDIUM, HIGH or CRITICAL",
    },
    "notify.bad_webhook": {
        "id": "--webhook harus URL http:// atau https://",
        "en": "--webhook is an http:// or https:// URL",
    },
    "notify.bad_email": {"id": "--email harus alamat e-mail", "en": "--email is an address"},
    "notify.added": {
        "id": "[green]saluran {channel}[/green]: {kind} untuk {unit}, {severity} ke atas",
        "en": "[green]channel {channel}[/green]: {kind} for {unit}, {severity} and above",
    },
    "notify.secret_at": {
        "id": "  rahasia penandatanganan: {path}",
        "en": "  signing secret: {path}",
    },
    "cmd.notify_channels": {
        "id": "Saluran-saluran, yang aktif dan yang dinonaktifkan.",
        "en": "The channels, active and disabled.",
    },
    "col.channel": {"id": "saluran", "en": "channel"},
    "col.channel_kind": {"id": "jenis", "en": "kind"},
    "col.target": {"id": "tujuan", "en": "target"},
    "col.min_severity": {"id": "keparahan minimum", "en": "min severity"},
    "cmd.notify_disable": {
        "id": "Hentikan sebuah saluran (yang belum terkirim tetap tercatat di log, tidak"
        " terkirim).",
        "en": "Stop a channel (what it has not delivered stays in the log, undelivered).",
    },
    "arg.channel": {"id": "Saluran", "en": "The channel"},
    "notify.unknown": {
        "id": "tidak ada saluran aktif {channel}",
        "en": "no active channel {channel}",
    },
    "notify.now_disabled": {"id": "{channel}: dinonaktifkan", "en": "{channel}: disabled"},
    "cmd.notify_deliveries": {
        "id": "Log pengiriman: setiap notifikasi, percobaannya dan keadaannya.",
        "en": "The delivery log: each notification, its attempts and its state.",
    },
    "opt.deliveries_limit": {"id": "Berapa banyak, terbaru dulu", "en": "How many, newest first"},
    "col.alert": {"id": "peringatan", "en": "alert"},
    "col.next_attempt": {"id": "percobaan berikutnya", "en": "next attempt"},
    "col.delivered": {"id": "terkirim", "en": "delivered"},
    "cmd.notify_run": {
        "id": "Jalankan pemberi tahu di latar depan, terpisah dari aplikasi peramban (satu"
        " pemberi tahu bekerja pada satu waktu; yang kedua menunggu).",
        "en": "Run the notifier in the foreground, apart from the web application (one"
        " notifier works at a time; a second one waits).",
    },
    "notify.running": {
        "id": "pemberi tahu berjalan (Ctrl-C menghentikannya)",
        "en": "notifier running (Ctrl-C stops it)",
    },
    # accounting to the public (sinergi.cli_report)
    "group.report": {
        "id": "Akuntabilitas publik: laporan bulanan dan ekspor bergaya CTDC.",
        "en": "Public accountability: the monthly report and the CTDC-style export.",
    },
    "cmd.report_monthly": {
        "id": "Laporan akuntabilitas publik bulanan: intersepsi, pemulangan dan kematian, orang"
        " menurut kabupaten asal, peringatan dan tanggapannya, pencegahan; dibandingkan dengan"
        " bulan sebelumnya dan bulan yang sama setahun sebelumnya; angka kecil disembunyikan.",
        "en": "The monthly public accountability report: interceptions, repatriations and"
        " deaths, people by origin regency, alerts and their acknowledgement, prevention;"
        " against the previous month and the same month a year before; small counts withheld.",
    },
    "opt.report_month": {
        "id": "Bulannya, YYYY-MM (mis. 2026-03)",
        "en": "The month, YYYY-MM (e.g. 2026-03)",
    },
    "opt.report_format": {"id": "pdf, html atau csv", "en": "pdf, html or csv"},
    "opt.report_lang": {
        "id": "id (Bahasa Indonesia) atau en (English)",
        "en": "id (Bahasa Indonesia) or en (English)",
    },
    "opt.report_out": {
        "id": "Ke mana ditulis (bawaan: di folder ini)",
        "en": "Where to write it (default: in this folder)",
    },
    "opt.report_k": {
        "id": "Angka di bawah k disembunyikan [SINERGI_REPORT_K, 11]",
        "en": "Counts below k are withheld [SINERGI_REPORT_K, 11]",
    },
    "report.k_too_small": {
        "id": "k paling sedikit 2 (SINERGI_REPORT_K, --k), bukan {k}",
        "en": "k must be at least 2 (SINERGI_REPORT_K, --k), got {k}",
    },
    "report.bad_lang": {
        "id": "--lang adalah id atau en, bukan {lang}",
        "en": "--lang is id or en, got {lang}",
    },
    "report.written": {
        "id": "{path} ({withheld} angka disembunyikan, k = {k})",
        "en": "{path} ({withheld} figures withheld, k = {k})",
    },
    "cmd.report_ctdc": {
        "id": "Ekspor kasus bergaya CTDC: satu baris per kasus dalam variabel buku kode yang"
        " dimiliki hub, dianonimkan-k (digeneralisasi, dan kasus dalam kelompok yang lebih kecil"
        " ditinggalkan); CSV.",
        "en": "A CTDC-style case export: one row per case in the codebook's variables the hub"
        " has, k-anonymised (generalised, and cases in smaller groups left out); CSV.",
    },
    "opt.ctdc_year": {
        "id": "Kasus yang terdaftar (pertama kali terlihat) pada tahun ini",
        "en": "Cases registered (first seen) in this year",
    },
    "opt.ctdc_out": {
        "id": "Berkas CSV (bawaan: keluaran standar)",
        "en": "The CSV file (default: standard output)",
    },
    "opt.ctdc_k": {
        "id": "Setiap kombinasi nilai muncul sedikitnya k kali [SINERGI_REPORT_K]",
        "en": "Each combination of values occurs at least k times [SINERGI_REPORT_K]",
    },
    "report.exported": {
        "id": "{count} kasus diekspor, {left_out} ditinggalkan (k = {k}; digeneralisasi: {levels})",
        "en": "{count} cases exported, {left_out} left out (k = {k}; generalised: {levels})",
    },
}


# --- the forms' columns, for options and templates ---------------------------------------------

# A column's help: "<form>.<column>" where forms mean different things by it, else "<column>".
COLUMNS: Mapping[str, Mapping[str, str]] = {
    "event_id": {
        "id": "id catatan milik lembaga (UUID); diturunkan dari baris bila kosong",
        "en": "the agency's own record id (a UUID); derived from the row when empty",
    },
    "occurred_at": {
        "id": "kapan terjadi, mis. 2026-01-20T08:30 (WITA kecuali zona disebut)",
        "en": "when it happened, e.g. 2026-01-20T08:30 (WITA unless a zone is given)",
    },
    "corrects": {
        "id": "id peristiwa catatan meja ini yang dikoreksi baris ini: baris adalah seluruh"
        " catatan yang benar (kosong: catatan baru)",
        "en": "the event id of a record of this desk that this row corrects: the row is the"
        " whole corrected record (empty: a new record)",
    },
    "nik": {
        "id": "NIK 16 digit (dipseudonimkan di meja, tidak pernah dikirim)",
        "en": "16-digit NIK (pseudonymised at the desk, never sent)",
    },
    "name": {
        "id": "nama, hanya dipakai bila tidak ada NIK (dipseudonimkan, tidak pernah dikirim)",
        "en": "name, used only when there is no NIK (pseudonymised, never sent)",
    },
    "sex": {"id": "jenis kelamin", "en": "sex"},
    "birth_date": {"id": "tanggal lahir, TTTT-BB-HH", "en": "birth date, YYYY-MM-DD"},
    "estimated_age": {
        "id": "umur dalam tahun, bila tanggal lahir tidak diketahui",
        "en": "age in years, when the birth date is unknown",
    },
    "origin_regency": {
        "id": "kabupaten/kota asal: kode Kemendagri atau nama",
        "en": "regency the person comes from: Kemendagri code or name",
    },
    "destination_country": {
        "id": "negara tujuan: kode ISO 3166-1 alpha-2 atau nama, mis. MY",
        "en": "destination: ISO 3166-1 alpha-2 code or English name, e.g. MY",
    },
    "placement.destination_country": {
        "id": "negara penempatan: kode ISO 3166-1 alpha-2 atau nama",
        "en": "country of placement: ISO 3166-1 alpha-2 code or English name",
    },
    "sector": {"id": "pekerjaan yang dituju", "en": "intended work"},
    "placement.sector": {"id": "sektor pekerjaan", "en": "the job's sector"},
    "exit_point": {
        "id": "id tempat keluar (bawaan: milik posko)",
        "en": "exit point id (default: the post's own)",
    },
    "tip.exit_point": {
        "id": "id tempat keluar yang diperkirakan, mis. eltari",
        "en": "expected exit point id, e.g. eltari",
    },
    "route": {
        "id": "id jalur, mis. larantuka-nunukan-tawau",
        "en": "route id, e.g. larantuka-nunukan-tawau",
    },
    "documents": {
        "id": "masalah dokumen, dipisah ';'",
        "en": "document problems, ';'-separated",
    },
    "recruiter": {
        "id": "telepon atau nama perekrut (dipseudonimkan; dikirim hanya tersegel untuk polisi)",
        "en": "recruiter's phone or name (pseudonymised; sent only sealed for police)",
    },
    "suspect.recruiter": {
        "id": "telepon atau nama tersangka (dipseudonimkan, tidak pernah dikirim)",
        "en": "the suspect's phone or name (pseudonymised, never sent)",
    },
    "tip.recruiter": {
        "id": "telepon atau nama terduga perekrut (dipseudonimkan, tidak pernah dikirim)",
        "en": "suspected recruiter's phone or name (pseudonymised, never sent)",
    },
    "group_ref": {
        "id": "kode bersama orang-orang yang bepergian bersama",
        "en": "code shared by the people travelling together",
    },
    "outcome": {"id": "tindak lanjut", "en": "outcome"},
    "officer": {
        "id": "kode staf petugas yang mencatat",
        "en": "recording officer's staff code",
    },
    "acknowledgement.officer": {
        "id": "kode staf petugas yang menanggapi",
        "en": "acknowledging officer's staff code",
    },
    "investigation_ref": {
        "id": "nomor laporan polisi, mis. LP/B/45/I/2026/SPKT/POLDA NTT",
        "en": "police report number, e.g. LP/B/45/I/2026/SPKT/POLDA NTT",
    },
    "offence": {"id": "tindak pidana", "en": "offence"},
    "case_ids": {
        "id": "id kasus hub para korban, dipisah ';' (nik:... atau weak:...)",
        "en": "hub case ids of the victims, ';'-separated (nik:... or weak:...)",
    },
    "recruiters": {
        "id": "telepon atau nama para perekrut, dipisah ';' (dipseudonimkan, tidak pernah dikirim)",
        "en": "recruiters' phones or names, ';'-separated (pseudonymised, never sent)",
    },
    "alert_id": {
        "id": "peringatan hub yang mendorongnya, bila ada (UUID)",
        "en": "the hub alert that prompted it, if any (a UUID)",
    },
    "acknowledgement.alert_id": {
        "id": "peringatan hub yang ditanggapi (UUID)",
        "en": "the hub alert acknowledged (a UUID)",
    },
    "role": {"id": "peran tersangka", "en": "the suspect's role"},
    "suspect_status": {
        "id": "status tersangka (bawaan: IDENTIFIED)",
        "en": "suspect status (default: IDENTIFIED)",
    },
    "prosecutor_office": {
        "id": "kode kantor kejaksaan, mis. kejati-ntt, kejari-kupang",
        "en": "prosecutor's office code, e.g. kejati-ntt, kejari-kupang",
    },
    "action": {"id": "tindakan (bawaan: NOTED)", "en": "action (default: NOTED)"},
    "placement_company": {
        "id": "kode izin perusahaan penempatan (P3MI)",
        "en": "licence code of the placement company (P3MI)",
    },
    "repatriation.kind": {"id": "jenis pemulangan", "en": "kind of repatriation"},
    "prevention.kind": {"id": "jenis kegiatan", "en": "kind of activity"},
    "country": {
        "id": "negara asal pemulangan: kode ISO 3166-1 alpha-2 atau nama",
        "en": "country returned from: ISO 3166-1 alpha-2 code or English name",
    },
    "procedural": {
        "id": "apakah orang itu berangkat secara prosedural",
        "en": "had the person left procedurally",
    },
    "cause": {"id": "sebab sakit atau meninggal", "en": "cause of illness or death"},
    "arrival_point": {
        "id": "id tempat keluar tempat orang (atau jenazah) tiba, mis. eltari",
        "en": "exit point id where the person (or body) arrived, e.g. eltari",
    },
    "intended_country": {
        "id": "negara tempat calon ingin bekerja: kode ISO atau nama",
        "en": "country the candidate means to work in: ISO code or English name",
    },
    "intended_sector": {"id": "pekerjaan yang dituju", "en": "intended work"},
    "village": {
        "id": "nama desa/kelurahan: sebuah tempat, bukan orang",
        "en": "village (desa/kelurahan) name: a place, not a person",
    },
    "attendance": {
        "id": f"jumlah yang hadir (0-{ATTENDANCE_MAX})",
        "en": f"people who attended (0-{ATTENDANCE_MAX})",
    },
    "attendance_women": {
        "id": "di antaranya perempuan, bila dihitung",
        "en": "of whom women, when counted",
    },
    "tip_ref": {"id": "rujukan hotline untuk laporan", "en": "the hotline's own reference"},
    "reporter": {
        "id": "telepon atau nama pelapor (tetap di hotline: hanya rujukan berkunci yang dikirim)",
        "en": "reporter's phone or name (stays at the hotline: only a keyed ref is sent)",
    },
    "concern": {"id": "kekhawatiran", "en": "concern"},
    "regency": {
        "id": "kabupaten/kota yang bersangkutan: kode Kemendagri atau nama",
        "en": "regency concerned: Kemendagri code or name",
    },
    "expected_departure": {
        "id": "kapan keberangkatan diperkirakan, TTTT-BB-HH",
        "en": "when the departure is expected, YYYY-MM-DD",
    },
}

# Columns whose values come from a closed list, and the parser that reads them: their help
# lists every value, with the Bahasa Indonesia words the desks accept for it.
CHOICES: Mapping[str, EnumParser[Any]] = {
    "sex": person.SEX,
    "sector": SECTOR,
    "intended_sector": SECTOR,
    "documents": posts.DOCUMENT,
    "outcome": posts.OUTCOME,
    "offence": police.OFFENCE,
    "role": police.ROLE,
    "suspect_status": police.SUSPECT_STATUS,
    "action": police.ACTION,
    "repatriation.kind": bp3mi.KIND,
    "procedural": bp3mi.PROCEDURAL,
    "cause": bp3mi.CAUSE,
    "prevention.kind": PREVENTION_KIND,
    "concern": hotline.CONCERN,
}


def _lookup(table: Mapping[str, Any], form: str, column: str) -> Any:
    return table.get(f"{form}.{column}", table.get(column))


def choices(parser: EnumParser[Any]) -> str:
    """``SENT_HOME (dipulangkan), HANDED_TO_POLICE (diserahkan_ke_polisi, polisi), ...``:
    every value and the other words accepted for it (one spelling of each)."""
    parts = []
    for member, aliases in parser.aliases().items():
        shown: list[str] = []
        for alias in aliases:
            if re.sub(r"[\s-]+", "_", alias) not in {re.sub(r"[\s-]+", "_", s) for s in shown}:
                shown.append(alias)
        name = member.name if isinstance(member, Enum) else str(member)
        parts.append(f"{name} ({', '.join(shown)})" if shown else name)
    return ", ".join(parts)


def column_help(form: str, column: str) -> str:
    """A column's help in the current language, with its values when they are a list."""
    text = str(_lookup(COLUMNS, form, column)[_current])
    parser = _lookup(CHOICES, form, column)
    if parser is not None:
        text += t("opt.values", values=choices(parser))
    return text


# --- translating what the libraries say ------------------------------------------------------

# A field's problem: the English message (a full match) and its Bahasa Indonesia template,
# whose {0}, {1}, ... are the pattern's groups.
PROBLEMS: Sequence[tuple[str, str]] = (
    (r"is required", "wajib diisi"),
    (
        r"([0-9a-f-]{36}): another record with this id and other content was recorded at"
        r" this desk, or is in the same file: a record is corrected, never edited \(the"
        r" correct command, or its id in a corrects column\)",
        "{0}: catatan lain dengan id ini dan isi berbeda sudah dicatat di meja ini, atau ada di"
        " berkas yang sama: catatan dikoreksi, tidak pernah diubah (perintah correct, atau"
        " id-nya di kolom corrects)",
    ),
    (r"expected a date and time like (\S+) \(WITA\)", "harus tanggal dan jam seperti {0} (WITA)"),
    (r"must not be before (\S+)", "tidak boleh sebelum {0}"),
    (r"is out of range", "di luar rentang"),
    (r"is in the future", "ada di masa depan"),
    (r"expected a date like (\S+)", "harus tanggal seperti {0}"),
    (r"expected a whole number", "harus bilangan bulat"),
    (r"must be between (\S+) and (\S+)", "harus antara {0} dan {1}"),
    (r"unknown value; expected one of (.+)", "nilai tidak dikenal; pilih salah satu: {0}"),
    (r"must hold at most (\d+) values", "paling banyak {0} nilai"),
    (
        r"expected an ISO 3166-1 alpha-2 country code such as MY",
        "harus kode negara ISO 3166-1 alpha-2, mis. MY",
    ),
    (
        r"expected an NTT regency's Kemendagri code \((.+)\) or its name",
        "harus kode Kemendagri kabupaten/kota di NTT ({0}) atau namanya",
    ),
    (
        r"expected a code of letters, digits and \. _ / - \(at most (\d+)\)",
        "harus kode dari huruf, angka dan . _ / - (paling banyak {0})",
    ),
    (
        r"must not hold a NIK or a phone number \(personal data\)",
        "tidak boleh memuat NIK atau nomor telepon (data pribadi)",
    ),
    (r"must be at most (\d+) characters", "paling banyak {0} karakter"),
    (
        r"must not hold control or invisible formatting characters",
        "tidak boleh memuat karakter kontrol atau format tak terlihat",
    ),
    (r"unknown post; (?:expected one of|known:) (.+)", "pos tidak dikenal; pilih salah satu: {0}"),
    (r"unknown route; expected one of (.+)", "rute tidak dikenal; pilih salah satu: {0}"),
    (
        r"unknown exit point; expected one of (.+)",
        "titik keberangkatan tidak dikenal; pilih salah satu: {0}",
    ),
    (r"expected a UUID", "harus UUID"),
    (
        r"expected a phone number or a name; leave it empty if unknown",
        "harus nomor telepon atau nama; kosongkan bila tidak diketahui",
    ),
    (r"unknown column; expected (.+)", "kolom tidak dikenal; kolom yang ada: {0}"),
    (
        r"leave it empty in a correction: the record keeps its own id",
        "kosongkan pada koreksi: catatan tetap memakai id-nya sendiri",
    ),
    (
        r"a (\w+) desk cannot record (\w+), which is a (\w+) form",
        "meja {0} tidak dapat mencatat {1}, formulir milik {2}",
    ),
    (r"is empty: row 1 must be the header", "kosong: baris 1 harus berisi judul kolom"),
    (r"is not valid CSV near line (\d+)", "bukan CSV yang sah di sekitar baris {0}"),
    (r"is larger than (\d+) MiB: split it", "lebih besar dari {0} MiB: pecah berkasnya"),
    (r"cannot be read", "tidak dapat dibaca"),
    (
        r"holds NUL bytes: save it as CSV \(UTF-8\), not as a spreadsheet",
        "memuat bita NUL: simpan sebagai CSV (UTF-8), bukan lembar kerja",
    ),
    (
        r"is not UTF-8 text: save it as CSV \(UTF-8\)",
        "bukan teks UTF-8: simpan sebagai CSV (UTF-8)",
    ),
    (r"has no name in the header", "tidak bernama di baris judul"),
    (
        r"is not a column name \(letters, digits, _\): is row 1 the header\?",
        "bukan nama kolom (huruf, angka, _): apakah baris 1 judul kolom?",
    ),
    (
        r"is in the header twice \(columns (\d+) and (\d+)\)",
        "muncul dua kali di baris judul (kolom {0} dan {1})",
    ),
    (r"has (\d+) cells, the header (\d+)", "memuat {0} sel, baris judul {1}"),
    (r"is longer than (\d+) characters", "lebih panjang dari {0} karakter"),
    (
        r"a NIK is required, or else a name with birth date or age and origin",
        "NIK wajib diisi, atau nama dengan tanggal lahir atau umur dan daerah asal",
    ),
    (
        r"matching by name needs birth_date \(or estimated_age\) and origin_regency",
        "pencocokan dengan nama memerlukan birth_date (atau estimated_age) dan origin_regency",
    ),
    (r"does not match the NIK, which is of a female", "tidak cocok dengan NIK, milik perempuan"),
    (r"does not match the NIK, which is of a male", "tidak cocok dengan NIK, milik laki-laki"),
    (r"does not match the birth date in the NIK", "tidak cocok dengan tanggal lahir di NIK"),
    (r"NIK must be (\d+) digits, got (\d+)", "NIK harus {0} digit, tertulis {1}"),
    (
        r"NIK must contain only digits 0-9; position (\d+) is not one",
        "NIK hanya boleh berisi angka 0-9; posisi {0} bukan angka",
    ),
    (r"NIK is empty", "NIK kosong"),
    (r"NIK province (\d+) is not NTT \((\d+)\)", "provinsi NIK {0} bukan NTT ({1})"),
    (
        r"NIK province (\d+) is not an Indonesian province code",
        "provinsi NIK {0} bukan kode provinsi Indonesia",
    ),
    (
        r"NIK regency (\d+) is not an NTT regency \(Kemendagri code\)",
        "kabupaten NIK {0} bukan kabupaten/kota NTT (kode Kemendagri)",
    ),
    (r"NIK regency (\d+) is not a regency code", "kabupaten NIK {0} bukan kode kabupaten"),
    (r"NIK district (\d+) is not a district code", "kecamatan NIK {0} bukan kode kecamatan"),
    (
        r"NIK birth day (\d+) is neither 01-31 \(male\) nor 41-71 \(female\)",
        "tanggal lahir NIK {0} bukan 01-31 (laki-laki) atau 41-71 (perempuan)",
    ),
    (r"NIK birth month (\d+) is not a month", "bulan lahir NIK {0} bukan bulan"),
    (r"NIK birth date (\S+) is not a date", "tanggal lahir NIK {0} bukan tanggal"),
    (
        r"NIK birth date (\S+) is not a date in a year ending in (\d+)",
        "tanggal lahir NIK {0} tidak ada pada tahun berakhiran {1}",
    ),
    (
        r"NIK birth year (\d+) gives no age from (\d+) to (\d+) on (\S+)",
        "tahun lahir NIK {0} tidak memberi umur {1} sampai {2} tahun pada {3}",
    ),
    (r"NIK serial (\d+) is never issued", "nomor urut NIK {0} tidak pernah diterbitkan"),
    (r"is not a valid value", "bukan nilai yang sah"),
    (r"cannot be more than attendance", "tidak boleh lebih dari attendance"),
    (
        r"expected hub case ids: nik: or weak: and 32 hex characters",
        "harus id kasus hub: nik: atau weak: dan 32 karakter heksadesimal",
    ),
    (
        r"expected a report number of letters, digits, space, / \. - \(at most (\d+)\)",
        "harus nomor laporan dari huruf, angka, spasi, / . - (paling banyak {0})",
    ),
    (
        r"expected an office code of lower-case letters, digits and '-', e\.g\. (\S+)",
        "harus kode kantor dari huruf kecil, angka dan '-', mis. {0}",
    ),
    (
        r"unknown police unit; expected polda-ntt or polres-<NTT Kemendagri code>",
        "satuan polisi tidak dikenal; harus polda-ntt atau polres-<kode Kemendagri NTT>",
    ),
    (r"unknown BP3MI office; known: (.+)", "kantor BP3MI tidak dikenal; yang dikenal: {0}"),
    (r"unknown hotline; known: (.+)", "hotline tidak dikenal; yang dikenal: {0}"),
    (
        r"expected the reporter's phone number or name",
        "harus nomor telepon atau nama pelapor",
    ),
    (
        r"expected a village name of letters, spaces and ' \. - \(at most (\d+)\)",
        "harus nama desa dari huruf, spasi dan ' . - (paling banyak {0})",
    ),
    # the desks themselves (producers/forms.py, producers/hotline.py)
    (r"unknown agency; expected one of (.+)", "lembaga tidak dikenal; pilih salah satu: {0}"),
    (r"the (\w+) records no forms", "{0} tidak mencatat formulir apa pun"),
    (
        r"only the hotline holds a reporter key, not the (\w+)",
        "hanya hotline yang memegang kunci pelapor, bukan {0}",
    ),
    (r"the hotline needs its own reporter key", "hotline memerlukan kunci pelapornya sendiri"),
    (r"must be (\d+) bytes", "harus {0} bita"),
    (
        r"must be the hotline's own key, not the key the members share",
        "harus kunci milik hotline sendiri, bukan kunci bersama para anggota",
    ),
    # the contract (schemas/contract.py): what the hub refuses, the desk refuses first
    (r"must be text", "harus teks"),
    (r"must not be empty", "tidak boleh kosong"),
    (r"must be a (\w+) symbol", "harus simbol {0}"),
    (r"must be a whole number from (\S+) to (\S+)", "harus bilangan bulat dari {0} sampai {1}"),
    (r"must be true or false", "harus true atau false"),
    (r"must be a time with its zone", "harus waktu beserta zona waktunya"),
    (r"must be a date", "harus tanggal"),
    (r"must be a list", "harus daftar"),
    (r"must hold at most (\d+) documents", "paling banyak {0} dokumen"),
    (r"must hold at most (\d+) case ids", "paling banyak {0} id kasus"),
    (r"must hold at most (\d+) event ids", "paling banyak {0} id peristiwa"),
    (r"must hold at most (\d+) recruiters", "paling banyak {0} perekrut"),
    (r"must hold at most (\d+) contacts", "paling banyak {0} kontak"),
    (r"must not repeat a value", "tidak boleh ada nilai yang berulang"),
    (
        r"must be a Kemendagri regency code, not a BPS one",
        "harus kode kabupaten/kota Kemendagri, bukan kode BPS",
    ),
    (r"must be an NTT regency's Kemendagri code", "harus kode Kemendagri kabupaten/kota di NTT"),
    (r"must be an ISO 3166-1 alpha-2 country code", "harus kode negara ISO 3166-1 alpha-2"),
    (r"must be a post of the reference list", "harus pos dari daftar rujukan"),
    (
        r"must be an exit point of the reference list",
        "harus titik keberangkatan dari daftar rujukan",
    ),
    (r"must be a route of the reference list", "harus rute dari daftar rujukan"),
    (r"must be an agency", "harus kode lembaga"),
    (
        r"must be a code of letters, digits and \. _ / -",
        "harus kode dari huruf, angka dan . _ / -",
    ),
    (
        r"must be a member id of lower-case letters, digits and -",
        "harus id anggota dari huruf kecil, angka dan -",
    ),
    (r"must be a UUID in lower-case canonical form", "harus UUID dalam bentuk baku huruf kecil"),
    (
        r"must be a pseudonym \(32 lower-case hex characters\)",
        "harus pseudonim (32 karakter heksadesimal huruf kecil)",
    ),
    (
        r"must be a hub case id \(nik: or weak: and 32 hex characters\)",
        "harus id kasus hub (nik: atau weak: dan 32 karakter heksadesimal)",
    ),
    (
        r"must be a report number of upper-case letters, digits, single spaces and / \. -",
        "harus nomor laporan dari huruf besar, angka, spasi tunggal dan / . -",
    ),
    (
        r"must be an office code of lower-case letters, digits, -",
        "harus kode kantor dari huruf kecil, angka, -",
    ),
    (
        r"must be a sealed contact \(base64, or '<key id>\.<base64>'\)",
        "harus kontak tersegel (base64, atau '<key id>.<base64>')",
    ),
    (
        r"must be a contact reference \(vault:<event id>\)",
        "harus rujukan kontak (vault:<event id>)",
    ),
    (
        r"must be a SHA-256 digest \(64 lower-case hex characters\)",
        "harus digest SHA-256 (64 karakter heksadesimal huruf kecil)",
    ),
    (r"must be an upper-case state name", "harus nama status dalam huruf besar"),
    (r"must be a topic name", "harus nama topik"),
    (r"must be strong or weak", "harus strong atau weak"),
    (r"must be a place name: letters, spaces, ' \. -", "harus nama tempat: huruf, spasi, ' . -"),
    (r"must be '<key id>\.<base64>'", "harus berbentuk '<key id>.<base64>'"),
    (r"must be the type of an agency's record", "harus jenis catatan sebuah lembaga"),
    (r"must be an erasure reason code", "harus kode alasan penghapusan"),
    (r"must be bytes", "harus berupa bita"),
    (r"must be at most (\d+) bytes", "paling banyak {0} bita"),
    (
        r"must be a record in the wire format \(magic byte 0, schema id, Avro\)",
        "harus catatan dalam format pesan (magic byte 0, id skema, Avro)",
    ),
    (r"must be a record", "harus berupa catatan"),
    (r"must be an event type of the contract", "harus jenis peristiwa dalam kontrak"),
    (r"must not be after (envelope\.recorded_at|last_seen)", "tidak boleh setelah {0}"),
    (
        r"must be the agency that publishes this event type",
        "harus lembaga yang menerbitkan jenis peristiwa ini",
    ),
    (
        r"must name a person: sealed \(or nik_pseudonym or weak_pseudonym\)",
        "harus menyebut seseorang: sealed (atau nik_pseudonym atau weak_pseudonym)",
    ),
    (r"must not be after the day the event occurred", "tidak boleh setelah hari kejadian"),
    (
        r"must be the place of envelope\.unit \((\S+)\.\.\.\)",
        "harus tempat satuan envelope.unit ({0}...)",
    ),
    (
        r"must be within a year before and two years after the tip",
        "harus antara setahun sebelum dan dua tahun setelah laporan",
    ),
    (r"must not be more than attendance", "tidak boleh lebih dari attendance"),
    (r"must agree with case_id's prefix", "harus sesuai dengan awalan case_id"),
)

# Put before a problem's message (a rule broken by one value of a list): translated apart
# from it.
PROBLEM_PREFIXES: Sequence[tuple[str, str]] = (("each value ", "setiap nilai "),)

# Added to a problem's message: translated apart from it.
PROBLEM_SUFFIXES: Sequence[tuple[str, str]] = (
    (" (accepted only with documents FORGED)", " (diterima hanya dengan dokumen FORGED)"),
)

# Error sentences of the libraries, as the command line shows them.
SENTENCES: Sequence[tuple[str, str]] = (
    (
        r"a month is written YYYY-MM, e.g. 2026-03 \(got (.*)\)",
        "bulan ditulis YYYY-MM, mis. 2026-03 (tertulis {0})",
    ),
    (
        r"no pseudonym key at (\S+): this machine is not set up for its desk \(a local hub's"
        r" `sinergi stack up` makes the keys; a desk elsewhere gets its own from the hub's"
        r" administrator\)",
        "tidak ada kunci pseudonim di {0}: mesin ini belum disiapkan untuk mejanya (pada hub"
        " lokal `sinergi stack up` membuat kuncinya; meja di tempat lain mendapat kuncinya"
        " sendiri dari administrator hub)",
    ),
    (r"no private key at (\S+)", "tidak ada kunci privat di {0}"),
    (
        r"schema registry at (\S+) unreachable \((\w+)\)",
        "registri skema di {0} tidak dapat dihubungi ({1})",
    ),
    (
        r"cannot open the desk's outbox (\S+): (.+)",
        "kotak keluar meja {0} tidak dapat dibuka: {1}",
    ),
    (
        r"the alerts topic gave (\S+)'s consumer group no partition in (\S+): another"
        r" `sinergi alerts follow --unit (\S+)` may hold them all \(one follower per unit\),"
        r" or the broker is not answering",
        "topik peringatan tidak memberi grup konsumen {0} satu partisi pun dalam {1}:"
        " mungkin `sinergi alerts follow --unit {2}` lain memegang semuanya (satu pengikut"
        " per unit), atau broker tidak menjawab",
    ),
    (
        r"no secret (\S+) in (\S+): run `sinergi stack up` first",
        "tidak ada rahasia {0} di {1}: jalankan `sinergi stack up` dahulu",
    ),
    (
        r"the ledger cannot be read: PostgreSQL at (\S+) did not accept the connection \((\w+)\)",
        "buku kasus tidak dapat dibaca: PostgreSQL di {0} tidak menerima sambungan ({1})",
    ),
    (
        r"the ledger lacks a view this command reads: its migrations are not all applied"
        r" \(`sinergi stack up` applies them\)",
        "buku kasus tidak memiliki view yang dibaca perintah ini: migrasinya belum lengkap"
        " (`sinergi stack up` menerapkannya)",
    ),
    (
        r"an alert id is a UUID, or its first 8 or more hex digits",
        "id peringatan adalah UUID, atau 8 digit heksa pertamanya atau lebih",
    ),
    (
        r"(\S+) is too short to name one alert: give at least (\d+) hex digits of its id",
        "{0} terlalu pendek untuk menunjuk satu peringatan: berikan paling sedikit {1} digit"
        " heksa id-nya",
    ),
    (
        r"that prefix is too short to name one case: give at least (\d+) hex digits of its id",
        "awalan itu terlalu pendek untuk menunjuk satu kasus: berikan paling sedikit {0} digit"
        " heksa id-nya",
    ),
    (
        r"(\S+) is too short to name one case: give at least (\d+) hex digits of its id",
        "{0} terlalu pendek untuk menunjuk satu kasus: berikan paling sedikit {1} digit heksa"
        " id-nya",
    ),
    (
        r"a case is named by its id \(nik: or weak: and hex digits, at least 8 of them\), by"
        r" those digits alone, or by a 16-digit NIK",
        "kasus ditunjuk dengan id-nya (nik: atau weak: dan digit heksa, paling sedikit 8), dengan"
        " digit itu saja, atau dengan NIK 16 digit",
    ),
    (r"no (alert|case) id begins with that prefix", "tidak ada id {0} yang diawali awalan itu"),
    (r"no (alert|case) id begins with (\S+)", "tidak ada id {0} yang diawali {1}"),
    (
        r"(\d+) (alert|case) ids begin with that prefix; give more of the id:",
        "{0} id {1} diawali awalan itu; berikan lebih banyak digit id-nya:",
    ),
    (
        r"(\d+) (alert|case) ids begin with (\S+); give more of the id:",
        "{0} id {1} diawali {2}; berikan lebih banyak digit id-nya:",
    ),
    (r"  \.\.\. and (\d+) more", "  ... dan {0} lainnya"),
    (r"no case for this NIK", "tidak ada kasus untuk NIK ini"),
    # erasure (sinergi/erasure.py, sinks/erasure.py)
    (
        r"(.+) asked for this erasure: another administrator must confirm it",
        "{0} yang meminta penghapusan ini: administrator lain harus mengonfirmasinya",
    ),
    (
        r"erasure request (\S+) was already carried out \((.+)\)",
        "permintaan penghapusan {0} sudah dilaksanakan ({1})",
    ),
    (r"no erasure request with that id", "tidak ada permintaan penghapusan dengan id itu"),
    (r"no erasure request (\S+)", "tidak ada permintaan penghapusan {0}"),
    (
        r"more than one erasure request begins (\S+)",
        "lebih dari satu permintaan penghapusan berawalan {0}",
    ),
    (
        r"a request id is a UUID, or its first 8 or more hex digits",
        "id permintaan adalah UUID, atau 8 digit heksa pertamanya atau lebih",
    ),
    (r"the vault holds no person (\S+)", "brankas tidak menyimpan orang {0}"),
    (r"(\S+) is already erased", "{0} sudah dihapus"),
    (
        r"(\S+) is under a legal hold \(an erasure request of theirs was withdrawn with"
        r" LEGAL_HOLD\): kept",
        "{0} ditahan secara hukum (permintaan penghapusannya ditarik dengan LEGAL_HOLD): disimpan",
    ),
    (
        r"(\S+) is no longer in the vault to erase \(erased by another request\)",
        "{0} tidak lagi ada di brankas untuk dihapus (sudah dihapus oleh permintaan lain)",
    ),
    (r"--reason is one of (.+)", "--reason adalah salah satu dari {0}"),
    (
        r"RETENTION erasures are the policy's: `sinergi person retention --apply` makes them",
        "penghapusan RETENTION milik kebijakan: `sinergi person retention --apply` yang membuatnya",
    ),
    (
        r"--confirm takes a request id only \(the request names who\)",
        "--confirm hanya menerima id permintaan (permintaan itu yang menyebut siapa)",
    ),
    (r"give a NIK or --case, not both", "berikan NIK atau --case, tidak keduanya"),
    (
        r"a case id is nik: or weak: and 32 hex digits \(as the ledger shows it\)",
        "id kasus adalah nik: atau weak: dan 32 digit heksa (seperti di buku kasus)",
    ),
    (
        r"--at later than now cannot be applied: it would erase people early",
        "--at setelah sekarang tidak dapat diterapkan: orang akan terhapus sebelum waktunya",
    ),
    (
        r"(\S+), line (\d+): each line is `EventType: period`",
        "{0}, baris {1}: setiap baris berbentuk `EventType: masa`",
    ),
    (r"(\S+), line (\d+): (\w+) is not an event type", "{0}, baris {1}: {2} bukan jenis peristiwa"),
    (r"(\S+), line (\d+): (\w+) is named twice", "{0}, baris {1}: {2} disebut dua kali"),
    (
        r"(\S+), line (\d+): (\w+)'s period is <n>y, <n>d, forever or no-person",
        "{0}, baris {1}: masa {2} adalah <n>y, <n>d, forever atau no-person",
    ),
    (r"(\S+) does not say how long to keep (.+)", "{0} tidak menyebut berapa lama menyimpan {1}"),
    (r"the retention policy (\S+) cannot be read", "kebijakan masa simpan {0} tidak dapat dibaca"),
    (
        r"--at later than now cannot be applied: it would delete backups early",
        "--at setelah sekarang tidak dapat diterapkan: cadangan akan terhapus sebelum waktunya",
    ),
    (
        r"the database (\S+) exists: restore into a new one",
        "basis data {0} sudah ada: pulihkan ke basis data baru",
    ),
    (
        r"(\S+) does not match its manifest's sha256: it is damaged",
        "{0} tidak cocok dengan sha256 manifesnya: berkas itu rusak",
    ),
    (
        r"no manifest beside (\S+) \((\S+)\): it cannot be checked",
        "tidak ada manifes di samping {0} ({1}): berkas itu tidak dapat diperiksa",
    ),
    (
        r"(\S+) was not made by `sinergi backup restore`: not dropped",
        "{0} tidak dibuat oleh `sinergi backup restore`: tidak dihapus",
    ),
    (
        r"(\S+) is in use by sessions this role may not end: close them",
        "{0} sedang dipakai sesi yang tidak boleh diakhiri peran ini: tutup sesi itu",
    ),
    (
        r"the database (\S+) it began is left, because:",
        "basis data {0} yang sudah dimulainya tertinggal, sebab:",
    ),
    (
        r"(\S+) is the hub's own database: it is not dropped here",
        "{0} adalah basis data hub sendiri: tidak dihapus di sini",
    ),
    (
        r"the keys backup lacks (\d+) person\(s\) the data backup's facts name: it is another"
        r" hub's, or older than the data backup",
        "cadangan kunci tidak memuat {0} orang yang disebut fakta di cadangan data: cadangan"
        " itu milik hub lain, atau lebih tua daripada cadangan data",
    ),
    (
        r"--data takes a data backup and --keys a keys backup",
        "--data menerima cadangan data dan --keys cadangan kunci",
    ),
    (
        r"the keys backup \((\S+)\) is older than the data backup \((\S+)\): people kept"
        r" in between have no key in it",
        "cadangan kunci ({0}) lebih tua daripada cadangan data ({1}): orang yang disimpan di"
        " antaranya tidak punya kunci di dalamnya",
    ),
    (
        r"unknown (rule|severity) (.+); known: (.+)",
        "{0} tidak dikenal {1}; yang dikenal: {2}",
    ),
    (
        r"no signing key for (\S+): add the member first"
        r" \(sinergi agency add (\S+) --role \.\.\.\)",
        "tidak ada kunci tanda tangan untuk {0}: tambahkan anggotanya dahulu (sinergi agency add"
        " {1} --role ...)",
    ),
    (
        r"no trust anchor at (\S+): run `sinergi stack up`",
        "tidak ada jangkar kepercayaan di {0}: jalankan `sinergi stack up`",
    ),
    (r"no member (\S+)", "tidak ada anggota {0}"),
    (
        r"member id (\S+): lower-case letters, digits and '-' only \(2-63\)",
        "id anggota {0}: hanya huruf kecil, angka dan '-' (2-63)",
    ),
    (
        r"'admin' is the hub's administrator, not a member",
        "'admin' adalah administrator hub, bukan anggota",
    ),
    (
        r"member id (\S+) names a (\w+), not a (\w+)",
        "id anggota {0} menunjuk {1}, bukan {2}",
    ),
    (
        r"(\S+) is not a unit of the reference data; known (\w+) units: (.+)",
        "{0} bukan satuan dalam data rujukan; satuan {1} yang dikenal: {2}",
    ),
    (
        r"(\S+) is not a unit of the reference data \((.+)\)",
        "{0} bukan satuan dalam data rujukan ({1})",
    ),
    (r"SINERGI_LANG must be one of (.+)", "SINERGI_LANG harus salah satu dari {0}"),
    (r"(SINERGI_\w+) must be an integer", "{0} harus bilangan bulat"),
    (
        r"the live processor has not caught up: comparing up to what it has committed"
        r" \(differences may only mean it is still working\)",
        "prosesor yang berjalan belum menyusul: dibandingkan sampai yang sudah dikomitnya"
        " (perbedaan mungkin hanya berarti ia masih bekerja)",
    ),
    (
        r"replayed (\d+) messages from (\d+) partitions into schema (\S+)",
        "diputar ulang {0} pesan dari {1} partisi ke skema {2}",
    ),
    (
        r"(\d+) process\(es\) replayed them in (\S+)",
        "{0} proses memutar ulangnya dalam {1}",
    ),
    (
        r"PostgreSQL restarted during the rebuild, which empties its scratch tables:"
        r" run it again",
        "PostgreSQL dimulai ulang selama bangun ulang, yang mengosongkan tabel sementaranya:"
        " jalankan lagi",
    ),
    (
        r"with the live processor's rules: (.+)",
        "dengan aturan prosesor yang berjalan: {0}",
    ),
)


def _translate(text: str, patterns: Sequence[tuple[str, str]]) -> str:
    for pattern, template in patterns:
        found = re.fullmatch(pattern, text, flags=re.DOTALL)
        if found:
            return template.format(*found.groups())
    return text


def sentence(text: str) -> str:
    """A library's error sentence in the current language (each line on its own; a line
    without a pattern stays as it is)."""
    if _current == "en":
        return text
    return "\n".join(_translate(line, SENTENCES) for line in text.split("\n"))


def problem_message(message: str, lang: str | None = None) -> str:
    """A problem's message (``NIK must be 16 digits, got 14``, without its row and field)
    in ``lang``, else the current language: the one translation the command line and
    the browser share. A message without a pattern is left in English."""
    if (lang or _current) == "en":
        return message
    for english, bahasa in PROBLEM_PREFIXES:
        if message.startswith(english):
            return bahasa + problem_message(message[len(english) :], "id")
    suffix = ""
    for english, bahasa in PROBLEM_SUFFIXES:
        if message.endswith(english):
            message, suffix = message[: -len(english)], bahasa
    return _translate(message, PROBLEMS) + suffix


def problem(error: FieldError, lang: str | None = None) -> str:
    """``row 7, field nik: NIK must be 16 digits, got 14`` in ``lang``, else the current
    language."""
    if (lang or _current) == "en":
        return str(error)
    message = problem_message(error.message, "id")
    field = re.sub(r"^column (\d+)$", r"kolom ke-\1", error.field)
    if not field:
        return f"baris {error.row} {message}" if error.row is not None else message
    where = f"baris {error.row}, " if error.row is not None else ""
    return f"{where}kolom {field}: {message}"


# --- Typer's own words ---------------------------------------------------------------------

# What Typer looks up with gettext, and the titles of its help panels.
CLICK: Mapping[str, str] = {
    "Options": "Opsi",
    "Commands": "Perintah",
    "Arguments": "Argumen",
    "Error": "Kesalahan",
    "Aborted!": "Dibatalkan!",
    "Aborted.": "Dibatalkan.",
    "Missing command.": "Perintah tidak diberikan.",
    "No such command {name!r}.": "Tidak ada perintah {name!r}.",
    "Try [blue]'{command_path} {help_option}'[/] for help.": (
        "Coba [blue]'{command_path} {help_option}'[/] untuk bantuan."
    ),
    "default: {default}": "bawaan: {default}",
    "env var: {var}": "variabel lingkungan: {var}",
    "[default: {}]": "[bawaan: {}]",
    "[required]": "[wajib]",
    "(deprecated) ": "(usang) ",
    "(dynamic)": "(dinamis)",
    "required": "wajib",
}

# Usage errors (Typer's click writes them without gettext), as they are shown.
USAGE_ERRORS: Sequence[tuple[str, str]] = (
    (r"Missing option (.+)\.", "Opsi wajib tidak diberikan: {0}."),
    (r"Missing argument (.+)\.", "Argumen wajib tidak diberikan: {0}."),
    (r"Missing parameter (.+)\.", "Parameter wajib tidak diberikan: {0}."),
    (r"No such option: (\S+) \(Possible options: (.+)\)", "Tidak ada opsi {0} (mungkin: {1})"),
    (r"No such option: (\S+)", "Tidak ada opsi {0}"),
    (r"Option '(.+)' requires an argument\.", "Opsi '{0}' memerlukan nilai."),
    (r"Invalid value for (.+?): (.+)", "Nilai tidak sah untuk {0}: {1}"),
    (r"Got unexpected extra arguments? \((.+)\)", "Argumen tambahan tidak dikenal ({0})"),
    (r"No such command '(.+)'\.", "Tidak ada perintah '{0}'."),
)


def click_text(message: str) -> str:
    """Typer's ``message`` in the current language (its gettext stand-in)."""
    if _current == "en":
        return message
    return CLICK.get(message, message)


def usage_error(message: str) -> str:
    """A usage error of the command line (``Missing option '--officer'.``), translated."""
    if _current == "en":
        return message
    return _translate(message, USAGE_ERRORS)
