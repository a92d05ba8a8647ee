"""The reference data: NTT regencies in both code schemes, posts, exit points, countries."""

from __future__ import annotations

import pytest

from schemas.reference import (
    BpsCode,
    KemendagriCode,
    UnknownCodeError,
    bps_to_kemendagri,
    countries,
    exit_points,
    is_country,
    kemendagri_to_bps,
    posts,
    regencies,
    regency,
    regency_by_bps,
    routes,
)

# CONTEXT.md: the Kemendagri codes, the ones inside a NIK.
KEMENDAGRI_NAMES = {
    "5301": "Kupang",
    "5302": "Timor Tengah Selatan",
    "5303": "Timor Tengah Utara",
    "5304": "Belu",
    "5305": "Alor",
    "5306": "Flores Timur",
    "5307": "Sikka",
    "5308": "Ende",
    "5309": "Ngada",
    "5310": "Manggarai",
    "5311": "Sumba Timur",
    "5312": "Sumba Barat",
    "5313": "Lembata",
    "5314": "Rote Ndao",
    "5315": "Manggarai Barat",
    "5316": "Nagekeo",
    "5317": "Sumba Tengah",
    "5318": "Sumba Barat Daya",
    "5319": "Manggarai Timur",
    "5320": "Sabu Raijua",
    "5321": "Malaka",
    "5371": "Kota Kupang",
}


def test_all_22_regencies_are_present_under_their_kemendagri_codes():
    table = regencies()
    assert len(table) == 22
    assert {code: r.name for code, r in table.items()} == KEMENDAGRI_NAMES


def test_only_kupang_city_is_a_kota():
    kinds = {code: r.kind for code, r in regencies().items()}
    assert [code for code, kind in kinds.items() if kind == "kota"] == ["5371"]
    assert sum(kind == "kabupaten" for kind in kinds.values()) == 21


def test_both_code_schemes_are_bijective_over_the_same_22_codes():
    bps = {r.bps_code for r in regencies().values()}
    assert len(bps) == 22
    assert bps == set(KEMENDAGRI_NAMES)  # same numbers, different places: why mixing is risky
    for plain in KEMENDAGRI_NAMES:  # plain strings, as from a form: taken in the named scheme
        assert bps_to_kemendagri(kemendagri_to_bps(plain)) == plain
        assert kemendagri_to_bps(bps_to_kemendagri(plain)) == plain


def test_round_trips_through_tagged_codes_stay_within_their_scheme():
    for kemendagri_code in regencies():
        bps_code = kemendagri_to_bps(kemendagri_code)
        assert bps_to_kemendagri(bps_code) == kemendagri_code
        with pytest.raises(UnknownCodeError):
            bps_to_kemendagri(kemendagri_code)  # a tagged Kemendagri key is not a BPS code


@pytest.mark.parametrize(
    ("kemendagri", "bps", "name"),
    [
        ("5301", "5303", "Kupang"),
        ("5312", "5301", "Sumba Barat"),
        ("5311", "5302", "Sumba Timur"),
        ("5302", "5304", "Timor Tengah Selatan"),
        ("5304", "5306", "Belu"),
        ("5313", "5308", "Lembata"),
        ("5318", "5317", "Sumba Barat Daya"),
        ("5321", "5321", "Malaka"),
        ("5371", "5371", "Kota Kupang"),
    ],
)
def test_kemendagri_and_bps_codes_name_the_same_place(kemendagri, bps, name):
    assert kemendagri_to_bps(kemendagri) == bps
    assert bps_to_kemendagri(bps) == kemendagri
    assert regency(kemendagri).name == name
    assert regency_by_bps(bps).name == name


def test_code_5301_is_kupang_for_kemendagri_and_sumba_barat_for_bps():
    assert regency("5301").name == "Kupang"
    assert regency_by_bps("5301").name == "Sumba Barat"


def test_codes_handed_out_carry_their_scheme_and_compare_as_plain_strings():
    kupang = regency("5301")
    assert isinstance(kupang.kemendagri_code, KemendagriCode)
    assert isinstance(kupang.bps_code, BpsCode)
    assert kupang.kemendagri_code == "5301"
    assert hash(kupang.bps_code) == hash("5303")


