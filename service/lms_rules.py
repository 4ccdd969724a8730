"""The LMS products' own rules that need no I/O (pure): who may act, how long a session lasts, who fits.

Sources (../shared/product): iSpring Learn "Zoom meetings" and UltiPro Learning
"Live Sessions with Zoom". The service layer asks these functions and turns a
refusal into its HTTP answer; nothing here reads a database or calls Zoom.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.lms import CREATE_MODES

# What a role may do. "view" is what iSpring asks of an organizer; "create" of whoever adds,
# edits or cancels a training and manages its registrants.
CREATE_TRAININGS = "create_trainings"
VIEW_TRAININGS = "view_trainings"
PERMISSIONS = (CREATE_TRAININGS, VIEW_TRAININGS)

STAFF = frozenset(PERMISSIONS)
BUILTIN_ROLES: dict[str, frozenset[str]] = {
    "account_owner": STAFF,
    "account_admin": STAFF,
    "department_admin": STAFF,
    "publisher": STAFF,
    "learner": frozenset(),
}
DEFAULT_ROLE = "learner"

LICENSED = 2  # Zoom user type; 1 is Basic (free), which cannot host an LMS's meetings


def role_permissions(granted: Iterable[str]) -> frozenset[str]:
    """A role's permissions; one who may create trainings may see them (and so organize one)."""
    permissions = frozenset(granted)
    return permissions | {VIEW_TRAININGS} if CREATE_TRAININGS in permissions else permissions


def may_create_trainings(permissions: Iterable[str]) -> bool:
    return CREATE_TRAININGS in set(permissions)


def may_organize(permissions: Iterable[str]) -> bool:
    return VIEW_TRAININGS in set(permissions)


def session_end(start: datetime, duration_minutes: int) -> datetime:
    """When it ends, in UTC: adding to a local time would count wall-clock minutes, not real ones."""
    return start.astimezone(UTC) + timedelta(minutes=duration_minutes)


def one_day_problem(start: datetime, duration_minutes: int, timezone: str) -> str | None:
    """UltiPro: "Live Sessions are limited to one day": it must end by midnight of its start day, locally.

    `start` is aware. Ending at midnight exactly is still the same day. Days with a
    clock change are as long as they really are (23 or 25 hours).
    """
    zone = ZoneInfo(timezone)
    local_start = start.astimezone(zone)
    # fold=0 at a gap puts a skipped midnight at the instant the clock jumps: the real start of the next day.
    next_day = datetime.combine(local_start.date() + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    end = session_end(start, duration_minutes)
    if end <= next_day:
        return None
    local_end = end.astimezone(zone)
    return (
        f"a live session lasts at most one day: starting {local_start:%Y-%m-%d %H:%M} ({timezone}) "
        f"and lasting {duration_minutes} minutes, it would end {local_end:%Y-%m-%d %H:%M}; "
        f"it must end by {next_day.astimezone(zone):%Y-%m-%d %H:%M}"
    )


# A host may open the meeting a little before its time (Zoom lets a host start whenever they like).
EARLY_START = timedelta(hours=1)


def run_is_the_training(run_start: datetime, start: datetime, timezone: str) -> bool:
    """A training is one day: a run (a Zoom instance) of its meeting is the training if it started that day.

    The day is the training's start date in its own time zone; a run started up to
    an hour before the scheduled start (a host opening the room early, even the
    evening before) counts too. A run on another day, such as a learner opening the
    link a week later, is not the training: it is shown, and counts for nothing.
    """
    try:
        zone = ZoneInfo(timezone)
    except (ValueError, OSError, ZoneInfoNotFoundError):  # "" or unknown: Zoom's own zone field may be empty
        zone = ZoneInfo("UTC")
    if run_start.astimezone(zone).date() == start.astimezone(zone).date():
        return True
    return start - EARLY_START <= run_start <= start


def registration_limit(max_participants: int | None, account_capacity: int | None) -> int | None:
    """How many may register: the smaller of the training's maximum and the account's capacity (None: no limit)."""
    limits = [n for n in (max_participants, account_capacity) if n is not None]
    return min(limits) if limits else None


def is_full(registered: int, limit: int | None) -> bool:
    return limit is not None and registered >= limit


def paid_host_problem(user_type: int | None, who: str) -> str | None:
    """iSpring: "Zoom meetings won't work with the Basic plan": the host must be a Licensed Zoom user."""
    if user_type == LICENSED:
        return None
    return (
        f"the Zoom user {who} is on a Basic (free) plan: "
        "Zoom meetings and webinars for an LMS need a paid (Licensed) Zoom user"
    )


def webinar_problem(meeting_type: str, webinar_enabled: bool) -> str | None:
    """iSpring: "To host webinars, apart from a paid plan, purchase the Webinar add-on"."""
    if meeting_type != "webinar" or webinar_enabled:
        return None
    return "the academy's Zoom account has no Webinar add-on: a webinar needs it (a meeting does not)"


# --- initiating, starting, completing -------------------------------------------------------------------------

INITIATE_GRACE = timedelta(minutes=15)  # UltiPro: "up to 15 minutes after the event start time"
CREATE_ON_SAVE, CREATE_ON_INITIATE = CREATE_MODES  # iSpring creates at save, UltiPro at initiation


def initiate_problem(now: datetime, start: datetime, registered: int) -> str | None:
    """UltiPro: initiate "at any time, and up to 15 minutes after the event start time", with a registrant."""
    latest = start.astimezone(UTC) + INITIATE_GRACE
    if now > latest:
        return (
            f"an event can be initiated up to 15 minutes after its start: it started "
            f"{start.astimezone(UTC):%Y-%m-%d %H:%M} UTC, so the last moment was {latest:%Y-%m-%d %H:%M} UTC"
        )
    return registrant_problem(registered, "initiated")


def registrant_problem(registered: int, what: str) -> str | None:
    """UltiPro: "At least one registrant is required to initiate and start an event"."""
    return None if registered > 0 else f"an event needs at least one registrant to be {what}"


COMPLETED, NOT_COMPLETED, PENDING = "completed", "not_completed", "pending"


def completion(attended_seconds: int, scheduled_minutes: int, min_percent: int | None, final: bool) -> str:
    """iSpring's Completion tab: attended at least `min_percent` of the scheduled duration (any time if empty).

    Until Zoom's figures are final (the meeting ended and its participant report
    was read, or will not be), the answer is pending.
    """
    if not final:
        return PENDING
    if min_percent is None:
        return COMPLETED if attended_seconds > 0 else NOT_COMPLETED
    needed = scheduled_minutes * 60 * min_percent / 100
    return COMPLETED if attended_seconds > 0 and attended_seconds >= needed else NOT_COMPLETED
