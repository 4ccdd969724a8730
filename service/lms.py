"""The service layer of the LMS API: business rules between HTTP and the models.

Functions take a unit of work and plain values, and return models; they decide
and write, the caller commits. Queue side effects are returned as follow-ups for
the caller to run after the commit, so a job never looks for a row not yet visible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from models import (
    Academy,
    Attendance,
    AttendanceAssignment,
    FieldChange,
    Notification,
    OutboxItem,
    Registrant,
    Role,
    Training,
    User,
    ZoomConnection,
    utcnow,
)
from models.database import lock_meeting
from service import ical, lms_rules, notices
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.inbox_admin import requeue_unmatched
from service.unit_of_work import UnitOfWork

# Fields that sync both ways: an LMS value is stamped with the time it was set,
# so an older Zoom change delivered later cannot overwrite it.
TWO_WAY_FIELDS = ("start_time", "duration", "timezone")


@dataclass
class FollowUps:
    reconcile_meetings: list[int] = field(default_factory=list)
    recompute_trainings: list[int] = field(default_factory=list)
    push_trainings: list[int] = field(default_factory=list)
    notify: bool = False  # notifications were written: the sender job should run


def lms_stamp() -> list:
    return [int(time.time() * 1000), "lms"]


def _get(uow: UnitOfWork, model, ident: int, label: str):
    obj = uow.session.get(model, ident)
    if obj is None:
        raise NotFound(f"{label} {ident} not found")
    return obj


def create_academy(uow: UnitOfWork, name: str, create_zoom_meetings: str = lms_rules.CREATE_ON_SAVE) -> Academy:
    academy = Academy(name=name, create_zoom_meetings=create_zoom_meetings)
    uow.session.add(academy)
    uow.session.flush()
    return academy


def update_academy(uow: UnitOfWork, academy_id: int, data: dict[str, Any]) -> Academy:
    """Rename it, or change when its trainings get Zoom meetings (from the next training saved or initiated)."""
    academy = _get(uow, Academy, academy_id, "academy")
    for name in ("name", "create_zoom_meetings"):
        if name in data:
            setattr(academy, name, data[name])
    uow.session.flush()
    return academy


def find_user_by_email(uow: UnitOfWork, email: str) -> User | None:
    return uow.session.scalars(select(User).where(func.lower(User.email) == email.lower())).first()


def create_user(
    uow: UnitOfWork,
    email: str | None,
    name: str,
    zoom_user_id: str | None = None,
    role: str = lms_rules.DEFAULT_ROLE,
) -> User:
    """A user of the LMS. Without an email they exist but cannot register for live sessions (UltiPro)."""
    if email is not None and find_user_by_email(uow, email) is not None:
        raise Conflict(f"a user with email {email} already exists")
    if zoom_user_id and uow.session.scalars(select(User).where(User.zoom_user_id == zoom_user_id)).first():
        raise Conflict(f"a user with zoom_user_id {zoom_user_id} already exists")
    if role not in lms_rules.BUILTIN_ROLES and _custom_role(uow, role) is None:
        known = ", ".join(lms_rules.BUILTIN_ROLES)
        raise Invalid("unknown role", {"role": [f"{role!r} is neither a built-in role ({known}) nor a custom one"]})
    user = User(email=email, name=name, zoom_user_id=zoom_user_id or None, role=role)
    uow.session.add(user)
    uow.session.flush()
    return user


def create_role(uow: UnitOfWork, name: str, permissions: list[str]) -> Role:
    """A custom role (iSpring: "a custom role enabled to create trainings")."""
    if name in lms_rules.BUILTIN_ROLES or _custom_role(uow, name) is not None:
        raise Conflict(f"a role named {name!r} already exists")
    role = Role(name=name, permissions=sorted(set(permissions)))
    uow.session.add(role)
    uow.session.flush()
    return role


def _custom_role(uow: UnitOfWork, name: str) -> Role | None:
    return uow.session.scalars(select(Role).where(Role.name == name)).first()


def permissions_of(uow: UnitOfWork, user: User) -> frozenset[str]:
    if user.role in lms_rules.BUILTIN_ROLES:
        return lms_rules.BUILTIN_ROLES[user.role]
    role = _custom_role(uow, user.role)
    return lms_rules.role_permissions(role.permissions if role else ())


def acting_user(uow: UnitOfWork, acting_id: int | None) -> User:
    """The LMS user on whose behalf the calling LMS acts (the X-Acting-User header)."""
    if acting_id is None:
        raise Forbidden("this action needs the acting LMS user's id in the X-Acting-User header")
    user = uow.session.get(User, acting_id)
    if user is None:
        raise Forbidden(f"the acting user {acting_id} does not exist")
    return user


def require_manager(uow: UnitOfWork, acting_id: int | None) -> User:
    """Creating, editing and cancelling trainings, and registering others, need a role that creates trainings."""
    user = acting_user(uow, acting_id)
    if not lms_rules.may_create_trainings(permissions_of(uow, user)):
        raise Forbidden(
            f"user {user.id} (role {user.role}) may not manage trainings: that needs the account owner, "
            "account admin, department admin or publisher role, or a custom role that creates trainings"
        )
    return user


def create_training(uow: UnitOfWork, acting_id: int | None, data: dict[str, Any], follow_ups: FollowUps) -> Training:
    """Add a training; its creator organizes it unless another organizer is named (iSpring)."""
    creator = require_manager(uow, acting_id)
    academy = _get(uow, Academy, data["academy_id"], "academy")
    organizer_id = data.get("organizer_id") or creator.id
    _check_organizer(uow, organizer_id)
    _check_one_day(data["start_time"], data["duration"], data["timezone"])
    connection = connection_of(uow, data["academy_id"])
    if connection is not None and (
        problem := lms_rules.webinar_problem(data["meeting_type"], connection.webinar_enabled)
    ):
        raise Conflict(problem)
    meeting_id = data.get("zoom_meeting_id")
    if meeting_id is not None:
        # Serialise with a running reconcile job, which could otherwise mark this
        # meeting's events `unmatched` after we re-queued them.
        lock_meeting(uow.session, meeting_id)
        linked = uow.session.scalars(select(Training).where(Training.zoom_meeting_id == meeting_id)).first()
        if linked is not None:
            raise Conflict(f"Zoom meeting {meeting_id} is already linked to training {linked.id}")
    stamp = lms_stamp()
    training = Training(
        academy_id=data["academy_id"],
        theme=data["theme"],
        start_time=data["start_time"],
        duration=data["duration"],
        timezone=data["timezone"],
        meeting_type=data["meeting_type"],
        status="not_started",
        organizer_id=organizer_id,
        description=data.get("description"),
        max_participants=data.get("max_participants"),
        min_attendance_percent=data.get("min_attendance_percent"),
        zoom_meeting_id=meeting_id,
        field_stamps={name: stamp for name in TWO_WAY_FIELDS},
    )
    uow.session.add(training)
    uow.session.flush()
    if meeting_id is not None:
        # Events that came before the link were kept as `unmatched`; apply them now.
        requeue_unmatched(uow, meeting_id)
        follow_ups.reconcile_meetings.append(meeting_id)
    elif connection is not None and academy.create_zoom_meetings == lms_rules.CREATE_ON_SAVE:
        # A connected academy: the meeting is created in Zoom by the push job (otherwise at initiation).
        _queue_meeting(uow, training, follow_ups)
    _notify(uow, follow_ups, training.organizer_id, training, _assigned_notice(training))
    return training


def _assigned_notice(training: Training) -> notices.Notice:
    return notices.assigned(training.theme, training.start_time, training.duration, training.timezone)


def _notify(uow: UnitOfWork, follow_ups: FollowUps, user_id: int, training: Training, notice: notices.Notice) -> None:
    """Record a notification with the change; the sender job emails it after the commit (or keeps it)."""
    uow.session.add(Notification.of(notice, user_id, training.id))
    follow_ups.notify = True


def _check_organizer(uow: UnitOfWork, organizer_id: int) -> User:
    """iSpring: an organizer is staff, or has a custom role that may view trainings."""
    organizer = uow.session.get(User, organizer_id)
    if organizer is None:
        raise Invalid("organizer does not exist", {"organizer_id": [f"user {organizer_id} not found"]})
    if not lms_rules.may_organize(permissions_of(uow, organizer)):
        raise Invalid(
            "this user cannot organize trainings",
            {"organizer_id": [f"user {organizer_id} has role {organizer.role}, which may not view trainings"]},
        )
    return organizer


def _check_one_day(start: datetime, duration: int, timezone: str) -> None:
    problem = lms_rules.one_day_problem(start, duration, timezone)
    if problem:
        raise Invalid("a live session lasts at most one day", {"duration": [problem]})


def connection_of(uow: UnitOfWork, academy_id: int) -> ZoomConnection | None:
    return uow.session.scalars(ZoomConnection.in_use(academy_id)).first()


def _syncs(uow: UnitOfWork, training: Training) -> bool:
    """Whether LMS edits of this training go to Zoom: its academy is connected and it has (or gets) a meeting."""
    if training.zoom_meeting_id is None and training.zoom_sync_state is None:
        return False
    return connection_of(uow, training.academy_id) is not None


def _outbox(
    uow: UnitOfWork,
    training: Training,
    kind: str,
    follow_ups: FollowUps,
    changes: dict | None = None,
    registrant: Registrant | None = None,
) -> None:
    """Record an edit bound for Zoom in this transaction; the push is queued after the commit."""
    uow.session.add(
        OutboxItem(
            training_id=training.id,
            registrant_id=registrant.id if registrant else None,
            kind=kind,
            changes=changes or {},
        )
    )
    if training.id not in follow_ups.push_trainings:
        follow_ups.push_trainings.append(training.id)


def update_training(
    uow: UnitOfWork, acting_id: int | None, training_id: int, data: dict[str, Any], follow_ups: FollowUps
) -> Training:
    """Edit a training. The schedule goes to Zoom (what changed only); the description never does.

    The title is managed in Zoom once a training has a Zoom meeting, and a meeting
    never becomes a webinar or back: both are refused.
    """
    require_manager(uow, acting_id)
    training = _locked_training(uow, training_id)
    synced = training.zoom_meeting_id is not None or training.zoom_sync_state is not None
    if "theme" in data and data["theme"] != training.theme and synced:
        raise Conflict("the title is managed in Zoom: rename the meeting there and the training follows")
    if "meeting_type" in data and data["meeting_type"] != training.meeting_type:
        raise Conflict("a meeting cannot become a webinar, nor a webinar a meeting")
    if training.status == "cancelled":
        raise Conflict(f"training {training_id} is cancelled")
    if any(name in data for name in TWO_WAY_FIELDS):
        merged = {name: data.get(name, getattr(training, name)) for name in TWO_WAY_FIELDS}
        _check_one_day(merged["start_time"], merged["duration"], merged["timezone"])
    if data.get("max_participants") is not None:
        registered = registered_count(uow, training.id)
        if data["max_participants"] < registered:
            raise Conflict(
                f"{registered} people are registered for training {training_id}: "
                f"max participants cannot go below that (remove registrants first)"
            )
    before = {name: getattr(training, name) for name in NOTIFIED_FIELDS}
    old_organizer = training.organizer_id
    if "organizer_id" in data:
        _change_organizer(uow, training, data["organizer_id"], follow_ups)
    stamp = lms_stamp()
    stamps = dict(training.field_stamps or {})
    changed = {}
    for name in TWO_WAY_FIELDS:
        if name in data and data[name] != getattr(training, name):
            setattr(training, name, data[name])
            stamps[name] = stamp
            changed[name] = data[name].isoformat() if isinstance(data[name], datetime) else data[name]
            uow.session.add(
                FieldChange(
                    training_id=training.id,
                    field=name,
                    value={"v": changed[name]},
                    source="lms",
                    stamp_ms=stamp[0],
                    outcome="applied",
                )
            )
    training.field_stamps = stamps
    if training.zoom_meeting_id is not None and changed.keys() & {"start_time", "timezone"}:
        follow_ups.recompute_trainings.append(training.id)  # another day: other runs may be the training
    for name in ("description", "max_participants", "min_attendance_percent", "theme"):
        if name in data:
            setattr(training, name, data[name])
    if changed and _syncs(uow, training):
        training.zoom_sync_state, training.zoom_sync_error = "pending", None
        _outbox(uow, training, "update", follow_ups, changes=changed)
    edits = {
        name: (before[name], getattr(training, name))
        for name in NOTIFIED_FIELDS
        if before[name] != getattr(training, name)
    }
    if training.organizer_id != old_organizer:
        new_name = _display_name(uow, training.organizer_id)
        _notify(uow, follow_ups, old_organizer, training, notices.unassigned(training.theme, new_name))
        _notify(uow, follow_ups, training.organizer_id, training, _assigned_notice(training))
    elif edits:
        _notify(
            uow, follow_ups, training.organizer_id, training, notices.changed(training.theme, training.timezone, edits)
        )
    uow.session.flush()
    return training


# What the organizer hears about when it changes (iSpring: "notified of any changes made to the training").
NOTIFIED_FIELDS = ("theme", *TWO_WAY_FIELDS, "description", "max_participants", "min_attendance_percent")


def _change_organizer(uow: UnitOfWork, training: Training, organizer_id: int | None, follow_ups: FollowUps) -> None:
    """iSpring: the creator may pick another organizer; in Zoom the host changes, the meeting stays the same."""
    if organizer_id is None:
        raise Invalid("a training needs an organizer", {"organizer_id": ["must be a user id"]})
    if organizer_id == training.organizer_id:
        if _syncs(uow, training) and _handover_failed(uow, training):  # e.g. their Zoom licence came since
            training.zoom_sync_state, training.zoom_sync_error = "pending", None
            _outbox(uow, training, "reassign", follow_ups)
        return
    _check_organizer(uow, organizer_id)
    if training.zoom_meeting_id is not None and training.meeting_type == "webinar":
        raise Conflict(
            "a webinar's host cannot be changed in Zoom: cancel this training and create one for the new organizer"
        )
    old_organizer, training.organizer_id = training.organizer_id, organizer_id
    if _syncs(uow, training):
        training.zoom_sync_state, training.zoom_sync_error = "pending", None
        _outbox(uow, training, "reassign", follow_ups)
        # The old organizer, if registered, was left out of Zoom's registrants as its host: register them now.
        hosted = uow.session.scalars(
            select(Registrant).where(
                Registrant.training_id == training.id,
                Registrant.user_id == old_organizer,
                Registrant.zoom_sync_state == "host",
            )
        ).first()
        if hosted is not None:
            hosted.zoom_sync_state = "pending"
            _outbox(uow, training, "register", follow_ups, registrant=hosted)


def last_handover(uow: UnitOfWork, training_id: int) -> OutboxItem | None:
    """The latest request to make the organizer the Zoom host, if the organizer ever changed."""
    return uow.session.scalars(
        select(OutboxItem)
        .where(OutboxItem.training_id == training_id, OutboxItem.kind == "reassign")
        .order_by(OutboxItem.id.desc())
        .limit(1)
    ).first()


def _handover_failed(uow: UnitOfWork, training: Training) -> bool:
    handover = last_handover(uow, training.id)
    return handover is not None and handover.status == "failed"


def _display_name(uow: UnitOfWork, user_id: int) -> str:
    user = uow.session.get(User, user_id)
    return (user.name or user.email or f"user {user_id}") if user else f"user {user_id}"


def recreate_zoom_meeting(uow: UnitOfWork, acting_id: int | None, training_id: int, follow_ups: FollowUps) -> Training:
    """The meeting went missing in Zoom (or Zoom refused to create it): make a new one; new personal links.

    Only for a training still to be held; what was recorded of the old meeting stays.
    """
    require_manager(uow, acting_id)
    training = get_training(uow, training_id)
    if training.status != "not_started":
        raise Conflict(f"training {training_id} is {training.status}: its meeting cannot be recreated")
    never_created = training.zoom_meeting_id is None and training.zoom_sync_state == "error"
    if training.sync_issue != "meeting missing in Zoom" and not never_created:
        raise Conflict(f"training {training_id} has its Zoom meeting: nothing to recreate")
    if connection_of(uow, training.academy_id) is None:
        raise Conflict(f"the academy of training {training_id} is not connected to Zoom")
    training.zoom_meeting_id = training.zoom_uuid = training.zoom_join_url = training.zoom_host_id = None
    training.zoom_confirmed, training.sync_issue = {}, None  # the new meeting is the current organizer's
    _queue_meeting(uow, training, follow_ups)
    return training


def _queue_meeting(uow: UnitOfWork, training: Training, follow_ups: FollowUps) -> None:
    """Have the push job create the training's Zoom meeting and register everyone registered so far."""
    training.zoom_sync_state, training.zoom_sync_error = "pending", None
    _outbox(uow, training, "create", follow_ups)
    registrants = uow.session.scalars(
        select(Registrant).where(Registrant.training_id == training.id, Registrant.removed_at.is_(None))
    )
    for registrant in registrants:
        registrant.zoom_registrant_id = registrant.zoom_join_url = registrant.zoom_sync_error = None
        registrant.zoom_sync_state = "pending"
        _outbox(uow, training, "register", follow_ups, registrant=registrant)
    uow.session.flush()


