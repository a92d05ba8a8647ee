"""NIK validation and parsing: a NIK is a claim to check, and never leaks into messages."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from schemas.nik import (
    PROVINCE_CODES,
    NikError,
    ParsedNik,
    age_on,
    normalise_nik,
    parse_nik,
)
from schemas.reference import KemendagriCode, UnknownCodeError, regencies, regency_by_bps

TODAY = date(2026, 1, 15)
# Kota Kupang (5371), district 01, born 1 January 1990, male, serial 0001.
MALE_NIK = "5371010101900001"
# The same, female: day 01 + 40 = 41.
FEMALE_NIK = "5371014101900001"


def nik_of(
    *,
    regency: str = "5371",
    district: str = "01",
    birth: date = date(1990, 1, 1),
    female: bool = False,
    serial: str = "0001",
) -> str:
    day = birth.day + (40 if female else 0)
    return f"{regency}{district}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial}"


@st.composite
def valid_niks(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """A well-formed NIK and the parts it should parse to (age 0-99 on TODAY)."""
    province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    if province == "53":
        regency = draw(st.sampled_from(sorted(regencies())))
    else:
        regency = f"{province}{draw(st.integers(1, 99)):02d}"
    district = f"{regency}{draw(st.integers(1, 99)):02d}"
    birth = draw(st.dates(min_value=date(TODAY.year - 100, 1, 1), max_value=TODAY))
    assume(birth > TODAY.replace(year=TODAY.year - 100))
    female = draw(st.booleans())
    serial = f"{draw(st.integers(1, 9999)):04d}"
    nik = nik_of(regency=regency, district=district[4:], birth=birth, female=female, serial=serial)
    parts: dict[str, object] = {
        "province": province,
        "regency_code": regency,
        "district_code": district,
        "birth_date": birth,
        "sex": "FEMALE" if female else "MALE",
        "serial": serial,
    }
    return nik, parts


def error_text(raw: str, *, require_ntt: bool = False) -> str:
    """str() and repr() of the NikError parsing ``raw`` raises; empty if it parses."""
    try:
        parse_nik(raw, today=TODAY, require_ntt=require_ntt)
    except NikError as error:
        return f"{error} {error!r}"
    return ""


# --- the happy path ----------------------------------------------------------------------


def test_a_valid_ntt_nik_is_split_into_its_parts():
    parsed = parse_nik(MALE_NIK, today=TODAY)
    assert parsed == ParsedNik(
        nik=MALE_NIK,
        province="53",
        regency_code="5371",
        district_code="537101",
        birth_date=date(1990, 1, 1),
        sex="MALE",
        serial="0001",
    )


@given(valid_niks())
def test_a_generated_valid_nik_round_trips_to_its_parts(case):
    nik, parts = case
    parsed = parse_nik(nik, today=TODAY)
    assert parsed.nik == nik
    assert {name: getattr(parsed, name) for name in parts} == parts


def test_female_birth_day_is_offset_by_forty():
    parsed = parse_nik(FEMALE_NIK, today=TODAY)
    assert parsed.sex == "FEMALE"
    assert parsed.birth_date == date(1990, 1, 1)


@given(st.dates(min_value=date(1927, 1, 1), max_value=TODAY))
def test_female_and_male_niks_differ_only_in_sex(birth):
    female = parse_nik(nik_of(birth=birth, female=True), today=TODAY)
    male = parse_nik(nik_of(birth=birth), today=TODAY)
    assert (female.sex, male.sex) == ("FEMALE", "MALE")
    assert female.birth_date == male.birth_date == birth


def test_female_day_71_is_the_31st():
    assert parse_nik(nik_of(birth=date(1999, 3, 31), female=True), today=TODAY).birth_date == (
        date(1999, 3, 31)
    )


def test_spaces_dots_and_dashes_people_type_are_ignored():
    typed = " 53.71.01 - 010190 - 0001 "
    assert normalise_nik(typed) == MALE_NIK
    assert parse_nik(typed, today=TODAY).nik == MALE_NIK


def test_the_regency_code_is_tagged_as_kemendagri_so_it_cannot_be_used_as_bps():
    parsed = parse_nik(nik_of(regency="5301"), today=TODAY)
    assert isinstance(parsed.regency_code, KemendagriCode)
    with pytest.raises(UnknownCodeError):
        regency_by_bps(parsed.regency_code)


def test_a_nik_from_another_province_is_accepted_unless_ntt_is_required():
    surabaya = nik_of(regency="3578")
    assert parse_nik(surabaya, today=TODAY).province == "35"
    with pytest.raises(NikError, match="province 35 is not NTT"):
        parse_nik(surabaya, today=TODAY, require_ntt=True)


def test_require_ntt_accepts_an_ntt_nik():
    assert parse_nik(MALE_NIK, today=TODAY, require_ntt=True).regency_code == "5371"


def test_the_nik_is_not_in_the_repr():
    parsed = parse_nik(FEMALE_NIK, today=TODAY)
    assert FEMALE_NIK not in repr(parsed)
    assert FEMALE_NIK not in str(parsed)


# --- the two-digit year -------------------------------------------------------------------


def test_a_year_in_the_future_is_put_in_the_previous_century():
    # '26' on 15 January 2026: June 2026 has not happened, so June 1926 (age 99).
    parsed = parse_nik(nik_of(birth=date(2026, 6, 1)), today=TODAY)
    assert parsed.birth_date == date(1926, 6, 1)


def test_a_child_born_this_century_is_not_made_a_hundred_years_older():
    parsed = parse_nik(nik_of(birth=date(2012, 5, 20)), today=TODAY)
    assert parsed.birth_date == date(2012, 5, 20)
    assert age_on(parsed, TODAY) == 13


def test_when_both_centuries_fit_the_younger_age_is_chosen():
    # Born on 10 January: '26' gives age 100 (1926) or 0 (2026). 0 is chosen.
    parsed = parse_nik(nik_of(birth=date(2026, 1, 10)), today=TODAY)
    assert parsed.birth_date == date(2026, 1, 10)


def test_leap_day_is_accepted_in_a_leap_year_and_refused_otherwise():
    assert parse_nik(nik_of(birth=date(2000, 2, 29)), today=TODAY).birth_date == date(2000, 2, 29)
    not_leap = MALE_NIK[:6] + "290201" + "0001"
    with pytest.raises(NikError, match="29/02 is not a date in a year ending in 01"):
        parse_nik(not_leap, today=TODAY)


def test_age_counts_completed_years():
    parsed = parse_nik(MALE_NIK, today=TODAY)
    assert age_on(parsed, date(2025, 12, 31)) == 35
    assert age_on(parsed, date(2026, 1, 1)) == 36


def test_age_before_birth_is_refused():
    parsed = parse_nik(MALE_NIK, today=TODAY)
    with pytest.raises(ValueError, match="before the birth date"):
        age_on(parsed, date(1989, 12, 31))


def test_today_defaults_to_the_current_date():
    assert parse_nik(MALE_NIK).birth_date == date(1990, 1, 1)


# --- refusals, each with a message that names the part --------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "NIK is empty"),
        (" .- ", "NIK is empty"),
        ("53710101900001", "NIK must be 16 digits, got 14"),
        ("53710101019000011", "NIK must be 16 digits, got 17"),
        ("5371O10101900001", "position 5 is not one"),
        ("5371010101900001\u0661", "position 17 is not one"),  # Arabic-Indic digit one
        ("9971010101900001", "NIK province 99 is not an Indonesian province code"),
        ("2071010101900001", "NIK province 20 is not an Indonesian province code"),
        ("5399010101900001", "NIK regency 5399 is not an NTT regency (Kemendagri code)"),
        ("5300010101900001", "NIK regency 5300 is not a regency code"),
        ("3500010101900001", "NIK regency 3500 is not a regency code"),
        ("5371000101900001", "NIK district 537100 is not a district code"),
        ("5371013102900001", "NIK birth date 31/02 is not a date"),
        ("5371017102900001", "NIK birth date 31/02 is not a date"),
        ("5371013501900001", "NIK birth day 35 is neither 01-31 (male) nor 41-71 (female)"),
        ("5371010001900001", "NIK birth day 00 is neither"),
        ("5371017201900001", "NIK birth day 72 is neither"),
        ("5371010113900001", "NIK birth month 13 is not a month"),
        ("5371010100900001", "NIK birth month 00 is not a month"),
        ("5371010101900000", "NIK serial 0000 is never issued"),
    ],
)
def test_malformed_niks_are_refused_naming_the_part(raw, message):
    with pytest.raises(NikError) as error:
        parse_nik(raw, today=TODAY)
    assert message in str(error.value)


def test_nik_error_is_a_value_error():
    with pytest.raises(ValueError, match="NIK must be 16 digits"):
        parse_nik("123", today=TODAY)


@given(st.text(alphabet="0123456789", min_size=15, max_size=15))
def test_any_15_digit_string_is_refused(raw):
    with pytest.raises(NikError, match="got 15"):
        parse_nik(raw, today=TODAY)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_any_17_digit_string_is_refused(raw):
    with pytest.raises(NikError, match="got 17"):
        parse_nik(raw, today=TODAY)


@given(st.text(alphabet="0123456789", min_size=16, max_size=16), st.booleans())
def test_error_messages_never_contain_the_full_nik(raw, require_ntt):
    assert raw not in error_text(raw, require_ntt=require_ntt)


@given(valid_niks(), st.integers(0, 15), st.characters(categories=["L", "P", "S"]))
def test_error_messages_never_contain_the_nik_even_with_a_typo(case, position, typo):
    nik, _ = case
    assume(normalise_nik(typo) == typo)  # not a separator that cleaning removes
    mistyped = nik[:position] + typo + nik[position + 1 :]
    with pytest.raises(NikError) as error:
        parse_nik(mistyped, today=TODAY)
    assert nik not in str(error.value)
    assert normalise_nik(mistyped) not in str(error.value)
