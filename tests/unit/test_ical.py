"""The hand-written iCalendar writer, checked against RFC 5545's text rules and read back by a real parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

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


# --- the join link: what Zoom or the LMS stored goes into the feed only as a clean http(s) URI -----------------

ZOOM_JOIN_URL = "https://us02web.zoom.us/j/85746065432?pwd=Q2xhc3Mtb2YtMjAyNi5hYmM.1&uname=Ann%20Lee#success"
EVENT_PROPERTIES = [
    "BEGIN",
    "UID",
    "SEQUENCE",
    "DTSTAMP",
    "LAST-MODIFIED",
    "DTSTART",
    "DTEND",
    "SUMMARY",
    "DESCRIPTION",
    "STATUS",
    "URL",
    "LOCATION",
    "ORGANIZER",
    "END",
]


def content_lines(text: str) -> list[str]:
    """The feed's content lines, unfolded; every physical line is first checked to be one RFC 5545 allows."""
    assert text.endswith("\r\n")
    physical = text[: -len("\r\n")].split("\r\n")
    for line in physical:
        assert "\r" not in line and "\n" not in line, repr(line)
        assert len(line.encode("utf-8")) <= ical.LINE_LIMIT, repr(line)
        assert all(ord(char) >= 0x20 and ord(char) != 0x7F for char in line), repr(line)
    lines: list[str] = []
    for line in physical:
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def event_properties(text: str) -> list[str]:
    lines = content_lines(text)
    begin, end = lines.index("BEGIN:VEVENT"), lines.index("END:VEVENT")
    return [line.split(":", 1)[0] for line in lines[begin : end + 1]]


@pytest.mark.parametrize(
    "url",
    [
        "https://zoom.us/j/1\r\nX-INJECTED:yes",
        "https://zoom.us/j/1\nATTENDEE:mailto:someone@example.org",
        "https://zoom.us/j/1\rEND:VEVENT",
        "https://zoom.us/j/1\x00\x07\x1b[31m",
        "https://zoom.us/j/1\x7f",
        "https://zoom.us/j/1\x85NEL",
        "https://zoom.us/j/1\tpwd",
    ],
    ids=["crlf", "lf", "cr", "c0", "del", "c1", "tab"],
)
def test_a_link_with_a_control_character_is_left_out_and_adds_no_content_line(url):
    assert ical.join_link(url) is None
    text = ical.calendar("T", [event(join_url=url)], NOW)
    assert event_properties(text) == [p for p in EVENT_PROPERTIES if p not in ("URL", "LOCATION")]
    assert "INJECTED" not in text and "ATTENDEE" not in text and text.count("END:VEVENT") == 1
    (vevent,) = parsed(text).walk("VEVENT")
    assert "URL" not in vevent and "LOCATION" not in vevent
    assert str(vevent["DESCRIPTION"]) == "The join link follows once the meeting is in Zoom."


@pytest.mark.parametrize(
    "url, clean",
    [
        ("  https://zoom.us/j/1?pwd=a\r\n", "https://zoom.us/j/1?pwd=a"),  # only around it: stripped
        ("https://zoom.us/j/1?uname=Ann Lee", "https://zoom.us/j/1?uname=Ann%20Lee"),
        ("https://zoom.us/j/1?uname=Ülkü", "https://zoom.us/j/1?uname=%C3%9Clk%C3%BC"),
        ('https://zoom.us/j/1?a="<b>"\\{x}|^`', "https://zoom.us/j/1?a=%22%3Cb%3E%22%5C%7Bx%7D%7C%5E%60"),
        ("https://zoom.us/j/1?p=100%&q=%2f", "https://zoom.us/j/1?p=100%25&q=%2f"),  # a valid escape stays
    ],
    ids=["surrounding-whitespace", "space", "non-ascii", "not-in-a-uri", "percent"],
)
def test_what_a_uri_may_not_hold_is_percent_encoded(url, clean):
    assert ical.join_link(url) == clean
    text = ical.calendar("T", [event(join_url=url)], NOW)
    assert event_properties(text) == EVENT_PROPERTIES
    (vevent,) = parsed(text).walk("VEVENT")
    assert str(vevent["URL"]) == clean and str(vevent["LOCATION"]) == clean
    assert str(vevent["DESCRIPTION"]) == f"Join: {clean}"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript://zoom.us/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "mailto:someone@example.org",
        "zoommtg://zoom.us/join?confno=1",
        "https:///j/1",
        "https://",
        "//zoom.us/j/1",
        "zoom.us/j/1",
        "https://[::1/j/1",
        "https://zoom.us:port/j/1",
        "",
        "   ",
    ],
)
def test_a_link_that_is_not_http_with_a_host_is_left_out(url):
    assert ical.join_link(url) is None
    text = ical.calendar("T", [event(join_url=url)], NOW)
    assert event_properties(text) == [p for p in EVENT_PROPERTIES if p not in ("URL", "LOCATION")]
    assert "javascript" not in text.lower() and "passwd" not in text


def test_a_zoom_join_url_is_kept_byte_for_byte():
    assert ical.join_link(ZOOM_JOIN_URL) == ZOOM_JOIN_URL
    text = ical.calendar("T", [event(join_url=ZOOM_JOIN_URL)], NOW)
    lines = content_lines(text)
    assert f"URL:{ZOOM_JOIN_URL}" in lines  # a URI value: not TEXT-escaped, folded only
    assert f"LOCATION:{ical.escape_text(ZOOM_JOIN_URL)}" in lines
    (vevent,) = parsed(text).walk("VEVENT")
    assert str(vevent["URL"]) == ZOOM_JOIN_URL
    assert str(vevent["LOCATION"]) == ZOOM_JOIN_URL
    assert str(vevent["DESCRIPTION"]) == f"Join: {ZOOM_JOIN_URL}"


def test_a_long_link_full_of_escapes_folds_into_lines_of_75_octets():
    url = "https://zoom.us/j/1?uname=" + "Ü " * 60
    clean = ical.join_link(url)
    assert clean is not None and clean.isascii() and len(clean) > 3 * ical.LINE_LIMIT
    text = ical.calendar("T", [event(join_url=url)], NOW)
    assert event_properties(text) == EVENT_PROPERTIES
    assert f"URL:{clean}" in content_lines(text)
    (vevent,) = parsed(text).walk("VEVENT")
    assert str(vevent["URL"]) == clean


@pytest.mark.parametrize(
    ("email", "written"),
    [
        ("olga@example.org", "mailto:olga@example.org"),
        ("o.k+tag@example.org", "mailto:o.k+tag@example.org"),
        ("a&b?c#d@example.org", "mailto:a%26b%3Fc%23d@example.org"),  # mailto's own delimiters, encoded
        ("zoë@example.org", "mailto:zo%C3%AB@example.org"),
        ("olga@example.org\r\nATTENDEE:mailto:eve@example.org", None),
        ("olga @example.org", None),
        ("olga\t@example.org", None),
        ("no-at-sign", None),
        ("two@at@example.org", None),
        ("", None),
        (None, None),
    ],
)
def test_the_organizer_is_a_mailto_uri_or_left_out(email, written):
    assert ical.organizer_uri(email) == written
    text = ical.calendar("Feed", [event(organizer=email)], NOW)
    lines = text.split("\r\n")
    organizers = [line for line in lines if line.startswith("ORGANIZER")]
    assert organizers == ([f"ORGANIZER:{written}"] if written else [])
    assert not any(line.startswith("ATTENDEE") for line in lines)  # nothing smuggled in as a line of its own