def initiate_training(
    uow: UnitOfWork, acting_id: int | None, training_id: int, follow_ups: FollowUps, now: datetime | None = None
) -> Training:
    """UltiPro's "Initiate event": make sure the meeting is (or is being) created in Zoom, everyone registered.

    Allowed until 15 minutes after the start, with at least one registrant and a
    connected account. Initiating again changes nothing.
    """
    require_manager(uow, acting_id)
    training = _locked_training(uow, training_id)
    now = now or utcnow()
    if training.status in ("cancelled", "completed"):
        raise Conflict(f"training {training_id} is {training.status}: it cannot be initiated")
    problem = lms_rules.initiate_problem(now, training.start_time, registered_count(uow, training_id))
    if problem:
        raise Conflict(problem)
    if connection_of(uow, training.academy_id) is None:
        raise Conflict(f"the academy of training {training_id} is not connected to Zoom: connect it first")
    if training.sync_issue == "meeting missing in Zoom" or (
        training.zoom_meeting_id is None and training.zoom_sync_state == "error"
    ):
        raise Conflict(
            f"training {training_id} has no Zoom meeting ({training.zoom_sync_error or training.sync_issue}): "
            "recreate it with POST /api/v1/trainings/<id>/zoom-meeting"
        )
    if training.zoom_meeting_id is None and training.zoom_sync_state is None:
        _queue_meeting(uow, training, follow_ups)
    if training.initiated_at is None:
        training.initiated_at = now
    uow.session.flush()
    return training


