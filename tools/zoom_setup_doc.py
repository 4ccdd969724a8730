"""docs/zoom-setup.md's generated blocks: the events to subscribe to and the scopes to add, read from the code.

The events come from service/envelope.py (the one list of what the service acts
on) and the handlers' docstrings (workers/handlers.py, workers/account_events.py);
the scopes from zoomapi/scopes.py, the table the service checks a connection's
granted scopes against. Each block sits between its markers:

    <!-- generated: events (python -m tools.zoom_setup_doc) -->
    ...
    <!-- end generated -->

`python -m tools.zoom_setup_doc` rewrites the blocks in place; `--check` changes
nothing and exits 1 when the document differs from what the code renders now.
Rendering is pure: only `main` reads or writes the file.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from service import envelope
from workers import account_events, handlers
from zoomapi import scopes

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "zoom-setup.md"
COMMAND = "python -m tools.zoom_setup_doc"
END = "<!-- end generated -->"
BLOCKS = ("events", "scopes")


def start_marker(name: str) -> str:
    return f"<!-- generated: {name} ({COMMAND}) -->"


# What Zoom calls each event where you tick it (ZoomMeetingEventsSpec.json: "The **Start Meeting**
# subscription enabled under the **Meeting** event"). An event missing here is listed without a name.
ZOOM_NAMES: dict[str, str] = {
    "meeting.updated": "Meeting has been updated",
    "meeting.started": "Start Meeting",
    "meeting.ended": "End Meeting",
    "meeting.deleted": "Meeting has been deleted",
    "meeting.participant_joined": "Participant or Host joined meeting",
    "meeting.participant_left": "Participant/Host left meeting",
    "meeting.participant_bind": "Phone User Bind To Partcipant",  # sic, as Zoom spells it
    "meeting.participant_joined_waiting_room": "Participant joined a waiting room",
    "meeting.participant_admitted": "Participant was admitted into a meeting",
    "meeting.participant_left_waiting_room": "Participant left a waiting room",
    "meeting.participant_put_in_waiting_room": "Participant was put in a waiting room",
    "meeting.participant_joined_breakout_room": "Meeting participant has joined a breakout room",
    "meeting.participant_left_breakout_room": "Meeting participant has left a breakout room",
    "webinar.updated": "Webinar has been updated",
    "webinar.started": "Start Webinar",
    "webinar.ended": "End Webinar",
    "webinar.deleted": "Webinar has been deleted",
    "webinar.participant_joined": "Participant/Host joined webinar",
    "webinar.participant_left": "Participant/Host left webinar",
    "webinar.participant_bind": "Phone User Bind To Partcipant",  # sic
}


# --- events ------------------------------------------------------------------------------------


def _summary(function: Callable | None) -> str:
    """A handler's docstring, first line, as one table cell ("" when it has none)."""
    doc = (getattr(function, "__doc__", None) or "").strip()
    line = doc.splitlines()[0].strip() if doc else ""
    line = line.removeprefix("RQ job: ")
    return (line[:1].upper() + line[1:]).replace("|", "\\|")


def _is_participant(event: str) -> bool:
    return event.split(".", 1)[-1].startswith("participant_")


# (heading, which events, why the service needs them); an event no group takes goes to the last one.
_GROUPS: tuple[tuple[str, Callable[[str], bool], str], ...] = (
    (
        "Meetings",
        lambda e: e.startswith("meeting.") and not _is_participant(e),
        "Zoom lists them under **Meeting**. The training follows its meeting: edits made in Zoom come back "
        "to it, a start and an end make its runs and status, an end schedules the read of Zoom's participant "
        "report, and a deletion cancels a training that was not held.",
    ),
    (
        "Meeting participants",
        lambda e: e.startswith("meeting.") and _is_participant(e),
        "Zoom lists them under **Meeting**. Attendance is computed from them: joins and leaves give each "
        "person's presence, the waiting-room events keep time spent waiting out of it, a breakout-room stint "
        "counts as time in the meeting, and a phone bound to an attendee counts as that attendee.",
    ),
    (
        "Webinars",
        lambda e: e.startswith("webinar.") and not _is_participant(e),
        "Zoom lists them under **Webinar**; they need an account with webinars. The same as for meetings; a "
        "`webinar.ended` also tells a practice session from the live webinar.",
    ),
    (
        "Webinar participants",
        lambda e: e.startswith("webinar.") and _is_participant(e),
        "Zoom lists them under **Webinar**. Attendance, as for meetings (Zoom has no waiting-room or "
        "breakout-room events for webinars).",
    ),
)
_OTHER = ("Other events", "Handled by the service; not yet given a group in tools/zoom_setup_doc.py.")


