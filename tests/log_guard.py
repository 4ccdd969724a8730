"""Issue 7: secrets and raw payloads never appear in the service's logs, checked over a whole test run.

A handler on the root logger formats every record with the service's own
formatter (service/logs.py `JsonLines`, tracebacks included), so what is checked
is what production would write. Every line goes to artifacts/logs/test-run.jsonl
(LOG_GUARD_FILE to choose) for a reviewer to grep; at the end of the session a
line from one of the service's loggers that holds a forbidden string fails the
run, with the string's origin, the logger and the first such line.

Which loggers are checked: all but those that do not run in the service's
process in production. The simulator (`zoomsim.*`) stands in for Zoom and logs
Zoom's side, masked tokens included; `tests.*` is test code; `mail.log` is
aiosmtpd, the SMTP server that stands in for the mail relay (it logs each
envelope's addresses, as a relay does). Everything else,
the root logger, our packages and the libraries the service runs (rq,
werkzeug, sqlalchemy, urllib3...), is what production writes.
"""

from __future__ import annotations

import ast
import base64
import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import pytest

from service.logs import JsonLines

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
NOT_THE_SERVICE = ("zoomsim", "tests", "mail.log")
# Keys of the Zoom fixtures whose values are a person's: names and emails.
PERSONAL_KEYS = frozenset({"email", "user_name", "first_name", "last_name", "operator"})
MIN_PERSONAL_LENGTH = 4  # a one-letter first name ("X") would match everywhere
SHOWN_CHARS = 300


@dataclass(frozen=True)
class Forbidden:
    label: str  # what it is and where it comes from, for the failure message
    pattern: re.Pattern[str]


def literal(label: str, value: str) -> Forbidden:
    """A string, case-insensitively, as written or as JSON escapes it, not inside a longer word.

    (`x@example.org` is not in `box@example.org`.)
    """
    escaped = json.dumps(value, ensure_ascii=False)[1:-1]
    alternatives = "|".join(sorted({re.escape(value), re.escape(escaped)}))
    return Forbidden(label, re.compile(f"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])", re.IGNORECASE))