def require_organizer(uow: UnitOfWork, acting_id: int | None, training: Training) -> User:
    """iSpring: "Only the organizer can start and end a Zoom meeting"."""
    user = acting_user(uow, acting_id)
    if user.id != training.organizer_id:
        raise Forbidden(f"only the organizer of training {training.id} (user {training.organizer_id}) can do this")
    return user


def meeting_pending_reason(uow: UnitOfWork, training: Training) -> str:
    """Why a training has no Zoom meeting yet, and what would give it one."""
    if training.zoom_sync_state == "pending":
        return "it is being created in Zoom; try again in a moment"
    if training.zoom_sync_state == "error":
        return f"Zoom refused to create it ({training.zoom_sync_error})"
    if connection_of(uow, training.academy_id) is None:
        return "the academy is not connected to Zoom"
    return "initiate it first (POST /api/v1/trainings/<id>/initiate)"


def cancel_training(uow: UnitOfWork, acting_id: int | None, training_id: int, follow_ups: FollowUps) -> Training:
    """Cancel it, and delete its Zoom meeting. A training that was held stays completed."""
    require_manager(uow, acting_id)
    training = get_training(uow, training_id)
    if training.status == "completed":
        raise Conflict(f"training {training_id} was held: it cannot be cancelled")
    if training.status == "cancelled":
        return training
    training.status, training.cancelled_at = "cancelled", utcnow()
    if _syncs(uow, training):
        _outbox(uow, training, "delete", follow_ups)
    _notify(
        uow,
        follow_ups,
        training.organizer_id,
        training,
        notices.cancelled(training.theme, training.start_time, training.timezone),
    )
    uow.session.flush()
    return training


