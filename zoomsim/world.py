"""The simulated Zoom: accounts, users, apps and tokens, meetings and webinars, registrants, meetings' lives.

Every change goes through a method here, and each method queues the webhook
Zoom would send for it (`take_outbox`), whoever made the change: the API, the
"web portal" of the control endpoints, or a meeting's life. Callers hold
`world.lock`. Zoom-visible failures raise `ZoomError`; misuse of the control
levers raises `SimUsageError`.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from zoomsim import errors, events, presence
from zoomsim.config import SimConfig
from zoomsim.endpoints import Endpoint
from zoomsim.errors import ZoomError
from zoomsim.ratelimit import PLANS, Limits
from zoomsim.times import epoch_ms, from_epoch, parse_start_time, zone, zoom_time

_ID_ALPHABET = string.ascii_letters + string.digits + "-_"
MEETING_TYPES = {"meeting": (1, 2, 3, 8), "webinar": (5, 6, 9)}
DEFAULT_TYPE = {"meeting": 2, "webinar": 5}
SCHEDULED_TYPES = (2, 5)
UNSCHEDULED_TYPES = (1, 4)  # instant and PMI meetings: no duration, no time zone
PAGE_TOKEN_TTL = 15 * 60
START_URL_TTL = 2 * 60 * 60
REFRESH_TOKEN_TTL = 90 * 24 * 60 * 60
APPROVED, PENDING, DENIED, CANCELLED = "approved", "pending", "denied", "cancelled"
STATUS_ACTIONS = {"approve": APPROVED, "deny": DENIED, "cancel": CANCELLED}


class SimUsageError(Exception):
    """A control request the simulator cannot carry out; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class Account:
    id: str
    plan: str
    limits: Limits
    number: int
    owner_id: str = ""


@dataclass
class User:
    id: str
    account_id: str
    email: str
    first_name: str
    last_name: str
    type: int  # 1 Basic, 2 Licensed
    pmi: int
    timezone: str
    role_name: str
    meeting_capacity: int
    webinar: bool
    webinar_capacity: int
    created_at: datetime

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass
class App:
    client_id: str
    client_secret: str
    kind: str  # "user" (authorization code) or "s2s" (account credentials)
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...] = ()
    account_id: str | None = None  # s2s only


@dataclass
class Grant:
    """One access token."""

    token: str
    client_id: str
    account_id: str
    user_id: str
    scopes: tuple[str, ...]
    expires_at: float
    kind: str
    installation: str | None = None  # user-managed apps: the authorization this token belongs to


@dataclass
class Installation:
    """A user's authorization of a user-managed app: refresh tokens rotate within it."""

    id: str
    client_id: str
    account_id: str
    user_id: str
    scopes: tuple[str, ...]
    refresh_token: str
    refresh_expires_at: float
    active: bool = True


@dataclass
class AuthCode:
    code: str
    client_id: str
    user_id: str
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass
class Registrant:
    id: str
    meeting_id: int
    email: str
    first_name: str
    last_name: str
    status: str
    join_url: str
    token: str
    create_time: datetime
    participant_pin_code: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Session:
    """One stint of one device: Zoom's report has a row for each.

    A plain join is one stint; a waiting room, a breakout room or a reconnect
    (failover) starts a new one, with its own `user_id` (zoomsim/rooms.py).
    """

    user_id: str  # Zoom's per-stint participant id
    name: str
    email: str
    participant_user_id: str  # the Zoom user id, "" when not signed in
    participant_uuid: str
    registrant_id: str
    join_time: datetime
    leave_time: datetime | None = None
    leave_reason: str = ""
    leave_lost: bool = False  # the leave webhook was never sent
    status: str = "in_meeting"  # or "in_waiting_room", as the report's rows say
    room: str = ""  # the breakout room's name (Instance.rooms holds its ids); "" in the main room
    parent_user_id: str = ""  # in a breakout room: the main-room user_id the webhooks name
    failover: bool = False  # this stint began with a reconnect of the client
    blank_ids: bool = False  # its report row shows no `id` nor `user_email`
    phone_number: str = ""  # a phone caller's number (the stint is then named by it)
    bound_participant_uuid: str = ""  # a phone caller bound to that person's computer session
    event_user_id: str = ""  # the user_id the webhooks use for this stint, when it is not its own


@dataclass
class Instance:
    uuid: str
    meeting_id: int
    start_time: datetime
    end_time: datetime | None = None
    ended_at: float | None = None  # simulator clock, for when the report appears
    sessions: list[Session] = field(default_factory=list)
    # Indexes, so a 10,000-person webinar plays in linear time.
    open_sessions: dict[str, Session] = field(default_factory=dict)
    person_uuids: dict[str, str] = field(default_factory=dict)
    practice: bool = False  # a webinar's practice session (webinar.ended says so)
    rooms: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (breakout_room_uuid, bo_mtg_id)


