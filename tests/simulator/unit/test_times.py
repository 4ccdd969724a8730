"""zoomsim/times.py: Zoom's two start_time forms, its UTC time format, and when daily limits reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from zoomsim.times import epoch_ms, from_epoch, next_utc_midnight, parse_start_time, utc_day, zone, zoom_time


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- parse_start_time: the UTC form ------------------------------------------------------


def test_z_form_is_utc():
    assert parse_start_time("2024-05-01T09:30:15Z", "UTC") == utc(2024, 5, 1, 9, 30, 15)


def test_z_form_ignores_the_timezone_field():
    assert parse_start_time("2024-05-01T09:30:15Z", "America/New_York") == utc(2024, 5, 1, 9, 30, 15)


def test_z_form_needs_no_valid_timezone():
    assert parse_start_time("2024-05-01T09:30:15Z", "") == utc(2024, 5, 1, 9, 30, 15)


def test_result_is_aware_and_in_utc():
    moment = parse_start_time("2024-07-01T09:00:00", "America/New_York")
    assert moment is not None
    assert moment.utcoffset() == timedelta(0)
    assert moment.tzinfo is UTC


def test_leap_day_is_a_date():
    assert parse_start_time("2024-02-29T12:00:00Z", "UTC") == utc(2024, 2, 29, 12)


# --- parse_start_time: local time in the request's zone ----------------------------------


@pytest.mark.parametrize(
    ("value", "name", "expected"),
    [
        ("2024-07-01T09:00:00", "America/New_York", utc(2024, 7, 1, 13)),  # EDT, UTC-4
        ("2024-01-15T09:00:00", "America/New_York", utc(2024, 1, 15, 14)),  # EST, UTC-5
        ("2024-03-31T01:30:00", "Europe/Berlin", utc(2024, 3, 31, 0, 30)),  # CET before the switch
        ("2024-03-31T03:30:00", "Europe/Berlin", utc(2024, 3, 31, 1, 30)),  # CEST after it
        ("2024-10-27T04:00:00", "Europe/Berlin", utc(2024, 10, 27, 3)),  # back on CET
        ("2024-01-10T10:00:00", "Australia/Sydney", utc(2024, 1, 9, 23)),  # AEDT, UTC+11: the day before
        ("2024-07-10T10:00:00", "Australia/Sydney", utc(2024, 7, 10, 0)),  # AEST, UTC+10
        ("2024-05-01T09:00:00", "Asia/Kolkata", utc(2024, 5, 1, 3, 30)),  # half-hour offset
        ("2024-05-01T09:00:00", "UTC", utc(2024, 5, 1, 9)),
    ],
)
def test_local_form_is_converted_with_the_iana_zone(value, name, expected):
    assert parse_start_time(value, name) == expected


def test_same_local_time_gives_different_utc_across_dst():
    summer = parse_start_time("2024-06-03T18:00:00", "Europe/London")
    winter = parse_start_time("2024-12-02T18:00:00", "Europe/London")
    assert summer == utc(2024, 6, 3, 17)
    assert winter == utc(2024, 12, 2, 18)


@pytest.mark.parametrize("name", ["", "Mars/Olympus_Mons", "Europe/Berlin ", "+01:00", "../../etc/passwd"])
def test_local_form_without_a_known_zone_is_refused(name):
    assert parse_start_time("2024-05-01T09:00:00", name) is None


def test_local_form_with_a_zone_folder_name_is_refused():
    # "America" is a folder of the zone database, not a zone.
    assert parse_start_time("2024-05-01T09:00:00", "America") is None


def test_local_form_with_a_non_string_zone_is_refused():
    assert parse_start_time("2024-05-01T09:00:00", None) is None


# --- parse_start_time: what is not one of Zoom's forms ----------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-01T09:00:00+01:00",
        "2024-05-01T09:00:00-05:00",
        "2024-05-01T09:00:00+00:00",
        "2024-05-01T09:00:00+0100",
        "2024-05-01T09:00:00Z+01:00",
    ],
)
def test_offsets_are_refused(value):
    assert parse_start_time(value, "UTC") is None


@pytest.mark.parametrize(
    "value",
    [
        "2024-02-30T10:00:00Z",
        "2023-02-29T10:00:00Z",
        "2024-13-01T10:00:00Z",
        "2024-00-10T10:00:00Z",
        "2024-05-00T10:00:00Z",
        "2024-04-31T10:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T10:60:00Z",
        "2024-05-01T10:00:60Z",
    ],
)
def test_impossible_dates_and_times_are_refused(value):
    assert parse_start_time(value, "UTC") is None


def test_impossible_local_date_is_refused_too():
    assert parse_start_time("2024-02-30T10:00:00", "Europe/Berlin") is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "2024-05-01",
        "2024-05-01T09:00",
        "2024-05-01T09:00Z",
        "2024-05-01 09:00:00Z",
        "2024-5-1T09:00:00Z",
        "20240501T090000Z",
        "24-05-01T09:00:00Z",
        "2024-05-01T09:00:00ZZ",
        "2024-05-01T09:00:00.Z",
        " 2024-05-01T09:00:00Z",
        "2024-05-01T09:00:00Z ",
        "tomorrow at nine",
    ],
)
def test_malformed_strings_are_refused(value):
    assert parse_start_time(value, "UTC") is None


def test_trailing_newline_is_refused():
    assert parse_start_time("2024-05-01T09:00:00Z\n", "UTC") is None


def test_non_ascii_digits_are_refused():
    # Arabic-Indic digits for 2024: not Zoom's format, although Python's int() reads them.
    assert parse_start_time("\u0662\u0660\u0662\u0664-05-01T09:00:00Z", "UTC") is None


@pytest.mark.parametrize("value", [None, 1714554000, 1714554000.0, utc(2024, 5, 1), b"2024-05-01T09:00:00Z"])
def test_non_strings_are_refused(value):
    assert parse_start_time(value, "UTC") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T09:00:00.5Z", utc(2024, 5, 1, 9, 0, 0)),
        ("2024-05-01T09:00:00.999Z", utc(2024, 5, 1, 9, 0, 0)),
        ("2024-05-01T09:00:07.123456789Z", utc(2024, 5, 1, 9, 0, 7)),
    ],
)
def test_fractional_seconds_are_accepted_and_dropped(value, expected):
    moment = parse_start_time(value, "UTC")
    assert moment == expected
    assert moment.microsecond == 0


def test_fractional_seconds_in_local_form():
    assert parse_start_time("2024-07-01T09:00:00.250", "America/New_York") == utc(2024, 7, 1, 13)


# --- zoom_time -----------------------------------------------------------------------


def test_zoom_time_formats_utc_with_z():
    assert zoom_time(utc(2024, 5, 1, 9, 5, 7)) == "2024-05-01T09:05:07Z"


def test_zoom_time_converts_other_zones_to_utc():
    assert zoom_time(datetime(2024, 7, 1, 9, 0, tzinfo=ZoneInfo("America/New_York"))) == "2024-07-01T13:00:00Z"
    assert zoom_time(datetime(2024, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))) == "2023-12-31T22:30:00Z"


def test_zoom_time_drops_microseconds():
    assert zoom_time(utc(2024, 5, 1, 9, 0, 0).replace(microsecond=999_999)) == "2024-05-01T09:00:00Z"


def test_zoom_time_round_trips_through_parse_start_time():
    moment = utc(2031, 12, 31, 23, 59, 59)
    assert parse_start_time(zoom_time(moment), "Asia/Tokyo") == moment


# --- next_utc_midnight ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (utc(2024, 5, 1, 12, 0), utc(2024, 5, 2)),
        (utc(2024, 5, 1, 0, 0, 0), utc(2024, 5, 2)),  # at midnight: the next one, not this one
        (utc(2024, 5, 1, 23, 59, 59), utc(2024, 5, 2)),
        (utc(2024, 12, 31, 18), utc(2025, 1, 1)),
        (utc(2024, 2, 28, 8), utc(2024, 2, 29)),
        (utc(2023, 2, 28, 8), utc(2023, 3, 1)),
    ],
)
def test_next_utc_midnight(moment, expected):
    assert next_utc_midnight(moment) == expected


def test_next_utc_midnight_is_utc_whatever_the_input_zone():
    # 22:00 in New York on May 1st is 02:00 UTC on May 2nd: the next UTC midnight is May 3rd.
    moment = datetime(2024, 5, 1, 22, 0, tzinfo=ZoneInfo("America/New_York"))
    result = next_utc_midnight(moment)
    assert result == utc(2024, 5, 3)
    assert result.tzinfo is UTC


def test_next_utc_midnight_ahead_of_utc():
    # 01:00 in Tokyo on May 2nd is 16:00 UTC on May 1st.
    assert next_utc_midnight(datetime(2024, 5, 2, 1, 0, tzinfo=ZoneInfo("Asia/Tokyo"))) == utc(2024, 5, 2)


# --- zone, and the small conversions ---------------------------------------------------


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Asia/Kolkata"])
def test_zone_knows_iana_names(name):
    found = zone(name)
    assert isinstance(found, ZoneInfo)
    assert found.key == name


@pytest.mark.parametrize(
    "name", ["", "Nowhere/Special", "GMT+25", "Europe/Berlin/", "../../etc/passwd", "/etc/localtime"]
)
def test_zone_refuses_unknown_names(name):
    assert zone(name) is None


@pytest.mark.parametrize("name", [None, 0, 1.5, ["UTC"]])
def test_zone_refuses_non_strings(name):
    assert zone(name) is None


@pytest.mark.parametrize("name", ["America", "Etc"])
def test_zone_refuses_folders_of_the_zone_database(name):
    assert zone(name) is None


def test_from_epoch_and_epoch_ms():
    moment = from_epoch(1714554000.25)
    assert moment == utc(2024, 5, 1, 9, 0, 0).replace(microsecond=250_000)
    assert epoch_ms(moment) == 1714554000250


def test_utc_day_uses_the_utc_date():
    assert utc_day(datetime(2024, 5, 1, 22, 0, tzinfo=ZoneInfo("America/New_York"))) == "2024-05-02"
    assert utc_day(utc(2024, 5, 1, 23, 59, 59)) == "2024-05-01"