def get_training(uow: UnitOfWork, training_id: int) -> Training:
    return _get(uow, Training, training_id, "training")


def _locked_training(uow: UnitOfWork, training_id: int) -> Training:
    """The training, locked until commit: counting registrants against its capacity must not race."""
    training = uow.session.scalars(
        select(Training).where(Training.id == training_id).with_for_update().execution_options(populate_existing=True)
    ).first()
    if training is None:
        raise NotFound(f"training {training_id} not found")
    return training


def registered_count(uow: UnitOfWork, training_id: int) -> int:
    return uow.session.scalar(
        select(func.count())
        .select_from(Registrant)
        .where(Registrant.training_id == training_id, Registrant.removed_at.is_(None))
    )


def registration_limit(uow: UnitOfWork, training: Training) -> int | None:
    """The smaller of the training's max participants and its Zoom account's capacity for its type (UltiPro)."""
    connection = connection_of(uow, training.academy_id)
    capacity = None
    if connection is not None:
        capacity = connection.webinar_capacity if training.meeting_type == "webinar" else connection.meeting_capacity
    return lms_rules.registration_limit(training.max_participants, capacity)


def _self_or_manager(uow: UnitOfWork, acting_id: int | None, user_id: int) -> None:
    """A learner may register (or unregister) themselves; anyone else needs a managing role."""
    if acting_user(uow, acting_id).id != user_id:
        require_manager(uow, acting_id)