@dataclass
class Meeting:
    id: int
    kind: str  # "meeting" or "webinar"
    account_id: str
    host_id: str
    host_email: str
    topic: str
    type: int
    start_time: datetime
    duration: int
    timezone: str
    agenda: str
    password: str
    settings: dict[str, Any]
    created_at: datetime
    creation_source: str
    uuid: str
    join_url: str
    recurrence: dict[str, Any] | None = None
    registrants: dict[str, Registrant] = field(default_factory=dict)
    instances: list[Instance] = field(default_factory=list)
    live: Instance | None = None
    deleted: bool = False

    @property
    def status(self) -> str:
        return "started" if self.live else "waiting"

    @property
    def registration_on(self) -> bool:
        return self.settings.get("approval_type", 2) in (0, 1)


@dataclass
class Cursor:
    key: str
    offset: int
    expires_at: float


def _meeting_settings(kind: str) -> dict[str, Any]:
    base = {
        "host_video": False,
        "panelists_video" if kind == "webinar" else "participant_video": False,
        "approval_type": 2,
        "registration_type": 1,
        "audio": "voip",
        "auto_recording": "none",
        "alternative_hosts": "",
        "meeting_authentication": False,
        "registrants_confirmation_email": True,
        "registrants_email_notification": True,
        "close_registration": False,
    }
    if kind == "meeting":
        base.update(join_before_host=False, jbh_time=0, mute_upon_entry=False, use_pmi=False, waiting_room=False)
    return base


