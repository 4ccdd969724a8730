"""docs/zoom-setup.md lists what the code handles and needs: its generated blocks are what the code renders now.

A handler or a scope added to the code fails these tests until the guide is
regenerated (`python -m tools.zoom_setup_doc`). The only I/O is reading the
document; the code's tables are changed in memory (monkeypatch) to show that.
"""

from __future__ import annotations

import pytest

from service import envelope
from tools import zoom_setup_doc
from tools.zoom_setup_doc import DOCUMENT, END, all_scopes, handled_events, read_blocks, render, rewrite, unlisted
from workers import handlers
from zoomapi import scopes

RUN = "run python -m tools.zoom_setup_doc"


@pytest.fixture(scope="module")
def document() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


def test_the_generated_blocks_are_what_the_code_renders_now(document):
    blocks = read_blocks(document)
    assert set(blocks) == {"events", "scopes"}, f"docs/zoom-setup.md lost a generated block's markers: {RUN}"
    for name, body in render().items():
        assert blocks[name] == body, f"the {name} block of docs/zoom-setup.md is out of date: {RUN}"


def test_every_handled_event_and_every_scope_is_listed(document):
    assert unlisted(document) == [], f"docs/zoom-setup.md does not list them: {RUN}"


def test_the_lists_cover_the_codes_own_tables():
    events = handled_events()
    assert set(envelope.MEETING_EVENTS) | set(handlers.HANDLERS) <= set(events)
    assert envelope.URL_VALIDATION in events and "app_deauthorized" in events
    assert {s for _purpose, options in scopes.NEEDED + scopes.WEBINAR_NEEDED for s in options} == set(all_scopes())


def test_a_new_handled_event_fails_until_the_guide_lists_it(monkeypatch, document):
    monkeypatch.setattr(envelope, "MEETING_EVENTS", envelope.MEETING_EVENTS | {"meeting.fake_event"})
    assert read_blocks(document)["events"] != render()["events"]
    assert unlisted(document) == ["event meeting.fake_event"]
    regenerated = rewrite(document, render())
    assert unlisted(regenerated) == []
    assert "| `meeting.fake_event` |" in read_blocks(regenerated)["events"]


def test_a_new_dispatch_entry_fails_until_the_guide_lists_it(monkeypatch, document):
    def on_fake(ctx, event):
        """Does something new."""

    monkeypatch.setitem(handlers.HANDLERS, "webinar.fake_event", on_fake)
    assert unlisted(document) == ["event webinar.fake_event"]
    block = read_blocks(rewrite(document, render()))["events"]
    assert "| `webinar.fake_event` |  | Does something new. |" in block


def test_a_new_scope_fails_until_the_guide_lists_it(monkeypatch, document):
    row = ("end meetings", ("meeting:write:admin", "meeting:update:fake_status:admin"))
    monkeypatch.setattr(scopes, "NEEDED", scopes.NEEDED + (row,))
    assert read_blocks(document)["scopes"] != render()["scopes"]
    assert unlisted(document) == ["scope meeting:update:fake_status:admin"]
    block = read_blocks(rewrite(document, render()))["scopes"]
    assert "| end meetings | `meeting:update:fake_status:admin` | `meeting:write:admin` |" in block


def test_a_new_table_of_scopes_is_listed_too(monkeypatch, document):
    monkeypatch.setattr(scopes, "RECORDING_NEEDED", (("read recordings", ("recording:read:admin",)),), raising=False)
    assert "scope recording:read:admin" in unlisted(document)
    assert "`recording:read:admin`" in render()["scopes"]


def test_check_exits_1_and_says_what_to_run_when_the_document_differs(monkeypatch, capsys):
    assert zoom_setup_doc.main(["--check"]) == 0
    monkeypatch.setattr(envelope, "MEETING_EVENTS", envelope.MEETING_EVENTS | {"meeting.fake_event"})
    assert zoom_setup_doc.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "not listed: event meeting.fake_event" in err and "run python -m tools.zoom_setup_doc" in err


def test_rewrite_replaces_only_the_blocks_and_refuses_a_document_without_markers():
    start = zoom_setup_doc.start_marker("events")
    text = f"# title\n\nbefore\n{start}\nold text\n{END}\nafter\n"
    assert rewrite(text, {"events": "new text"}) == f"# title\n\nbefore\n{start}\nnew text\n{END}\nafter\n"
    with pytest.raises(ValueError, match="no `<!-- generated: scopes"):
        rewrite(text, {"scopes": "x"})


def test_granular_and_classic_scopes_are_told_apart():
    assert not zoom_setup_doc.is_granular("meeting:write:admin")
    assert not zoom_setup_doc.is_granular("user:read:admin")
    assert zoom_setup_doc.is_granular("meeting:write:meeting:admin")
    assert zoom_setup_doc.is_granular("report:read:list_meeting_participants:admin")