def add_registrant(
    uow: UnitOfWork, acting_id: int | None, training_id: int, user_id: int, follow_ups: FollowUps
) -> Registrant:
    """Register a user: they need an email (UltiPro), and a place (the training's and the account's limit)."""
    _self_or_manager(uow, acting_id, user_id)
    training = _locked_training(uow, training_id)
    if training.status == "cancelled":
        raise Conflict(f"training {training_id} is cancelled")
    user = uow.session.get(User, user_id)
    if user is None:
        raise Invalid("user does not exist", {"user_id": [f"user {user_id} not found"]})
    if not user.email:
        raise Invalid(
            "only users with an email address can register",
            {"user_id": [f"user {user_id} has no email address: Zoom registers people by email"]},
        )
    registrant = uow.session.scalars(
        select(Registrant).where(Registrant.training_id == training_id, Registrant.user_id == user_id)
    ).first()
    if registrant is not None and registrant.removed_at is None:
        raise Conflict(f"user {user_id} is already registered for training {training_id}")
    limit = registration_limit(uow, training)
    if lms_rules.is_full(registered_count(uow, training_id), limit):
        taken = "its one place is taken" if limit == 1 else f"all {limit} places are taken"
        raise Conflict(f"training is full: {taken}")
    if registrant is None:
        registrant = Registrant(training_id=training_id, user_id=user_id)
        uow.session.add(registrant)
    else:  # registered again after being removed
        registrant.removed_at = None
        registrant.created_at = utcnow()
    uow.session.flush()
    if _syncs(uow, training):
        registrant.zoom_sync_state = "pending"
        _outbox(uow, training, "register", follow_ups, registrant=registrant)
    if training.zoom_meeting_id is not None:
        follow_ups.recompute_trainings.append(training.id)
    return registrant


