"""rules.time_formats: each of the service's three ways of writing a UTC moment, pinned and round-tripped.

Each format is read back by the parser of the consumer that needs it: Zoom's (the simulator's reading of a
request's start_time, and ours of Zoom's times), an iCalendar library's, and Python's ISO 8601 reader.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.time_formats import ical_utc, iso8601_z, zoom_utc
from service.event_schemas import as_zoom_time
from zoomsim.times import parse_start_time

MOMENT = datetime(2030, 6, 1, 10, 0, 30, tzinfo=UTC)
BERLIN = datetime(2030, 6, 1, 12, 0, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # the same moment, CEST
ZOOM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
ICAL = re.compile(r"[0-9]{8}T[0-9]{6}Z")
ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?Z")


# --- each format, written ------------------------------------------------------------------------------------


def test_each_format_writes_a_utc_moment_as_its_consumer_reads_it():
    assert zoom_utc(MOMENT) == "2030-06-01T10:00:30Z"
    assert ical_utc(MOMENT) == "20300601T100030Z"
    assert iso8601_z(MOMENT) == "2030-06-01T10:00:30Z"


@pytest.mark.parametrize(
    "moment, zoom, ical",
    [
        (BERLIN, "2030-06-01T10:00:30Z", "20300601T100030Z"),
        (datetime(2030, 1, 15, 9, 0, tzinfo=ZoneInfo("America/New_York")), "2030-01-15T14:00:00Z", "20300115T140000Z"),
        (datetime(2030, 7, 15, 9, 0, tzinfo=ZoneInfo("America/New_York")), "2030-07-15T13:00:00Z", "20300715T130000Z"),
        # an offset east of UTC moves the day (and the month) back; one west of it, the year forward
        (
            datetime(2030, 3, 1, 0, 15, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            "2030-02-28T18:45:00Z",
            "20300228T184500Z",
        ),
        (
            datetime(2030, 12, 31, 20, 0, tzinfo=timezone(timedelta(hours=-8))),
            "2031-01-01T04:00:00Z",
            "20310101T040000Z",
        ),
    ],
    ids=["berlin-summer", "new-york-winter", "new-york-summer", "plus-5-30", "minus-8"],
)
def test_an_aware_moment_of_another_zone_is_converted_to_utc(moment, zoom, ical):
    assert zoom_utc(moment) == zoom
    assert ical_utc(moment) == ical
    assert iso8601_z(moment) == zoom  # the same text while there is no fraction of a second


def test_a_moment_already_in_utc_but_another_tzinfo_is_written_alike():
    for utc in (UTC, UTC, ZoneInfo("UTC"), timezone(timedelta(0))):
        moment = MOMENT.replace(tzinfo=utc)
        assert (zoom_utc(moment), ical_utc(moment), iso8601_z(moment)) == (
            "2030-06-01T10:00:30Z",
            "20300601T100030Z",
            "2030-06-01T10:00:30Z",
        )


def test_zoom_and_icalendar_drop_microseconds_without_rounding():
    late = MOMENT.replace(microsecond=999_999)
    assert zoom_utc(late) == "2030-06-01T10:00:30Z"
    assert ical_utc(late) == "20300601T100030Z"
    assert zoom_utc(BERLIN.replace(microsecond=123_456)) == "2030-06-01T10:00:30Z"


def test_iso8601_keeps_microseconds_when_there_are_any():
    assert iso8601_z(MOMENT.replace(microsecond=123_456)) == "2030-06-01T10:00:30.123456Z"
    assert iso8601_z(MOMENT.replace(microsecond=5)) == "2030-06-01T10:00:30.000005Z"
    assert iso8601_z(BERLIN.replace(microsecond=1)) == "2030-06-01T10:00:30.000001Z"


def test_iso8601_of_no_time_is_none():
    assert iso8601_z(None) is None


# --- a naive datetime: read as the machine's local time, as the formatters always did ------------------------


@pytest.fixture
def machine_zone(monkeypatch):
    """Set the process's local time zone (TZ); the one before is restored afterwards."""

    def use(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    "zone, zoom, ical",
    [
        ("UTC", "2030-06-01T09:00:00Z", "20300601T090000Z"),
        ("Asia/Tokyo", "2030-06-01T00:00:00Z", "20300601T000000Z"),
        ("America/New_York", "2030-06-01T13:00:00Z", "20300601T130000Z"),
    ],
)
def test_a_naive_datetime_is_read_as_the_machines_local_time(machine_zone, zone, zoom, ical):
    machine_zone(zone)
    naive = datetime(2030, 6, 1, 9, 0, 0, 250_000)
    assert zoom_utc(naive) == zoom
    assert ical_utc(naive) == ical
    assert iso8601_z(naive) == zoom.replace("Z", ".250000Z")


# --- round trips, through each consumer's reader --------------------------------------------------------------

# Aware moments of any fixed offset and any microsecond, in years that write four digits.
moments = st.builds(
    lambda naive, minutes: naive.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9997, 12, 30)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)


@given(moments)
def test_zoom_utc_round_trips_through_zooms_reading_and_ours(moment):
    text = zoom_utc(moment)
    whole = moment.replace(microsecond=0)
    assert ZOOM.fullmatch(text)
    assert parse_start_time(text, "Asia/Tokyo") == whole  # the `Z` makes it GMT, whatever the timezone beside it
    assert as_zoom_time(text) == whole


@given(moments)
def test_ical_utc_round_trips_through_an_icalendar_reader(moment):
    text = ical_utc(moment)
    assert ICAL.fullmatch(text)
    read = icalendar.vDatetime.from_ical(text)
    assert read == moment.replace(microsecond=0)
    assert read.utcoffset() == timedelta(0)


@given(moments)
def test_iso8601_z_round_trips_exactly(moment):
    text = iso8601_z(moment)
    assert ISO.fullmatch(text)
    read = datetime.fromisoformat(text)
    assert read == moment
    assert read.utcoffset() == timedelta(0)
