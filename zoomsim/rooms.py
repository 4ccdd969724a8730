"""One device's moves within a meeting: waiting room, breakout rooms, a reconnect, a phone caller binding.

Every move ends one row of the report and starts the next, back to back, each with its own
`user_id` ("`user_id` changes on every rejoin and every room move", ../shared/zoom/README.md), and
emits the webhooks Zoom's event reference gives for it:

- waiting room: `participant_joined_waiting_room` on arrival; `participant_admitted` then
  `participant_joined` when the host admits them; `participant_put_in_waiting_room` then
  `participant_left` when sent back; `participant_left_waiting_room` then `participant_left`
  ("Leave waiting room.", one of participant_left's documented reasons) when they leave unadmitted.
- breakout rooms: `participant_joined_breakout_room` / `participant_left_breakout_room` with the
  room's `breakout_room_uuid`, a new `user_id` and `parent_user_id`, the main-room user_id.
- failover: a new main-room row (`failover: true`) from the reconnect, the old connection's row
  ending a few seconds later (FAILOVER_OVERLAP): `participant_joined`, then `participant_left`.
- phone: the caller is a participant of its own, named by its number; `participant_bind` links it.

Where Zoom is silent, interpreted here: whether a main-room `participant_left`/`participant_joined`
brackets a room stint (Track's `leave_main_for_rooms`; without them the webhooks keep the first
main-room user_id for the device, while the report's rows still get new ones); that being put back in
the waiting room is leaving the meeting (a `participant_left`), as admission is joining it; and that
a waiting stint, like any stint, has a user_id of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from zoomsim import events
from zoomsim.presence import WAITING
from zoomsim.times import epoch_ms

if TYPE_CHECKING:
    from zoomsim.world import Meeting, Session, World

FAILOVER_OVERLAP = 5  # seconds the old connection's row outlasts a reconnect ("rows of one person overlap")
LEFT = "left the meeting"
ENDED = "left the meeting.<br>Reason: Host ended the meeting"
LEFT_WAITING = "left the meeting.<br>Reason: Leave waiting room"
DISCONNECTED = "got disconnected from the meeting.<br>Reason: Network connection error"


@dataclass(frozen=True)
class Person:
    name: str
    email: str = ""
    zoom_user_id: str = ""
    participant_uuid: str = ""


class Track:
    """One device of one person through one instance: the rows it has open and what the webhooks were told."""

    def __init__(
        self,
        world: World,
        meeting: Meeting,
        person: Person,
        *,
        leave_main_for_rooms: bool = False,
        blank_room_rows: bool = False,
        phone_number: str = "",
    ) -> None:
        assert meeting.live is not None
        self.world, self.meeting, self.instance = world, meeting, meeting.live
        self.person, self.phone_number = person, phone_number
        self.leave_main_for_rooms, self.blank_room_rows = leave_main_for_rooms, blank_room_rows
        self.main: Session | None = None  # the open main-room row (World.end closes it)
        self.waiting: Session | None = None  # the open waiting-room row (this track closes it)
        self.room: Session | None = None  # the open breakout-room row (this track closes it)
        self.first: Session | None = None  # the first row: who this is, as Zoom derived it

    # --- arriving and leaving -------------------------------------------------------------

    def enter(self, at: datetime, waiting: bool = False) -> None:
        """Join the meeting, or its waiting room."""
        if not waiting:
            self._join(at)
            return
        row = self._join(at, announce=False, status=WAITING)
        del self.instance.open_sessions[row.user_id]  # not in the main room: World.end does not close it
        self.main, self.waiting = None, row
        self._waiting_event("participant_joined_waiting_room", row, at)

    def leave(self, at: datetime, lost: bool = False, *, ended: bool = False) -> None:
        """Leave from wherever they are; `lost`: the `participant_left` never arrives."""
        if self.room is not None:
            room = self._close(self.room, at, ENDED if ended else LEFT)
            self.room = None
            self._emit(events.breakout_room(self.meeting, self.instance, room, self._room_ids(room.room)[0], False))
            if not self.leave_main_for_rooms:  # the webhooks still have them in the main room
                room.leave_lost = lost
                if not lost:
                    self._left_as(room, room.parent_user_id, at, ENDED if ended else LEFT)
        elif self.waiting is not None:
            row = self._close(self.waiting, at, ENDED if ended else LEFT_WAITING)
            row.leave_lost, self.waiting = lost, None
            self._waiting_event("participant_left_waiting_room", row, at)
            if not lost:
                self._emit(events.participant(self.meeting, self.instance, row, False, epoch_ms(at)))
        elif self.main is not None and not ended:
            self.world.leave(self.meeting, self.main.user_id, at, lose_event=lost)
            self.main = None

    def close(self, at: datetime) -> None:
        """The meeting ends: leave a waiting or breakout room; main-room rows are World.end's to close."""
        if self.room is not None or self.waiting is not None:
            self.leave(at, ended=True)

    # --- waiting room ---------------------------------------------------------------------

    def admit(self, at: datetime) -> None:
        """The host admits them from the waiting room: `participant_admitted`, then they join the meeting."""
        assert self.waiting is not None
        row = self._close(self.waiting, at, "")
        self.waiting = None
        self._waiting_event("participant_admitted", row, at)
        self._join(at)

    def put_back(self, at: datetime) -> None:
        """The host sends them back to the waiting room: they leave the meeting for it."""
        main = self.main
        assert main is not None
        self._waiting_event("participant_put_in_waiting_room", main, at)
        self.world.leave(self.meeting, main.user_id, at)
        self.main, self.waiting = None, self._stint(main, at, status=WAITING)

    # --- breakout rooms -------------------------------------------------------------------

    def to_room(self, at: datetime, name: str) -> None:
        """Into a breakout room, from the main room or straight from another room."""
        if self.room is not None:
            like = self._close(self.room, at, LEFT)
            parent, self.room = like.parent_user_id, None
            self._emit(events.breakout_room(self.meeting, self.instance, like, self._room_ids(like.room)[0], False))
        else:
            like = self.main
            assert like is not None
            parent = like.event_user_id or like.user_id
            self.world.leave(self.meeting, like.user_id, at, announce=self.leave_main_for_rooms)
            self.main = None
        self.room = self._stint(like, at, room=name, parent_user_id=parent, blank_ids=self.blank_room_rows)
        self._emit(events.breakout_room(self.meeting, self.instance, self.room, self._room_ids(name)[0], True))

    def from_room(self, at: datetime) -> None:
        assert self.room is not None
        room = self._close(self.room, at, LEFT)
        self.room = None
        self._emit(events.breakout_room(self.meeting, self.instance, room, self._room_ids(room.room)[0], False))
        if self.leave_main_for_rooms:
            self._join(at)
        else:  # back in the main room under the user_id the webhooks never saw leave
            self._join(at, announce=False, event_user_id=room.parent_user_id)

    # --- reconnects and phones ----------------------------------------------------------------

    def failover(self, at: datetime) -> Session:
        """The client reconnects: a new row from `at`; the old one is returned, for `drop` a little later."""
        old = self.main
        assert old is not None
        self._join(at, failover=True)
        return old

    def drop(self, old: Session, at: datetime) -> None:
        """The connection a failover replaced goes."""
        if old.user_id in self.instance.open_sessions:
            self.world.leave(self.meeting, old.user_id, at, DISCONNECTED)

    def current_user_id(self) -> str:
        """The main-room user_id the webhooks know for this device now ("" when not in the meeting)."""
        if self.main is not None:
            return self.main.event_user_id or self.main.user_id
        return self.room.parent_user_id if self.room is not None else ""

    # --- rows and webhooks ----------------------------------------------------------------------

    def _join(self, at: datetime, *, announce: bool = True, **stint) -> Session:
        who = self.first
        self.main = self.world.join(
            self.meeting,
            name=self.person.name,
            email=self.person.email,
            at=at,
            registrant_id=who.registrant_id if who else "",
            participant_user_id=who.participant_user_id if who else self.person.zoom_user_id,
            participant_uuid=who.participant_uuid if who else self.person.participant_uuid,
            announce=announce,
            phone_number=self.phone_number,
            **stint,
        )
        self.first = self.first or self.main
        return self.main

    def _stint(self, like: Session, at: datetime, **fields) -> Session:
        """A row of the same person from `at`, with a user_id of its own, held by this track."""
        fresh = {"leave_time": None, "leave_reason": "", "leave_lost": False, "status": "in_meeting", "room": ""}
        fresh.update(parent_user_id="", failover=False, blank_ids=False, event_user_id="")
        row = replace(like, user_id=self.world.next_user_id(), join_time=at, **{**fresh, **fields})
        self.instance.sessions.append(row)
        return row

    @staticmethod
    def _close(row: Session, at: datetime, reason: str) -> Session:
        row.leave_time, row.leave_reason = at, f"{row.name} {reason}." if reason else ""
        return row

    def _room_ids(self, name: str) -> tuple[str, str]:
        """(breakout_room_uuid, bo_mtg_id): one pair per room per instance. Zoom does not say they match."""
        if name not in self.instance.rooms:
            self.instance.rooms[name] = (self.world.new_uuid(), self.world.new_uuid())
        return self.instance.rooms[name]

    def _left_as(self, row: Session, user_id: str, at: datetime, reason: str) -> None:
        """`participant_left` for the main-room user_id the webhooks know, when no main-room row is open."""
        view = replace(row, user_id=user_id, event_user_id="", leave_time=at, leave_reason=f"{row.name} {reason}.")
        self._emit(events.participant(self.meeting, self.instance, view, False, epoch_ms(at)))

    def _waiting_event(self, event: str, row: Session, at: datetime) -> None:
        self._emit(events.waiting_room(self.meeting, self.instance, row, event, at))

    def _emit(self, body: dict) -> None:
        self.world.emit(body)


def bind(phone: Track, people: list[Track], at: datetime) -> None:
    """The phone caller binds to the person's computer session that is in the meeting now."""
    track = next((t for t in people if t.current_user_id()), None)
    if track is None or track.first is None or phone.main is None:
        return  # nobody to bind to: the script was checked, so this cannot happen
    phone.main.bound_participant_uuid = track.first.participant_uuid
    body = events.bind(phone.meeting, phone.instance, phone.main, track.first, track.current_user_id(), at)
    phone.world.emit(body)