def remove_registrant(
    uow: UnitOfWork, acting_id: int | None, training_id: int, user_id: int, follow_ups: FollowUps
) -> Registrant:
    """Take someone off the training; their Zoom registration is cancelled by the push job."""
    _self_or_manager(uow, acting_id, user_id)
    get_training(uow, training_id)
    registrant = uow.session.scalars(
        select(Registrant).where(
            Registrant.training_id == training_id, Registrant.user_id == user_id, Registrant.removed_at.is_(None)
        )
    ).first()
    if registrant is None:
        raise NotFound(f"user {user_id} is not registered for training {training_id}")
    registrant.removed_at = utcnow()
    training = get_training(uow, training_id)
    if registrant.zoom_registrant_id or registrant.zoom_sync_state == "pending":
        registrant.zoom_sync_state = "pending"
        _outbox(uow, training, "unregister", follow_ups, registrant=registrant)
    uow.session.flush()
    return registrant


def notifications_of(uow: UnitOfWork, user_id: int) -> list[Notification]:
    """A user's notifications, newest first: the in-app list, and the record when email is off."""
    _get(uow, User, user_id, "user")
    return list(
        uow.session.scalars(
            select(Notification).where(Notification.user_id == user_id).order_by(Notification.id.desc()).limit(200)
        )
    )