def _table(events: Iterable[str], describe: Callable[[str], str]) -> list[str]:
    lines = ["| event | Zoom's name for it | its handler's docstring |", "|---|---|---|"]
    for event in sorted(events):
        name = ZOOM_NAMES.get(event, "")
        lines.append(f"| `{event}` | {name} | {describe(event)} |")
    return lines


def render_events() -> str:
    """The events block: every event the service acts on, grouped, with what its handler does."""
    handled = sorted(set(envelope.MEETING_EVENTS) | set(handlers.HANDLERS))  # equal, as test_envelope checks
    account = sorted(envelope.ACCOUNT_EVENTS)
    total = len(handled) + len(account)
    lines = [
        f"The service acts on {total} events: {len(handled)} about meetings and webinars "
        f"(`MEETING_EVENTS`) and {len(account)} about an account (`ACCOUNT_EVENTS`), both in "
        "`service/envelope.py`. Subscribe to all of them (to the webinar ones where academies hold webinars). "
        "Any other event is stored as `ignored` and changes nothing.",
        "",
    ]
    groups = [(heading, [e for e in handled if wanted(e)], why) for heading, wanted, why in _GROUPS]
    rest = [e for e in handled if not any(wanted(e) for _heading, wanted, _why in _GROUPS)]
    if rest:
        groups.append((_OTHER[0], rest, _OTHER[1]))

    def describe(event: str) -> str:
        return _summary(handlers.HANDLERS.get(event))

    for heading, events, why in groups:
        if not events:
            continue
        lines += [f"**{heading}** ({len(events)}). {why}", ""]
        lines += _table(events, describe)
        lines.append("")
    if account:
        lines += [
            f"**Account events** ({len(account)}). Not about a meeting: a job of their own handles them "
            "(`workers/account_events.py`). Zoom sends them for a General app, not a Server-to-Server one.",
            "",
        ]
        lines += _table(account, lambda _event: _summary(account_events.handle_account_event))
        lines.append("")
    lines += [
        f"**Sent without a subscription.** `{envelope.URL_VALIDATION}`: Zoom sends it when you validate the "
        "endpoint URL and again every 72 hours. The service answers it at once and stores nothing "
        '(see "The webhook" below).',
    ]
    return "\n".join(lines)


def handled_events() -> list[str]:
    """Every event type the code acts on: the lists in service/envelope.py and the dispatch table."""
    names = set(envelope.MEETING_EVENTS) | set(envelope.ACCOUNT_EVENTS) | {envelope.URL_VALIDATION}
    return sorted(names | set(handlers.HANDLERS))


# --- scopes ------------------------------------------------------------------------------------


def is_granular(scope: str) -> bool:
    """`meeting:write:meeting:admin` is granular (resource, action, object); `meeting:write:admin` classic."""
    parts = scope.split(":")
    if parts[-1] in ("admin", "master"):
        parts = parts[:-1]
    return len(parts) > 2


# The tables of zoomapi/scopes.py by name: (heading, when they are needed), in this order; others follow.
_SCOPE_TABLES: dict[str, tuple[str, str]] = {
    "NEEDED": ("Meetings and users", "always"),
    "WEBINAR_NEEDED": ("Webinars", "only where the connected Zoom user has webinars (read when connecting)"),
}


def _scope_groups() -> list[tuple[str, str, tuple[tuple[str, tuple[str, ...]], ...]]]:
    """(heading, when, rows) per table of zoomapi/scopes.py: every module-level `*NEEDED` tuple."""
    tables = sorted(n for n, v in vars(scopes).items() if n.endswith("NEEDED") and isinstance(v, tuple))
    names = [n for n in _SCOPE_TABLES if n in tables] + [n for n in tables if n not in _SCOPE_TABLES]
    return [(*_SCOPE_TABLES.get(name, (name, "as `zoomapi/scopes.py` says")), getattr(scopes, name)) for name in names]


