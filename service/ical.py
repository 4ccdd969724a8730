"""An iCalendar (RFC 5545) feed of trainings, written by hand: no I/O, nothing but text rules.

Each training is one VEVENT whose UID never changes and whose SEQUENCE grows
with every change, so calendar apps move the event instead of adding another
when its time changes in the LMS or in Zoom; a cancelled training stays in the
feed as STATUS:CANCELLED so subscribers remove it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

from rules.time_formats import ical_utc

PRODUCT_ID = "-//zoomsync//LMS trainings//EN"
LINE_LIMIT = 75  # octets, before CRLF (RFC 5545 3.1)
# What RFC 3986 lets stand in a URI as it is: unreserved and reserved characters (and "%" of a valid escape).
URI_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    sequence: int
    start: datetime
    end: datetime
    summary: str
    join_url: str | None
    cancelled: bool
    changed: datetime
    organizer: str | None = None  # an email


def escape_text(value: str) -> str:
    """TEXT values: backslash, semicolon, comma and newlines are escaped (RFC 5545 3.3.11)."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def organizer_uri(email: str | None) -> str | None:
    """The organizer's email as a mailto URI (RFC 6068), or None where it cannot be one.

    ORGANIZER is a CAL-ADDRESS, a URI, not TEXT: escaping does not apply, so an address with a control
    character (a CR or LF would start a content line of its own) or without one "@" is left out, and what a
    mailto URI may not hold bare is percent-encoded.
    """
    if not email or email.count("@") != 1 or any(ord(char) <= 0x20 or 0x7F <= ord(char) <= 0x9F for char in email):
        return None
    return "mailto:" + quote(email, safe="@.!$'*+-=^_`{|}~")


def join_link(url: str | None) -> str | None:
    """The join link as it may go into the feed, or None where it may not go at all.

    The link comes from Zoom or the LMS, not from us: a CR or LF in it would end the
    content line and start one of its own, so any control character refuses the link.
    What a URI may not hold (a space, non-ASCII) is percent-encoded; only an http(s)
    link with a host is kept, so a `javascript:` or hostless one never reaches a
    calendar app. A link that is already clean is returned unchanged.
    """
    if url is None:
        return None
    url = url.strip()
    if not url or any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in url):
        return None
    pieces, at = [], 0
    while at < len(url):
        char = url[at]
        if char == "%" and _ESCAPE.match(url, at):
            pieces.append(url[at : at + 3])
            at += 3
            continue
        pieces.append(char if char in URI_CHARACTERS else "".join(f"%{b:02X}" for b in char.encode("utf-8")))
        at += 1
    clean = "".join(pieces)
    try:
        parts = urlsplit(clean)
        host, _ = parts.hostname, parts.port
    except ValueError:  # an unbalanced "[" in the host, a port that is no number
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return clean


def fold(line: str) -> str:
    """Split a content line into pieces of at most 75 octets, never inside a UTF-8 character."""
    pieces, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        limit = LINE_LIMIT if not pieces else LINE_LIMIT - 1  # continuation lines start with a space
        if size + width > limit:
            pieces.append(current)
            current, size = "", 0
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def calendar(name: str, events: Iterable[CalendarEvent], now: datetime) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT_ID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for event in events:
        lines += _event(event, now)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def _event(event: CalendarEvent, now: datetime) -> list[str]:
    link = join_link(event.join_url)
    description = f"Join: {link}" if link else "The join link follows once the meeting is in Zoom."
    lines = [
        "BEGIN:VEVENT",
        f"UID:{event.uid}",
        f"SEQUENCE:{event.sequence}",
        f"DTSTAMP:{ical_utc(now)}",
        f"LAST-MODIFIED:{ical_utc(event.changed)}",
        f"DTSTART:{ical_utc(event.start)}",
        f"DTEND:{ical_utc(event.end)}",
        f"SUMMARY:{escape_text(event.summary)}",
        f"DESCRIPTION:{escape_text(description)}",
        f"STATUS:{'CANCELLED' if event.cancelled else 'CONFIRMED'}",
    ]
    if link:
        lines += [f"URL:{link}", f"LOCATION:{escape_text(link)}"]  # URL is a URI value: not TEXT-escaped
    organizer = organizer_uri(event.organizer)
    if organizer:
        lines.append(f"ORGANIZER:{organizer}")
    lines.append("END:VEVENT")
    return lines