def list_registrants(uow: UnitOfWork, training_id: int) -> list[tuple[Registrant, User]]:
    get_training(uow, training_id)
    return list(
        uow.session.execute(
            select(Registrant, User)
            .join(User, User.id == Registrant.user_id)
            .where(Registrant.training_id == training_id, Registrant.removed_at.is_(None))
            .order_by(Registrant.id)
        ).all()
    )


@dataclass
class AttendanceReport:
    items: list[dict]
    unmatched: list[dict]


def attendance_report(uow: UnitOfWork, training_id: int) -> AttendanceReport:
    """Every registrant (0 s if absent), every other matched user, then the guests.

    Each item says whether that person completed the training (iSpring's rule, see
    lms_rules.completion): derived here from the attendance as it stands, so it
    follows a new report or a new rule at once.
    """
    training = get_training(uow, training_id)
    rows = list(uow.session.scalars(select(Attendance).where(Attendance.training_id == training_id)))
    by_user = {row.user_id: row for row in rows if row.user_id is not None}
    final = attendance_final(training)

    def item(user_id: int, email: str | None, row: Attendance | None) -> dict:
        shown = _attendance_item(user_id, email, row)
        shown["completion"] = lms_rules.completion(
            shown["attended_seconds"], training.duration, training.min_attendance_percent, final
        )
        return shown

    items = []
    for _registrant, user in list_registrants(uow, training_id):
        items.append(item(user.id, user.email, by_user.pop(user.id, None)))
    emails = dict(uow.session.execute(select(User.id, User.email).where(User.id.in_(list(by_user)))).all())
    for user_id, row in sorted(by_user.items()):
        items.append(item(user_id, emails.get(user_id, row.email), row))
    unmatched = [
        {
            "key": row.identity_key,
            "name": row.name,
            "email": row.email or None,
            "attended_seconds": row.attended_seconds,
            "waiting_seconds": row.waiting_seconds,
        }
        for row in sorted((r for r in rows if r.user_id is None), key=lambda r: r.identity_key)
    ]
    return AttendanceReport(items=items, unmatched=unmatched)


def attendance_final(training: Training) -> bool:
    """Zoom's figures will not change: the meeting ended and its participant report was read (or never will be)."""
    if training.status == "cancelled":
        return True
    pull = training.report_pull
    return training.status == "completed" and (pull is None or pull.status != "pending")


def _attendance_item(user_id: int, email: str | None, row: Attendance | None) -> dict:
    return {
        "user_id": user_id,
        "email": email,
        "attended_seconds": row.attended_seconds if row else 0,
        "first_join_time": row.first_join_time if row else None,
        "last_leave_time": row.last_leave_time if row else None,
        "intervals": _parsed(row.intervals if row else []),
        "waiting_seconds": row.waiting_seconds if row else 0,
        "waiting_intervals": _parsed(row.waiting_intervals if row else []),
        "breakout_intervals": _parsed(row.room_intervals if row else []),
    }


