"""The links Zoom hands out: a host's start link (it expires) and a registrant's personal join link.

Opening a start link starts the meeting as the host's client would; opening a
personal join link joins the registrant by name and email, no passcode asked.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from zoomsim.app import simulator

bp = Blueprint("links", __name__)


@bp.get("/s/<int:meeting_id>")
def start_link(meeting_id: int):
    world = simulator().world
    with world.lock:
        entry = world.start_links.get(request.args.get("zak", ""))
        meeting = world.meetings.get(meeting_id)
        if entry is None or entry[0] != meeting_id or meeting is None or meeting.deleted:
            return Response("This start link is not valid.", status=404, mimetype="text/plain")
        if entry[1] < world.clock():
            return Response("This start link has expired. Sign in to start the meeting.", status=403)
        if not meeting.live:
            world.start(meeting)
        return jsonify(started=True, uuid=meeting.uuid)


@bp.get("/w/<int:meeting_id>")
def personal_join_link(meeting_id: int):
    world = simulator().world
    with world.lock:
        entry = world.registrant_links.get(request.args.get("tk", ""))
        meeting = world.meetings.get(meeting_id)
        if entry is None or entry[0] != meeting_id or meeting is None or meeting.deleted:
            return Response("Invalid meeting link.", status=404, mimetype="text/plain")
        if not meeting.live:
            return Response("Please wait for the host to start this meeting.", status=409, mimetype="text/plain")
        registrant = meeting.registrants[entry[1]]
        if registrant.status != "approved":
            return Response(f"Your registration is {registrant.status}.", status=403, mimetype="text/plain")
        name = f"{registrant.first_name} {registrant.last_name}".strip()
        session = world.join(meeting, name, registrant.email, registrant_id=registrant.id)
        return jsonify(joined=True, user_id=session.user_id, participant_uuid=session.participant_uuid)