def all_scopes() -> list[str]:
    """Every scope any table of zoomapi/scopes.py names."""
    return sorted({scope for _h, _w, rows in _scope_groups() for _purpose, options in rows for scope in options})


def _code(names: Iterable[str]) -> str:
    return " or ".join(f"`{name}`" for name in names) or "—"


def render_scopes() -> str:
    """The scopes block: per thing the service does, the granular scope and the classic one that allow it."""
    lines = [
        "Each row is one thing the service does; any one scope of the row allows it. The service asks for "
        "the same scopes whatever the kind of connection, and refuses a connection that lacks one, naming "
        "the row.",
        "",
    ]
    classic: dict[str, list[str]] = {}
    granular: dict[str, list[str]] = {}
    for heading, when, rows in _scope_groups():
        lines += [f"**{heading}**: needed {when}.", ""]
        lines += ["| what the service does | granular scope | classic scope |", "|---|---|---|"]
        for purpose, options in rows:
            fine = [s for s in options if is_granular(s)]
            coarse = [s for s in options if not is_granular(s)]
            lines.append(f"| {purpose} | {_code(fine)} | {_code(coarse)} |")
            for scope in fine:
                granular.setdefault(heading, []).append(scope)
            for scope in coarse:
                classic.setdefault(heading, []).append(scope)
        lines.append("")
    lines += ["All at once, to add on the app's Scopes page:", ""]
    for kind, table in (("granular", granular), ("classic", classic)):
        for heading, names in table.items():
            unique = sorted(set(names))
            lines.append(f"- {kind}, {heading.lower()}: {', '.join(f'`{n}`' for n in unique)}")
    return "\n".join(lines)


# --- the document --------------------------------------------------------------------------------


def render() -> dict[str, str]:
    return {"events": render_events(), "scopes": render_scopes()}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(start_marker(name)) + r"\n(.*?)\n?" + re.escape(END), re.S)


def read_blocks(text: str) -> dict[str, str]:
    """The blocks as the document holds them now; a block whose markers are missing is absent."""
    found = {}
    for name in BLOCKS:
        match = _pattern(name).search(text)
        if match:
            found[name] = match.group(1).strip("\n")
    return found


def rewrite(text: str, blocks: dict[str, str]) -> str:
    """The document with each block's text replaced; ValueError when a block's markers are missing."""
    for name, body in blocks.items():
        pattern = _pattern(name)
        if not pattern.search(text):
            raise ValueError(f"docs/zoom-setup.md has no `{start_marker(name)}` … `{END}` block")
        text = pattern.sub(lambda _m, name=name, body=body: f"{start_marker(name)}\n{body}\n{END}", text, count=1)
    return text


def unlisted(text: str) -> list[str]:
    """Handled events and needed scopes the document's blocks do not name."""
    blocks = read_blocks(text)
    events, scope_text = blocks.get("events", ""), blocks.get("scopes", "")
    return [f"event {e}" for e in handled_events() if f"`{e}`" not in events] + [
        f"scope {s}" for s in all_scopes() if f"`{s}`" not in scope_text
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the document differs")
    parser.add_argument("--document", type=Path, default=DOCUMENT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    text = args.document.read_text(encoding="utf-8")
    try:
        wanted = rewrite(text, render())
    except ValueError as exc:
        print(f"zoom-setup: {exc}", file=sys.stderr)
        return 2
    if wanted == text:
        print("zoom-setup: docs/zoom-setup.md is up to date")
        return 0
    if args.check:
        changed = [name for name, body in render().items() if read_blocks(text).get(name) != body]
        missing = unlisted(text)
        print(f"zoom-setup: docs/zoom-setup.md differs from the code in: {', '.join(changed)}", file=sys.stderr)
        for line in missing:
            print(f"zoom-setup: not listed: {line}", file=sys.stderr)
        print(f"zoom-setup: run {COMMAND}", file=sys.stderr)
        return 1
    args.document.write_text(wanted, encoding="utf-8")
    print(f"zoom-setup: rewrote the {', '.join(BLOCKS)} blocks of docs/zoom-setup.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