def _parsed(intervals: list) -> list[dict]:
    return [{"join_time": _parse(start), "leave_time": _parse(end)} for start, end in intervals]


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def field_changes(uow: UnitOfWork, training_id: int) -> list[FieldChange]:
    """Every change of the training's two-way fields, from either side, oldest first."""
    get_training(uow, training_id)
    return list(
        uow.session.scalars(select(FieldChange).where(FieldChange.training_id == training_id).order_by(FieldChange.id))
    )


def assign_guest(
    uow: UnitOfWork, acting_id: int | None, training_id: int, guest_key: str, user_id: int, follow_ups: FollowUps
) -> None:
    """An admin says who a guest was: from the next recompute on, their time is that user's."""
    require_manager(uow, acting_id)
    training = get_training(uow, training_id)
    if not guest_key.startswith("guest:"):
        raise Invalid("only a guest can be assigned", {"guest": ["a key from the attendance report's unmatched list"]})
    try:
        _get(uow, User, user_id, "user")
    except NotFound as exc:
        raise Invalid("user does not exist", {"user_id": [exc.message]}) from exc
    existing = uow.session.scalars(
        select(AttendanceAssignment).where(
            AttendanceAssignment.training_id == training_id, AttendanceAssignment.identity_key == guest_key
        )
    ).first()
    if existing is None:
        uow.session.add(AttendanceAssignment(training_id=training_id, identity_key=guest_key, user_id=user_id))
    else:
        existing.user_id = user_id
    uow.session.flush()
    follow_ups.recompute_trainings.append(training.id)


CALENDAR_PAST = timedelta(days=90)
CALENDAR_LIMIT = 1000


def calendar_feed(uow: UnitOfWork, user_id: int, now: datetime | None = None) -> str:
    """The trainings a user organizes or is registered for, as iCalendar, with the link they join by.

    Times are read at each request, so a change in the LMS or in Zoom shows at the
    calendar's next refresh; a cancelled training stays, marked cancelled. What
    started more than CALENDAR_PAST ago is left out, and at most CALENDAR_LIMIT
    events are listed, the upcoming ones first.
    """
    user = _get(uow, User, user_id, "user")
    now = now or utcnow()
    registered = select(Registrant.training_id).where(Registrant.user_id == user_id, Registrant.removed_at.is_(None))
    mine = select(Training).where((Training.organizer_id == user_id) | Training.id.in_(registered))
    # Past the limit, what is still to come matters more than what is over.
    upcoming = list(
        uow.session.scalars(
            mine.where(Training.start_time >= now).order_by(Training.start_time, Training.id).limit(CALENDAR_LIMIT)
        )
    )
    recent = list(
        uow.session.scalars(
            mine.where(Training.start_time >= now - CALENDAR_PAST, Training.start_time < now)
            .order_by(Training.start_time.desc(), Training.id.desc())
            .limit(CALENDAR_LIMIT - len(upcoming))
        )
    )
    trainings = [*reversed(recent), *upcoming]
    joined = dict(
        uow.session.execute(
            select(Registrant.training_id, Registrant.zoom_join_url).where(
                Registrant.user_id == user_id,
                Registrant.removed_at.is_(None),
                Registrant.training_id.in_([training.id for training in trainings]),
            )
        ).all()
    )
    organizer_ids = {training.organizer_id for training in trainings}
    organizers = dict(uow.session.execute(select(User.id, User.email).where(User.id.in_(organizer_ids))).all())
    events = [
        ical.CalendarEvent(
            uid=f"training-{training.id}@zoomsync",
            sequence=training.revision,
            start=training.start_time,
            end=lms_rules.session_end(training.start_time, training.duration),
            summary=training.theme,
            join_url=joined.get(training.id) or training.zoom_join_url,
            cancelled=training.status == "cancelled",
            changed=training.updated_at,
            organizer=organizers.get(training.organizer_id),
        )
        for training in trainings
    ]
    return ical.calendar(f"Trainings of {user.name or user.email}", events, now)