class World:
    def __init__(self, config: SimConfig, clock: Callable[[], float], rng: random.Random | None = None) -> None:
        self.config = config
        self.clock = clock
        self.rng = rng or random.Random(config.seed)
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.users: dict[str, User] = {}
        self.apps: dict[str, App] = {}
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[str, Grant] = {}
        self.installations: dict[str, Installation] = {}
        self.refresh_tokens: dict[str, str] = {}  # current refresh token -> installation id
        self.meetings: dict[int, Meeting] = {}
        self.cursors: dict[str, Cursor] = {}
        self.start_links: dict[str, tuple[int, float]] = {}
        self.registrant_links: dict[str, tuple[int, str]] = {}
        self._outbox: list[dict[str, Any]] = []
        self._session_numbers = 16778240
        self._issued = 0
        self.public_url = config.public_url
        self.authorizing_user: str | None = None  # who "clicks Allow" at /oauth/authorize; default the owner
        self._seed()

    # --- ids and time ------------------------------------------------------------------

    def _id(self, length: int = 22) -> str:
        return "".join(self.rng.choice(_ID_ALPHABET) for _ in range(length))

    def new_uuid(self) -> str:
        """A meeting instance uuid: base64 of 16 bytes, so it may hold `/`, `+` and `=`."""
        return base64.b64encode(self.rng.randbytes(16)).decode("ascii")

    def _meeting_number(self) -> int:
        while True:
            number = self.rng.randint(81_000_000_000, 99_999_999_999)
            if number not in self.meetings:
                return number

    def _token(self, kind: str, claims: dict[str, Any]) -> str:
        """A JWT-shaped token as long as Zoom's (several hundred characters), so storage is tested honestly."""

        def part(value: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

        header = part({"alg": "HS512", "v": "2.0", "kid": self._id(36)})
        body = part(
            {"ver": 10, "auid": secrets.token_hex(32), "tid": kind, "nonce": secrets.token_urlsafe(96), **claims}
        )
        return f"{header}.{body}.{secrets.token_urlsafe(64)}"

    def now(self) -> datetime:
        return from_epoch(self.clock())

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _purge_expired(self) -> None:
        """Every 500 new tokens or links, forget those past their time: a long run stays small."""
        self._issued += 1
        if self._issued % 500:
            return
        now = self.clock()
        self.codes = {k: v for k, v in self.codes.items() if v.expires_at > now and not v.used}
        self.grants = {k: v for k, v in self.grants.items() if v.expires_at > now}
        self.cursors = {k: v for k, v in self.cursors.items() if v.expires_at > now}
        self.start_links = {k: v for k, v in self.start_links.items() if v[1] > now}

    def emit(self, body: dict[str, Any]) -> None:
        self._outbox.append(body)

    def take_outbox(self) -> list[dict[str, Any]]:
        batch, self._outbox = self._outbox, []
        return batch

    # --- accounts, users, apps -----------------------------------------------------------

    def _seed(self) -> None:
        cfg = self.config
        account = self.add_account(cfg.account_id, cfg.plan)
        owner = self.add_user(
            account.id,
            cfg.host_email,
            first_name="Harper",
            last_name="Host",
            timezone=cfg.host_timezone,
            role_name="Owner",
            meeting_capacity=cfg.meeting_capacity,
            webinar=cfg.webinar,
            webinar_capacity=cfg.webinar_capacity,
        )
        account.owner_id = owner.id
        self.add_user(account.id, "basic@zoomsim.example", type=1, first_name="Bailey", last_name="Basic")
        self.apps[cfg.client_id] = App(cfg.client_id, cfg.client_secret, "user", cfg.scopes, cfg.redirect_uris)
        self.apps[cfg.s2s_client_id] = App(
            cfg.s2s_client_id, cfg.s2s_client_secret, "s2s", cfg.scopes, account_id=account.id
        )

    def add_account(self, account_id: str | None = None, plan: str = "pro", **limits: int) -> Account:
        if plan not in PLANS:
            raise SimUsageError(f"plan must be one of {', '.join(PLANS)}")
        account_id = account_id or self._id()
        if account_id in self.accounts:
            raise SimUsageError(f"account {account_id} exists", 409)
        account = Account(account_id, plan, PLANS[plan].with_overrides(**limits), self.rng.randint(10**7, 10**8 - 1))
        self.accounts[account_id] = account
        return account

    def add_user(
        self,
        account_id: str,
        email: str,
        *,
        type: int = 2,
        first_name: str = "Zoom",
        last_name: str = "User",
        timezone: str = "UTC",
        role_name: str = "Member",
        meeting_capacity: int = 300,
        webinar: bool = False,
        webinar_capacity: int = 0,
        user_id: str | None = None,
    ) -> User:
        if account_id not in self.accounts:
            raise SimUsageError(f"no account {account_id}", 404)
        if type not in (1, 2):
            raise SimUsageError("type must be 1 (Basic) or 2 (Licensed)")
        if self.user_by_email(email) is not None:
            raise SimUsageError(f"a user with email {email} exists", 409)
        if zone(timezone) is None:
            raise SimUsageError(f"unknown time zone {timezone}")
        user = User(
            id=user_id or self._id(),
            account_id=account_id,
            email=email,
            first_name=first_name,
            last_name=last_name,
            type=type,
            pmi=self.rng.randint(10**9, 10**10 - 1),
            timezone=timezone,
            role_name=role_name,
            meeting_capacity=meeting_capacity if type == 2 else 100,
            webinar=webinar and type == 2,
            webinar_capacity=webinar_capacity if webinar and type == 2 else 0,
            created_at=self.now(),
        )
        self.users[user.id] = user
        if not self.accounts[account_id].owner_id:
            self.accounts[account_id].owner_id = user.id
        return user

    def user_by_email(self, email: str) -> User | None:
        wanted = email.lower()
        return next((u for u in self.users.values() if u.email.lower() == wanted), None)

    def _account_user(self, account_id: str, ref: str) -> User:
        wanted = ref.lower()
        for user in self.users.values():
            if user.account_id == account_id and (user.id == ref or user.email.lower() == wanted):
                return user
        raise errors.user_not_found(ref)

    def user_for(self, ref: str, grant: Grant) -> User:
        """`me`, a user id or an email, within the token's account."""
        if ref == "me":
            return self.users[grant.user_id]
        return self._account_user(grant.account_id, ref)

    def require_reach(self, grant: Grant, endpoint: Endpoint, user_id: str) -> None:
        """A user-level token acts for its own user only; acting for others takes an admin scope."""
        if user_id != grant.user_id and not set(endpoint.admin_scopes()) & set(grant.scopes):
            raise errors.no_permission()

    def operator(self, grant: Grant) -> tuple[str, str]:
        user = self.users[grant.user_id]
        return user.email, user.id

    # --- OAuth -------------------------------------------------------------------------

    def issue_code(self, app: App, user_id: str, redirect_uri: str) -> str:
        code = self._id(32)
        self._purge_expired()
        self.codes[code] = AuthCode(code, app.client_id, user_id, redirect_uri, self.clock() + self.config.code_ttl)
        return code

    def _access(self, app: App, user: User, scopes: tuple[str, ...], installation: str | None) -> Grant:
        token = self._token("access", {"aid": user.account_id, "uid": user.id, "cid": app.client_id})
        grant = Grant(
            token=token,
            client_id=app.client_id,
            account_id=user.account_id,
            user_id=user.id,
            scopes=scopes,
            expires_at=self.clock() + self.config.token_ttl,
            kind=app.kind,
            installation=installation,
        )
        self._purge_expired()
        self.grants[token] = grant
        return grant

    def _token_answer(self, grant: Grant, refresh_token: str | None) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "access_token": grant.token,
            "token_type": "bearer",
        }
        if refresh_token:
            answer["refresh_token"] = refresh_token
        answer.update(
            expires_in=self.config.token_ttl,
            scope=" ".join(grant.scopes),
            api_url=self.public_url or "https://api.zoom.us",
        )
        return answer

    def _new_refresh(self, installation: Installation) -> str:
        self.refresh_tokens.pop(installation.refresh_token, None)
        installation.refresh_token = self._token("refresh", {"iid": installation.id})
        installation.refresh_expires_at = self.clock() + REFRESH_TOKEN_TTL
        self.refresh_tokens[installation.refresh_token] = installation.id
        return installation.refresh_token

    def token_from_code(self, app: App, code: str, redirect_uri: str) -> dict[str, Any]:
        entry = self.codes.get(code)
        if entry is None or entry.used or entry.client_id != app.client_id or entry.expires_at < self.clock():
            raise OAuthError(400, "invalid_request", "Invalid authorization code " + code[:6] + "...")
        if entry.redirect_uri != redirect_uri:
            raise OAuthError(400, "invalid_request", "Redirect URI mismatch.")
        entry.used = True
        user = self.users[entry.user_id]
        installation = next(
            (
                i
                for i in self.installations.values()
                if i.client_id == app.client_id and i.user_id == user.id and i.active
            ),
            None,
        )
        if installation is None:
            installation = Installation(self._id(), app.client_id, user.account_id, user.id, app.scopes, "", 0.0)
            self.installations[installation.id] = installation
        grant = self._access(app, user, installation.scopes, installation.id)
        return self._token_answer(grant, self._new_refresh(installation))

    def token_from_refresh(self, app: App, refresh_token: str) -> dict[str, Any]:
        installation = self.installations.get(self.refresh_tokens.get(refresh_token, ""))
        if (
            installation is None
            or not installation.active
            or installation.client_id != app.client_id
            or installation.refresh_expires_at < self.clock()
        ):
            raise OAuthError(400, "invalid_request", "Invalid Token!")
        grant = self._access(app, self.users[installation.user_id], installation.scopes, installation.id)
        return self._token_answer(grant, self._new_refresh(installation))

    def token_for_account(self, app: App, account_id: str) -> dict[str, Any]:
        if app.kind != "s2s":
            raise OAuthError(400, "unsupported_grant_type", "Unsupported grant type")
        if account_id != app.account_id:
            raise OAuthError(400, "invalid_request", "Invalid account_id.")
        owner = self.users[self.accounts[account_id].owner_id]
        return self._token_answer(self._access(app, owner, app.scopes, None), None)

    def revoke(self, app: App, token: str) -> None:
        """Revoking a user-managed app's token ends that authorization: every token of it dies."""
        grant = self.grants.get(token)
        installation = self.installations.get(self.refresh_tokens.get(token, ""))
        if grant is not None and grant.client_id == app.client_id:
            installation = installation or self.installations.get(grant.installation or "")
            self.grants.pop(token, None)
        if installation is not None and installation.client_id == app.client_id:
            self._end_installation(installation)
        elif grant is None or grant.client_id != app.client_id:
            raise OAuthError(400, "invalid_request", "Invalid Token!")

    def _end_installation(self, installation: Installation) -> None:
        installation.active = False
        self.refresh_tokens.pop(installation.refresh_token, None)
        for token in [t for t, g in self.grants.items() if g.installation == installation.id]:
            del self.grants[token]

    def deauthorize(self, client_id: str, user_id: str) -> Installation:
        """The user removed the app in Zoom's Marketplace: tokens die and `app_deauthorized` is sent."""
        installation = next(
            (i for i in self.installations.values() if i.client_id == client_id and i.user_id == user_id and i.active),
            None,
        )
        if installation is None:
            raise SimUsageError(f"user {user_id} has not authorized app {client_id}", 404)
        self._end_installation(installation)
        when = self.now()
        signature = secrets.token_hex(32)  # Zoom's field; its algorithm is not documented
        body = events.app_deauthorized(
            installation.account_id, user_id, client_id, signature, zoom_time(when), epoch_ms(when)
        )
        self.emit(body)
        return installation

    def authenticate(self, authorization: str | None) -> Grant:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise errors.invalid_token()
        grant = self.grants.get(authorization[7:].strip())
        if grant is None:
            raise errors.invalid_token()
        if grant.expires_at <= self.clock():
            raise errors.expired_token()
        return grant

    def expire_tokens(self) -> int:
        """Every access token expires now (refresh tokens stay valid)."""
        now = self.clock()
        for grant in self.grants.values():
            grant.expires_at = min(grant.expires_at, now)
        return len(self.grants)

    # --- meetings and webinars -----------------------------------------------------------

    def create_meeting(
        self, kind: str, host: User, body: dict[str, Any], operator: tuple[str, str], source: str = "open_api"
    ) -> Meeting:
        if kind == "webinar" and not host.webinar:
            raise ZoomError(
                400,
                200,
                "Webinar plan is missing. You must subscribe to the webinar plan and enable webinars for user "
                f"{host.id} in order to perform this action.",
            )
        meeting_type = body.get("type", DEFAULT_TYPE[kind])
        if source == "open_api" and meeting_type not in MEETING_TYPES[kind]:
            raise errors.invalid_field("type")
        settings = _meeting_settings(kind)
        settings.update(_settings_of(body))
        timezone = body.get("timezone") or host.timezone
        if zone(timezone) is None:
            raise errors.invalid_field("timezone", f"Invalid timezone: {timezone}.")
        start = self.now().replace(microsecond=0)
        if body.get("start_time") is not None:
            parsed = parse_start_time(body["start_time"], timezone)
            if parsed is None:
                raise errors.invalid_field("start_time")
            start = parsed
        topic = body.get("topic") if body.get("topic") is not None else f"{host.display_name}'s Zoom Meeting"
        _check_schedule(topic, body.get("duration", 60))
        duration = body.get("duration", 60)
        if meeting_type in UNSCHEDULED_TYPES:
            duration, timezone = 0, ""  # what Zoom shows for instant and PMI meetings
        number = host.pmi if settings.get("use_pmi") else self._meeting_number()
        if number in self.meetings and not self.meetings[number].deleted:
            raise ZoomError(400, 3000, "A meeting with this PMI is already scheduled.")
        password = body.get("password") or f"{self.rng.randint(0, 999999):06d}"
        meeting = Meeting(
            id=number,
            kind=kind,
            account_id=host.account_id,
            host_id=host.id,
            host_email=host.email,
            topic=topic,
            type=meeting_type,
            start_time=start,
            duration=duration,
            timezone=timezone,
            agenda=body.get("agenda", ""),
            password=password,
            settings=settings,
            created_at=self.now().replace(microsecond=0),
            creation_source=source,
            uuid=self.new_uuid(),
            join_url="",
            recurrence=body.get("recurrence"),
        )
        meeting.join_url = f"{self._links()}/j/{number}?pwd={self._id(32)}"
        self.meetings[number] = meeting
        self.emit(events.created(meeting, operator, self.now_ms()))
        return meeting

    def _links(self) -> str:
        return (self.public_url or "https://zoom.us").rstrip("/")

    def meeting(self, kind: str, meeting_id: str, account_id: str) -> Meeting:
        """A live (not deleted) meeting or webinar of this account, by its number."""
        meeting = self.meetings.get(int(meeting_id)) if str(meeting_id).isdigit() else None
        if meeting is None or meeting.deleted or meeting.kind != kind or meeting.account_id != account_id:
            raise errors.meeting_not_found(meeting_id, kind)
        return meeting

    def start_url(self, meeting: Meeting) -> str:
        """Zoom's start links carry a host token that expires (two hours); each read makes a fresh one."""
        zak = self._token("zak", {"mn": meeting.id})[:120]
        self._purge_expired()
        self.start_links[zak] = (meeting.id, self.clock() + START_URL_TTL)
        return f"{self._links()}/s/{meeting.id}?zak={zak}"

    def meeting_view(self, meeting: Meeting) -> dict[str, Any]:
        view: dict[str, Any] = {
            "uuid": meeting.uuid,
            "id": meeting.id,
            "host_id": meeting.host_id,
            "host_email": meeting.host_email,
            "topic": meeting.topic,
            "type": meeting.type,
        }
        if meeting.kind == "meeting":
            view["status"] = meeting.status
        view.update(
            start_time=zoom_time(meeting.start_time),
            duration=meeting.duration,
            timezone=meeting.timezone,
            agenda=meeting.agenda,
            created_at=zoom_time(meeting.created_at),
            start_url=self.start_url(meeting),
            join_url=meeting.join_url,
            password=meeting.password,
        )
        if meeting.registration_on:
            view["registration_url"] = f"{self._links()}/{meeting.kind}/register/{meeting.id}"
        if meeting.recurrence:
            view["recurrence"] = meeting.recurrence
        view["settings"] = dict(meeting.settings)
        view["creation_source"] = meeting.creation_source
        if meeting.kind == "meeting":
            view["pre_schedule"] = False
        return view

    def meeting_summary(self, meeting: Meeting) -> dict[str, Any]:
        """A row of `GET /users/{userId}/meetings`."""
        return {
            "uuid": meeting.uuid,
            "id": meeting.id,
            "host_id": meeting.host_id,
            "topic": meeting.topic,
            "type": meeting.type,
            "start_time": zoom_time(meeting.start_time),
            "duration": meeting.duration,
            "timezone": meeting.timezone,
            "agenda": meeting.agenda,
            "created_at": zoom_time(meeting.created_at),
            "join_url": meeting.join_url,
        }

    def hosted_by(self, user: User, kind: str) -> list[Meeting]:
        return sorted(
            (m for m in self.meetings.values() if m.host_id == user.id and m.kind == kind and not m.deleted),
            key=lambda m: (m.start_time, m.id),
        )

    def update_meeting(
        self, meeting: Meeting, body: dict[str, Any], operator: tuple[str, str], *, from_portal: bool = False
    ) -> dict[str, Any]:
        """Apply a PATCH; emits `*.updated` with only what changed. Returns the changed fields."""
        new: dict[str, Any] = {}
        old: dict[str, Any] = {}

        def change(name: str, value: Any, current: Any) -> None:
            if value != current:
                new[name], old[name] = value, current

        timezone = body.get("timezone", meeting.timezone)
        if "timezone" in body and zone(timezone) is None:
            raise errors.invalid_field("timezone", f"Invalid timezone: {timezone}.")
        if "type" in body and not from_portal and body["type"] not in MEETING_TYPES[meeting.kind]:
            raise errors.invalid_field("type")
        start = meeting.start_time
        if body.get("start_time") is not None:
            start = parse_start_time(body["start_time"], timezone)
            if start is None:
                raise errors.invalid_field("start_time")
        _check_schedule(body.get("topic", meeting.topic), body.get("duration", meeting.duration))
        host = None
        if body.get("schedule_for"):  # a new host, within the account: the meeting, its links and passcode stay
            host = self._account_user(meeting.account_id, str(body["schedule_for"]))
            change("host_id", host.id, meeting.host_id)
        for name in ("topic", "type", "duration", "agenda", "password", "recurrence"):
            if name in body:
                change(name, body[name], getattr(meeting, name))
        change("start_time", zoom_time(start), zoom_time(meeting.start_time))
        change("timezone", timezone, meeting.timezone)
        settings_new, settings_old = {}, {}
        for key, value in _settings_of(body).items():
            if meeting.settings.get(key) != value:
                settings_new[key], settings_old[key] = value, meeting.settings.get(key)
        if settings_new:
            new["settings"], old["settings"] = settings_new, settings_old
        if not new:
            return {}
        for name in ("topic", "type", "duration", "agenda", "password", "recurrence", "timezone"):
            if name in new:
                setattr(meeting, name, new[name])
        if host is not None:
            meeting.host_id, meeting.host_email = host.id, host.email
        meeting.start_time = start
        meeting.settings.update(settings_new)
        stamp = self.now_ms()
        self.emit(events.updated(meeting, operator, new, old, stamp, stamp))
        return new

    def delete_meeting(self, meeting: Meeting, operator: tuple[str, str]) -> None:
        """Zoom moves a deleted meeting to the trash: gone from the API until recovered."""
        if meeting.live:
            self.end(meeting)
        meeting.deleted = True
        self.emit(events.deleted(meeting, operator, self.now_ms()))

    def recover_meeting(self, kind: str, meeting_id: str, account_id: str, operator: tuple[str, str]) -> Meeting:
        meeting = self.meetings.get(int(meeting_id)) if str(meeting_id).isdigit() else None
        if meeting is None or meeting.kind != kind or meeting.account_id != account_id:
            raise errors.meeting_not_found(meeting_id, kind)
        if meeting.deleted:
            meeting.deleted = False
            self.emit(events.deleted(meeting, operator, self.now_ms(), action="recovered"))
        return meeting

    # --- registrants -----------------------------------------------------------------------

    def _capacity(self, meeting: Meeting) -> int:
        host = self.users[meeting.host_id]
        return host.webinar_capacity if meeting.kind == "webinar" else host.meeting_capacity

    def _hosts(self, meeting: Meeting) -> set[str]:
        alternates = str(meeting.settings.get("alternative_hosts") or "")
        return {meeting.host_email.lower()} | {a.strip().lower() for a in alternates.replace(",", ";").split(";") if a}

    def register(
        self, meeting: Meeting, body: dict[str, Any], operator: tuple[str, str] | None = None
    ) -> tuple[Registrant, bool]:
        """Register one person; the same email again answers the registration it already has."""
        if not meeting.registration_on:
            if meeting.kind == "webinar":
                raise ZoomError(400, 3000, f"This webinar does not have registration as required: {meeting.id}.")
            raise ZoomError(400, 3000, f"Registration has not been enabled for this meeting: {meeting.id}.")
        email = str(body.get("email") or "").strip()
        first_name = str(body.get("first_name") or "").strip()
        if not email or "@" not in email:
            raise errors.invalid_field("email")
        if not first_name:
            raise errors.invalid_field("first_name")
        if email.lower() in self._hosts(meeting):
            raise ZoomError(400, 3027, "Host cannot register.")
        existing = self.registrant_by_email(meeting, email)
        if existing is not None and existing.status in (APPROVED, PENDING):
            return existing, False
        active = sum(1 for r in meeting.registrants.values() if r.status in (APPROVED, PENDING))
        if active >= self._capacity(meeting):
            raise ZoomError(400, 3043, "Meeting has reached maximum attendee capacity.")
        auto = body.get("auto_approve")
        status = APPROVED if auto or meeting.settings.get("approval_type") == 0 else PENDING
        extra = {k: v for k, v in body.items() if k not in ("email", "first_name", "last_name", "auto_approve")}
        if existing is not None:
            registrant = existing
            registrant.status = status
            registrant.first_name, registrant.last_name = first_name, str(body.get("last_name") or "")
        else:
            token = self._id(40)
            registrant = Registrant(
                id=self._id(),
                meeting_id=meeting.id,
                email=email,
                first_name=first_name,
                last_name=str(body.get("last_name") or ""),
                status=status,
                join_url=f"{self._links()}/w/{meeting.id}?tk={token}",
                token=token,
                create_time=self.now().replace(microsecond=0),
                participant_pin_code=self.rng.randint(100000, 999999),
                extra=extra,
            )
            meeting.registrants[registrant.id] = registrant
            self.registrant_links[token] = (meeting.id, registrant.id)
        self.emit(events.registration(meeting, registrant, "created", self.now_ms(), operator))
        return registrant, True

    @staticmethod
    def registrant_by_email(meeting: Meeting, email: str) -> Registrant | None:
        wanted = email.lower()
        return next((r for r in meeting.registrants.values() if r.email.lower() == wanted), None)

    def registrant_answer(self, meeting: Meeting, registrant: Registrant) -> dict[str, Any]:
        """The 201 of `POST .../registrants`."""
        return {
            "id": meeting.id,
            "join_url": registrant.join_url,
            "registrant_id": registrant.id,
            "start_time": zoom_time(meeting.start_time),
            "topic": meeting.topic,
            "occurrences": [],
            "participant_pin_code": registrant.participant_pin_code,
        }

    def registrant_view(self, registrant: Registrant) -> dict[str, Any]:
        return {
            "id": registrant.id,
            "email": registrant.email,
            "first_name": registrant.first_name,
            "last_name": registrant.last_name,
            **{k: v for k, v in registrant.extra.items() if isinstance(v, str)},
            "status": registrant.status,
            "create_time": zoom_time(registrant.create_time),
            "join_url": registrant.join_url,
            "participant_pin_code": registrant.participant_pin_code,
        }

    def registrants(self, meeting: Meeting, status: str) -> list[Registrant]:
        return [r for r in meeting.registrants.values() if r.status == status]

    def status_changes(self, meeting: Meeting, action: str, refs: list[dict[str, Any]]) -> list[Registrant]:
        """The registrants `refs` names (by id, else email) whose status `action` would change."""
        target = STATUS_ACTIONS[action]
        found = []
        for ref in refs:
            registrant = meeting.registrants.get(str(ref.get("id") or ""))
            if registrant is None and ref.get("email"):
                registrant = self.registrant_by_email(meeting, str(ref["email"]))
            if registrant is not None and registrant.status != target and registrant not in found:
                found.append(registrant)
        return found

    def set_registrant_status(
        self, meeting: Meeting, action: str, refs: list[dict[str, Any]], operator: tuple[str, str]
    ) -> None:
        target = STATUS_ACTIONS[action]
        for registrant in self.status_changes(meeting, action, refs):
            registrant.status = target
            event = {APPROVED: "approved", DENIED: "denied", CANCELLED: "cancelled"}[target]
            self.emit(events.registration(meeting, registrant, event, self.now_ms(), operator))

    def delete_registrant(self, meeting: Meeting, registrant_id: str, operator: tuple[str, str]) -> None:
        registrant = meeting.registrants.pop(registrant_id, None)
        if registrant is None:
            raise ZoomError(404, 3079, f"Registrant does not exist: {registrant_id}.")
        self.registrant_links.pop(registrant.token, None)
        if registrant.status in (APPROVED, PENDING):
            self.emit(events.registration(meeting, registrant, "cancelled", self.now_ms(), operator))

    # --- a meeting's life --------------------------------------------------------------------

    def start(
        self, meeting: Meeting, at: datetime | None = None, uuid: str | None = None, practice: bool = False
    ) -> Instance:
        if meeting.live:
            raise SimUsageError(f"{meeting.kind} {meeting.id} is already started", 409)
        if practice and meeting.kind != "webinar":
            raise SimUsageError("practice: only a webinar has practice sessions")
        if uuid:
            meeting.uuid = uuid
        instance = Instance(meeting.uuid, meeting.id, (at or self.now()).replace(microsecond=0), practice=practice)
        meeting.live = instance
        meeting.instances.append(instance)
        self.emit(events.started(meeting, instance, epoch_ms(instance.start_time)))
        return instance

    def _live(self, meeting: Meeting) -> Instance:
        if meeting.live is None:
            raise SimUsageError(f"{meeting.kind} {meeting.id} is not started", 409)
        return meeting.live

    def join(
        self,
        meeting: Meeting,
        name: str,
        email: str = "",
        at: datetime | None = None,
        registrant_id: str = "",
        participant_user_id: str = "",
        participant_uuid: str = "",
        *,
        announce: bool = True,
        **stint: Any,
    ) -> Session:
        """Someone joins the main room: a new row, open until they leave; `participant_joined` unless not `announce`.

        `stint` sets Session's other fields (failover, phone_number, event_user_id...).
        """
        instance = self._live(meeting)
        when = (at or self.now()).replace(microsecond=0)
        if when < instance.start_time:
            raise SimUsageError("a participant cannot join before the meeting started")
        if not registrant_id and email:
            match = self.registrant_by_email(meeting, email)
            registrant_id = match.id if match and match.status == APPROVED else ""
        if not participant_user_id and email:
            member = self.user_by_email(email)
            participant_user_id = member.id if member else ""
        session = Session(
            user_id=self.next_user_id(),
            name=name,
            email=email,
            participant_user_id=participant_user_id,
            participant_uuid=participant_uuid or self._person_uuid(instance, email, name),
            registrant_id=registrant_id,
            join_time=when,
            **stint,
        )
        instance.sessions.append(session)
        instance.open_sessions[session.user_id] = session
        if announce:
            self.emit(events.participant(meeting, instance, session, True, epoch_ms(when)))
        return session

    def next_user_id(self) -> str:
        """Zoom's per-stint participant `user_id`: a new one for every join, room move and reconnect."""
        self._session_numbers += 1
        return str(self._session_numbers)

    def _person_uuid(self, instance: Instance, email: str, name: str) -> str:
        """Zoom's participant_uuid is stable for a person within a meeting."""
        person = email.lower() if email else f"name:{name}"
        if person not in instance.person_uuids:
            instance.person_uuids[person] = self._id(22)
        return instance.person_uuids[person]

    def leave(
        self,
        meeting: Meeting,
        session_id: str,
        at: datetime | None = None,
        reason: str = "left the meeting",
        lose_event: bool = False,
        announce: bool = True,
    ) -> Session:
        """The row ends; `participant_left` unless the event is lost or not `announce`d (a silent room move)."""
        instance = self._live(meeting)
        session = instance.open_sessions.get(session_id)
        if session is None:
            raise SimUsageError(f"no one is in {meeting.kind} {meeting.id} with session {session_id}", 404)
        when = (at or self.now()).replace(microsecond=0)
        if when < session.join_time:
            raise SimUsageError("a participant cannot leave before joining")
        session.leave_time, session.leave_reason, session.leave_lost = when, f"{session.name} {reason}.", lose_event
        del instance.open_sessions[session_id]
        if announce and not lose_event:
            self.emit(events.participant(meeting, instance, session, False, epoch_ms(when)))
        return session

    def end(self, meeting: Meeting, at: datetime | None = None) -> Instance:
        """The host ends it: everyone still in leaves, then `*.ended`; the next start gets a new uuid."""
        instance = self._live(meeting)
        when = (at or self.now()).replace(microsecond=0)
        if when < instance.start_time:
            raise SimUsageError("a meeting cannot end before it started")
        for session in list(instance.open_sessions.values()):
            leave = max(session.join_time, when)
            self.leave(meeting, session.user_id, leave, "left the meeting.<br>Reason: Host ended the meeting")
        instance.end_time, instance.ended_at = when, self.clock()
        meeting.live = None
        meeting.uuid = self.new_uuid()
        self.emit(events.ended(meeting, instance, epoch_ms(when)))
        return instance

    # --- past meetings and reports ---------------------------------------------------------

    def past_instance(self, kind: str, ref: str, account_id: str) -> Instance:
        """An ended instance by uuid, or a meeting's latest ended instance by its number."""
        candidates = [m for m in self.meetings.values() if m.kind == kind and m.account_id == account_id]
        if ref.isdigit():
            meeting = next((m for m in candidates if m.id == int(ref)), None)
            ended = [i for i in (meeting.instances if meeting else []) if i.end_time is not None]
            if ended:
                return ended[-1]
        else:
            for meeting in candidates:
                for instance in meeting.instances:
                    if instance.uuid == ref and instance.end_time is not None:
                        return instance
        raise errors.meeting_not_found(ref, kind)

    def report_ready(self, instance: Instance) -> bool:
        return instance.ended_at is not None and self.clock() >= instance.ended_at + self.config.report_delay

    def participant_rows(self, instance: Instance, *, report: bool, include_registrant: bool) -> list[dict[str, Any]]:
        """One row per stint (join, waiting room, breakout room, reconnect); durations read 0 until settled."""
        assert instance.ended_at is not None
        settled = self.clock() >= instance.ended_at + self.config.report_delay + self.config.report_settle
        rows = []
        for session in instance.sessions:
            leave = session.leave_time or instance.end_time
            assert leave is not None
            row: dict[str, Any] = {
                "id": "" if session.blank_ids else session.participant_user_id,
                "user_id": session.user_id,
                "name": session.name,
                "user_email": "" if session.blank_ids else session.email,
                "join_time": zoom_time(session.join_time),
                "leave_time": zoom_time(leave),
                "duration": int((leave - session.join_time).total_seconds()) if settled else 0,
                "failover": session.failover,
                "status": session.status,
            }
            if report:
                bo_mtg_id = instance.rooms[session.room][1] if session.room else ""
                row.update(customer_key="", participant_user_id=session.participant_user_id, bo_mtg_id=bo_mtg_id)
            else:
                row["internal_user"] = bool(session.participant_user_id)
            if include_registrant or not report:
                row["registrant_id"] = session.registrant_id
            rows.append(row)
        return rows

    # --- pages -------------------------------------------------------------------------

    def page(self, key: str, items: list[Any], page_size: int, token: str | None) -> tuple[list[Any], str]:
        """One page of `items` and the token of the next ('' at the end).

        A token stays valid until it expires (15 minutes), so asking for the same
        page again after a lost answer works, as it does at Zoom.
        """
        offset = 0
        if token:
            cursor = self.cursors.get(token)
            if cursor is None or cursor.key != key or cursor.expires_at < self.clock():
                raise errors.invalid_page_token()
            offset = cursor.offset
        chunk = items[offset : offset + page_size]
        if offset + page_size >= len(items):
            return chunk, ""
        next_token = self._id(32)
        self._purge_expired()
        self.cursors[next_token] = Cursor(key, offset + page_size, self.clock() + PAGE_TOKEN_TTL)
        return chunk, next_token

    # --- summaries for the control endpoints ---------------------------------------------

    def attendance(self, instance: Instance) -> dict[str, int]:
        """Seconds each person was in the meeting, as Zoom counts it (zoomsim/presence.py): the simulator's answer."""
        return presence.attendance(instance)


class OAuthError(Exception):
    """An answer of Zoom's OAuth endpoints: `{"reason": ..., "error": ...}`."""

    def __init__(self, status: int, error: str, reason: str):
        super().__init__(reason)
        self.status, self.error, self.reason = status, error, reason


def _settings_of(body: dict[str, Any]) -> dict[str, Any]:
    settings = body.get("settings") or {}
    if not isinstance(settings, dict):
        raise errors.invalid_field("settings")
    return settings


def _check_schedule(topic: Any, duration: Any) -> None:
    """Checks Zoom makes whether or not the OpenAPI files are at hand to validate the request."""
    if not isinstance(topic, str) or len(topic) > 200:
        raise errors.invalid_field("topic", "Topic length cannot exceed 200 characters.")
    if not isinstance(duration, int) or isinstance(duration, bool) or not 0 <= duration <= 1440:
        raise errors.invalid_field("duration")