def test_a_bps_code_given_where_a_kemendagri_code_is_expected_raises():
    bps_code = regency_by_bps("5301").bps_code  # Sumba Barat, in the BPS scheme
    with pytest.raises(UnknownCodeError, match="is a BPS regency code, but a Kemendagri"):
        kemendagri_to_bps(bps_code)
    with pytest.raises(UnknownCodeError, match="BPS"):
        regency(bps_code)


def test_a_kemendagri_code_given_where_a_bps_code_is_expected_raises():
    kemendagri_code = regency("5301").kemendagri_code
    with pytest.raises(UnknownCodeError, match="is a Kemendagri regency code, but a BPS"):
        bps_to_kemendagri(kemendagri_code)
    with pytest.raises(UnknownCodeError, match="Kemendagri"):
        regency_by_bps(kemendagri_code)


def test_unknown_codes_raise_naming_the_scheme():
    with pytest.raises(UnknownCodeError) as kemendagri_error:
        kemendagri_to_bps("5399")
    assert str(kemendagri_error.value) == "5399 is not a Kemendagri regency code of NTT"
    with pytest.raises(UnknownCodeError) as bps_error:
        bps_to_kemendagri("5399")
    assert str(bps_error.value) == "5399 is not a BPS regency code of NTT"


def test_unknown_code_error_is_a_lookup_error():
    with pytest.raises(LookupError):
        regency("3578")  # Surabaya: a real Kemendagri code, but not NTT


def test_a_long_value_is_not_echoed_in_the_error():
    nik_like = "5371014101900001"
    with pytest.raises(UnknownCodeError) as error:
        regency(nik_like)
    assert nik_like not in str(error.value)
    assert "16-character value" in str(error.value)


def test_mappings_are_read_only():
    with pytest.raises(TypeError):
        regencies()["9999"] = regency("5301")  # type: ignore[index]
    with pytest.raises(TypeError):
        countries()["XX"] = countries()["ID"]  # type: ignore[index]


def test_active_posts_are_el_tari_airport_and_tenau_port():
    table = posts()
    assert {p.post_id for p in table.values() if p.active} == {"eltari", "tenau"}
    assert table["eltari"].kind == "airport"
    assert table["tenau"].kind == "seaport"
    assert table["eltari"].regency_kemendagri == "5371"
    assert table["tenau"].regency_kemendagri == "5371"


def test_posts_not_yet_active_are_in_their_regencies():
    expected = {
        "atapupu": ("5304", "seaport"),
        "motaain": ("5304", "land_border"),
        "larantuka": ("5306", "seaport"),
        "lewoleba": ("5313", "seaport"),
        "labuanbajo": ("5315", "seaport"),
        "maumere": ("5307", "seaport"),
    }
    table = posts()
    assert set(table) == {"eltari", "tenau", *expected}
    for post_id, (regency_code, kind) in expected.items():
        post = table[post_id]
        assert not post.active
        assert (post.regency_kemendagri, post.kind) == (regency_code, kind)


def test_every_post_guards_a_known_exit_point_in_the_same_regency():
    points = exit_points()
    for post in posts().values():
        point = points[post.exit_point_id]
        assert point.regency_kemendagri == post.regency_kemendagri
        assert point.kind == post.kind
        assert post.regency_kemendagri in regencies()


def test_exit_points_have_known_kinds():
    points = exit_points()
    assert len(points) == 8
    assert {p.kind for p in points.values()} == {"airport", "seaport", "land_border"}
    assert points["motaain"].kind == "land_border"


def test_routes_cover_the_onward_routes_from_the_context():
    assert set(routes()) == {
        "direct-flight",
        "larantuka-nunukan-tawau",
        "lewoleba-kalimantan",
        "labuanbajo-kalbar",
        "nunukan-tawau",
        "entikong-sarawak",
        "batam-johor",
        "other",
    }
    assert all(route.description for route in routes().values())


def test_countries_hold_all_249_iso_codes_including_the_destinations():
    table = countries()
    assert len(table) == 249
    for code in ("MY", "TW", "HK", "SG", "ID", "TL"):
        assert code in table
    assert table["MY"].name == "Malaysia"
    assert all(len(code) == 2 and code.isupper() for code in table)


def test_is_country_accepts_exact_iso_codes_only():
    assert is_country("MY")
    assert not is_country("XX")
    assert not is_country("my")
    assert not is_country("MYS")


def test_loaders_are_cached():
    assert regencies() is regencies()
    assert countries() is countries()