SHAPES = (
    # Zoom's OAuth tokens are JWTs (header.body.signature, each base64url of JSON); so are the simulator's.
    Forbidden(
        "an OAuth token (JWT-shaped)", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
    ),
    # Any email address is a person's here (a numeric host, as in postgres@127.0.0.1, is not an address).
    Forbidden("an email address", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    Forbidden("an x-zm-signature value (v0= and 64 hex digits)", re.compile(r"v0=[0-9a-fA-F]{64}")),
    # A webhook body: `"event_ts": 1796115600500` as JSON, escaped JSON or a Python repr.
    Forbidden("a raw Zoom payload (event_ts key)", re.compile(r"""event_ts[\\"']{1,3}\s*:\s*\d{10}""")),
    Forbidden("a raw Zoom payload (payload key)", re.compile(r"""[\\"']payload[\\"']{1,3}\s*:\s*\{""")),
)


def is_checked(logger: str) -> bool:
    return not any(logger == name or logger.startswith(name + ".") for name in NOT_THE_SERVICE)


def matches_in(line: str, forbidden: Sequence[Forbidden]) -> list[tuple[str, int]]:
    """(label, where it starts) of each forbidden string in one log line; empty: the line is clean."""
    found = ((item.label, item.pattern.search(line)) for item in forbidden)
    return [(label, match.start()) for label, match in found if match]


def leaks_in(line: str, forbidden: Sequence[Forbidden]) -> list[str]:
    return [label for label, _ in matches_in(line, forbidden)]


def shorten(line: str, at: int, limit: int = SHOWN_CHARS) -> str:
    """The line's start (time, logger) and the part around `at`, within about `limit` characters."""
    if len(line) <= limit:
        return line
    head = limit // 3
    if at < head * 2:
        return line[:limit] + "…"
    start = at - head // 2
    end = start + limit - head
    return line[:head] + " … " + line[start:end] + ("…" if end < len(line) else "")


def secrets_of_the_tests() -> list[Forbidden]:
    """The service's credentials in tests, and the simulated Zoom apps' (which the service holds too)."""
    from tests.helpers import API_TOKEN, SECRET, SECRET_KEY, TOKEN_KEY
    from zoomsim.config import SimConfig

    sim = SimConfig()
    found = [
        literal("SECRET, the webhook secret token (tests/helpers.py)", SECRET),
        literal("API_TOKEN (tests/helpers.py)", API_TOKEN),
        literal("SECRET_KEY (tests/helpers.py)", SECRET_KEY),
        literal("TOKEN_KEY, the token encryption key (tests/helpers.py)", TOKEN_KEY),
        literal("the simulator's default webhook secret (zoomsim/config.py)", sim.webhook_secret),
    ]
    for kind, client_id, secret in (
        ("OAuth app", sim.client_id, sim.client_secret),
        ("server-to-server app", sim.s2s_client_id, sim.s2s_client_secret),
    ):
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        found.append(literal(f"the {kind}'s client secret (zoomsim/config.py)", secret))
        found.append(literal(f"the {kind}'s Basic credentials (zoomsim/config.py)", basic))
    return found


def admin_passwords(tests_dir: Path = TESTS) -> list[Forbidden]:
    """Every string constant the tests assign to a name with PASSWORD in it (`USERNAME, PASSWORD = "ops", "..."`)."""
    found: dict[str, list[str]] = {}
    for path in sorted(tests_dir.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        except (SyntaxError, ValueError):  # a file being written; its collection reports it
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                pairs = [(target, node.value)]
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    pairs = list(zip(target.elts, node.value.elts, strict=False))
                for name, value in pairs:
                    if (
                        isinstance(name, ast.Name)
                        and "PASSWORD" in name.id.upper()
                        and isinstance(value, ast.Constant)
                        and isinstance(value.value, str)
                        and len(value.value) >= MIN_PERSONAL_LENGTH
                    ):
                        paths = found.setdefault(value.value, [])
                        if (where := str(path.relative_to(tests_dir.parent))) not in paths:
                            paths.append(where)
    return [literal(f"an admin password ({', '.join(paths)})", value) for value, paths in found.items()]


def fixture_personal_data(fixtures_dir: Path = TESTS / "fixtures" / "zoom") -> list[Forbidden]:
    """Names and emails in the project's own Zoom fixtures."""
    found: dict[str, str] = {}

    def walk(value: object, path: Path) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in PERSONAL_KEYS and isinstance(item, str) and len(item) >= MIN_PERSONAL_LENGTH:
                    found.setdefault(item.lower(), f"{key} in {path.name}")
                walk(item, path)
        elif isinstance(value, list):
            for item in value:
                walk(item, path)

    for path in sorted(fixtures_dir.glob("*.json")):
        walk(json.loads(path.read_text()), path)
    return [literal(f"personal data: {label}", value) for value, label in found.items()]


def default_forbidden() -> list[Forbidden]:
    return [*secrets_of_the_tests(), *admin_passwords(), *fixture_personal_data(), *SHAPES]


@dataclass
class Leak:
    label: str
    logger: str
    first_line: str
    at: int  # where in first_line the string starts
    count: int = 1


@dataclass
class Guard:
    """Every line written to `sink`; those of the service's loggers checked, the first leak of each string kept."""

    forbidden: Sequence[Forbidden]
    sink: TextIO | None = None
    recorded: int = 0
    checked: int = 0
    loggers: dict[str, int] = field(default_factory=dict)
    leaks: dict[str, Leak] = field(default_factory=dict)

    def record(self, logger: str, line: str) -> None:
        self.recorded += 1
        self.loggers[logger] = self.loggers.get(logger, 0) + 1
        if self.sink is not None:
            self.sink.write(line + "\n")
        if not is_checked(logger):
            return
        self.checked += 1
        for label, at in matches_in(line, self.forbidden):
            if label in self.leaks:
                self.leaks[label].count += 1
            else:
                self.leaks[label] = Leak(label, logger, line, at)

    def report(self) -> list[str]:
        lines = []
        for leak in self.leaks.values():
            shown = shorten(leak.first_line, leak.at)
            lines.append(f"{leak.label}: {leak.count} line(s), first from logger {leak.logger!r}: {shown}")
        return lines


def scan(lines: Iterable[tuple[str, str]], forbidden: Sequence[Forbidden]) -> list[Leak]:
    """(logger, line) pairs → the leaks among them, one per forbidden string: the guard without a session."""
    guard = Guard(forbidden)
    for logger, line in lines:
        guard.record(logger, line)
    return list(guard.leaks.values())


class _Recorder(logging.Handler):
    def __init__(self, guard: Guard) -> None:
        super().__init__(logging.NOTSET)
        self.guard = guard
        self.setFormatter(JsonLines())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception as exc:  # noqa: BLE001 - a bad record must not hide the rest; check what we can
            line = f"<unformattable record: {exc!r}> {record.msg!r} {record.args!r}"
        self.guard.record(record.name, line)


_KEY = pytest.StashKey["_State"]()


@dataclass
class _State:
    guard: Guard
    handler: _Recorder
    path: Path
    sink: TextIO
    reattached: list[str] = field(default_factory=list)
    from_workers: list[str] = field(default_factory=list)  # xdist: the workers' reports, on the controller
    worker_lines: dict[str, int] = field(default_factory=dict)  # xdist: lines each worker recorded

    def failures(self) -> list[str]:
        return [*self.guard.report(), *self.from_workers]


def _attach(handler: logging.Handler) -> bool:
    root = logging.getLogger()
    if handler in root.handlers:
        return False
    root.addHandler(handler)
    return True


def pytest_configure(config: pytest.Config) -> None:
    default = ROOT / "artifacts" / "logs" / "test-run.jsonl"
    path = Path(os.environ.get("LOG_GUARD_FILE", default))
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:  # one file per xdist worker: they would interleave in one
        path = path.with_name(f"{path.stem}-{worker}{path.suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    sink = path.open("w", encoding="utf-8")
    guard = Guard(default_forbidden(), sink)
    handler = _Recorder(guard)
    _attach(handler)
    config.stash[_KEY] = _State(guard, handler, path, sink)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Put the handler back if a test replaced the root logger's handlers (a fileConfig would)."""
    state = item.config.stash.get(_KEY, None)
    if state is not None and _attach(state.handler):
        state.reattached.append(item.nodeid)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the session fixtures' teardown (trylast), so what they log is checked too."""
    state = session.config.stash.get(_KEY, None)
    if state is None:
        return
    state.sink.flush()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: its exit status is not the run's, so tell the controller
        workeroutput["log_guard"] = {"report": state.guard.report(), "recorded": state.guard.recorded}
    if state.failures() and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """xdist's controller, as each worker ends: keep what its guard found."""
    state = node.config.stash.get(_KEY, None)
    found = (getattr(node, "workeroutput", None) or {}).get("log_guard")
    if state is None or found is None:
        return
    worker = node.gateway.id
    state.from_workers += [f"[{worker}] {line}" for line in found["report"]]
    state.worker_lines[worker] = found["recorded"]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_KEY, None)
    if state is None:
        return
    guard = state.guard
    if state.failures():
        terminalreporter.section("log guard: secrets or personal data in the service's logs", sep="=", red=True)
        for line in state.failures():
            terminalreporter.write_line(line, red=True)
    by_count = sorted(guard.loggers.items(), key=lambda kv: -kv[1])
    busiest = ", ".join(f"{name} {n}" for name, n in by_count[:12]) + (", ..." if len(by_count) > 12 else "")
    terminalreporter.write_line(
        f"log guard: {guard.recorded} log lines in {state.path} ({guard.checked} checked, "
        f"{len(guard.leaks)} forbidden strings found); by logger: {busiest or 'none'}"
    )
    if state.worker_lines:
        each = ", ".join(f"{worker} {n}" for worker, n in sorted(state.worker_lines.items()))
        terminalreporter.write_line(f"log guard: xdist workers' lines, each in {state.path.stem}-<worker>: {each}")
    if state.reattached:
        terminalreporter.write_line(f"log guard: handler re-attached before {', '.join(state.reattached[:5])}")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_KEY, None)
    if state is None:
        return
    logging.getLogger().removeHandler(state.handler)
    state.sink.close()
