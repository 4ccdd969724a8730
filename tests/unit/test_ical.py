"""The hand-written iCalendar writer, checked against RFC 5545's text rules and read back by a real parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from service import ical

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def event(**overrides) -> ical.CalendarEvent:
    values = {
        "uid": "training-7@zoomsync",
        "sequence": 3,
        "start": datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        "end": datetime(2026, 12, 1, 10, 30, tzinfo=UTC),
        "summary": "Fire safety",
        "join_url": "https://zoom.us/w/123?tk=abc",
        "cancelled": False,
        "changed": NOW - timedelta(hours=1),
        "organizer": "olga@example.org",
    }
    return ical.CalendarEvent(**(values | overrides))


def parsed(text: str) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(text)


def test_text_escapes_backslash_semicolon_comma_and_newlines():
    assert ical.escape_text("a\\b;c,d\ne\r\nf") == "a\\\\b\\;c\\,d\\ne\\nf"


def test_long_lines_fold_at_75_octets_without_splitting_a_character():
    line = "SUMMARY:" + "Ü" * 100
    folded = ical.fold(line)
    pieces = folded.split("\r\n")
    assert all(len(piece.encode("utf-8")) <= 75 for piece in pieces)
    assert all(piece.startswith(" ") for piece in pieces[1:])
    assert "".join(piece[1:] if i else piece for i, piece in enumerate(pieces)) == line


def test_a_short_line_is_not_folded():
    assert ical.fold("UID:x") == "UID:x"


def test_every_line_ends_with_crlf():
    text = ical.calendar("Trainings", [event()], NOW)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")


def test_a_parser_reads_back_what_we_wrote():
    text = ical.calendar("Trainings of Ann, our learner", [event()], NOW)
    assert "\r\nX-WR-CALNAME:Trainings of Ann\\, our learner\r\n" in text  # the parser keeps X- values raw
    calendar = parsed(text)
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["UID"]) == "training-7@zoomsync" and int(vevent["SEQUENCE"]) == 3
    assert vevent.decoded("DTSTART") == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert vevent.decoded("DTEND") == datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    assert str(vevent["SUMMARY"]) == "Fire safety" and str(vevent["STATUS"]) == "CONFIRMED"
    assert str(vevent["URL"]) == "https://zoom.us/w/123?tk=abc"
    assert "https://zoom.us/w/123?tk=abc" in str(vevent["DESCRIPTION"])
    assert str(vevent["ORGANIZER"]) == "mailto:olga@example.org"


def test_awkward_titles_survive_the_round_trip():
    title = "Safety; part 1, the basics \\ with a very long name " + "é" * 80
    (vevent,) = parsed(ical.calendar("T", [event(summary=title)], NOW)).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == title


def test_a_cancelled_event_says_so_and_an_event_without_a_link_has_no_url():
    (vevent,) = parsed(ical.calendar("T", [event(cancelled=True, join_url=None)], NOW)).walk("VEVENT")
    assert str(vevent["STATUS"]) == "CANCELLED" and "URL" not in vevent and "LOCATION" not in vevent


def test_an_empty_calendar_is_still_a_valid_calendar():
    calendar = parsed(ical.calendar("Nothing yet", [], NOW))
    assert calendar.walk("VEVENT") == [] and str(calendar["VERSION"]) == "2.0"
