"""Webhooks out: sign, deliver and retry as Zoom does, in the order a test asks for.

Zoom delivers at least once and in no promised order, waits 3 seconds for an
answer, and retries only 5xx answers and network failures: 5, then 20, then 60
minutes later (`retry_scale` compresses that for tests). It never retries 3xx or
4xx. Each attempt is signed afresh with the current time; the body bytes stay
the same. Every message and every attempt is kept for tests to read back.
"""

from __future__ import annotations

import heapq
import itertools
import random
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import requests

from zoomsim import events
from zoomsim.signing import encrypted_token, signed_headers
from zoomsim.times import from_epoch, zoom_time

RETRY_DELAYS = (5 * 60, 20 * 60, 60 * 60)
# "in_order" holds only with one delivery thread (webhook_concurrency 1, the default).
ORDERS = ("in_order", "shuffled", "reversed")


@dataclass(frozen=True)
class Message:
    id: int
    event: str
    event_ts: int | None
    body: bytes
    duplicate_of: int | None = None


def arrange(messages: list[Message], order: str, duplicates: list[Message], rng: random.Random) -> list[Message]:
    """The order a batch goes out in; each duplicate lands somewhere after its original (pure)."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}")
    sequence = list(messages)
    if order == "shuffled":
        rng.shuffle(sequence)
    elif order == "reversed":
        sequence.reverse()
    for copy in duplicates:
        first = next(i for i, m in enumerate(sequence) if m.id == copy.duplicate_of)
        sequence.insert(rng.randint(first + 1, len(sequence)), copy)
    return sequence


class Dispatcher:
    def __init__(
        self,
        targets: list[str],
        secret: str,
        verification_token: str = "",
        client_id: str = "",
        timeout: float = 3.0,
        retry_scale: float = 1.0,
        concurrency: int = 1,
        log_limit: int = 200_000,
        rng: random.Random | None = None,
    ) -> None:
        self.targets = list(targets)
        self.secret = secret
        self.verification_token = verification_token
        self.client_id = client_id
        self.timeout = timeout
        self.retry_scale = retry_scale
        self.concurrency = max(1, concurrency)
        self.order = "in_order"
        self.duplicate_share = 0.0
        self.hold = False
        self.rng = rng or random.Random()
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, Message, str, int]] = []
        self._held: list[Message] = []
        self._busy = 0
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self.messages: deque[Message] = deque(maxlen=log_limit)
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=log_limit)
        self._local = threading.local()

    # --- life -----------------------------------------------------------------------------

    def start(self) -> None:
        for n in range(self.concurrency):
            thread = threading.Thread(target=self._run, name=f"zoomsim-webhooks-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 1)

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change delivery settings; a bad value changes nothing (ValueError says which)."""
        unknown = set(settings) - {"order", "duplicate_share", "hold", "targets", "secret", "retry_scale", "seed"}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        values = {name: settings[name] for name in settings if name != "seed"}
        if values.get("order", self.order) not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}")
        try:
            share = float(values.get("duplicate_share", self.duplicate_share))
            scale = float(values.get("retry_scale", self.retry_scale))
        except (TypeError, ValueError):
            raise ValueError("duplicate_share and retry_scale must be numbers") from None
        if not 0.0 <= share <= 1.0 or scale < 0:
            raise ValueError("duplicate_share must be between 0 and 1, retry_scale not negative")
        targets = values.get("targets", self.targets)
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise ValueError("targets must be a list of URLs")
        with self._cond:
            self.order, self.duplicate_share, self.retry_scale = values.get("order", self.order), share, scale
            self.hold = bool(values.get("hold", self.hold))
            self.targets = list(targets)
            self.secret = str(values.get("secret", self.secret))
            if "seed" in settings:
                self.rng.seed(settings["seed"])
            return self.settings()

    def settings(self) -> dict[str, Any]:
        return {
            "targets": self.targets,
            "order": self.order,
            "duplicate_share": self.duplicate_share,
            "hold": self.hold,
            "retry_scale": self.retry_scale,
            "concurrency": self.concurrency,
            "held": len(self._held),
        }

    # --- sending --------------------------------------------------------------------------

    def submit(self, bodies: list[dict[str, Any]]) -> list[Message]:
        """Queue one batch of events (all a single change produced), or hold it while `hold` is on."""
        if not bodies:
            return []
        with self._cond:
            batch = [self._message(body) for body in bodies]
            if self.hold:
                self._held.extend(batch)
            else:
                self._enqueue(batch, self.order, self.duplicate_share)
            return batch

    def submit_raw(self, body: bytes, event: str = "", event_ts: int | None = None) -> Message:
        """A body exactly as given (for odd or hostile events a test wants Zoom to sign and send)."""
        with self._cond:
            message = Message(next(self._ids), event, event_ts, body)
            self.messages.append(message)
            if self.hold:
                self._held.append(message)
            else:
                self._enqueue([message], "in_order", 0.0)
            return message

    def flush(self, order: str | None = None, duplicate_share: float | None = None) -> int:
        """Send everything held, in `order`, with a share of duplicates."""
        with self._cond:
            held, self._held = self._held, []
            share = self.duplicate_share if duplicate_share is None else duplicate_share
            self._enqueue(held, order or self.order, share)
            return len(held)

    def clear(self) -> None:
        """Forget everything queued, held or logged; waits for an attempt in flight to finish first."""
        with self._cond:
            self._queue.clear()
            self._held.clear()
            deadline = time.monotonic() + self.timeout + 1
            while self._busy and time.monotonic() < deadline:
                self._cond.wait(timeout=0.05)
            self._queue.clear()  # again: the attempt that was in flight may have queued its retry
            self.messages.clear()
            self.deliveries.clear()
            self._cond.notify_all()

    def _message(self, body: dict[str, Any]) -> Message:
        message = Message(next(self._ids), str(body.get("event", "")), body.get("event_ts"), events.serialize(body))
        self.messages.append(message)
        return message

    def _enqueue(self, batch: list[Message], order: str, duplicate_share: float) -> None:
        copies = [
            Message(next(self._ids), m.event, m.event_ts, m.body, duplicate_of=m.id)
            for m in batch
            if duplicate_share and self.rng.random() < duplicate_share
        ]
        self.messages.extend(copies)
        now = time.monotonic()
        for message in arrange(batch, order, copies, self.rng):
            for target in self.targets:
                heapq.heappush(self._queue, (now, next(self._seq), message, target, 1))
        self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._queue or self._queue[0][0] > time.monotonic()):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cond.wait(timeout=wait)
                if self._stopping:
                    return
                _, _, message, target, attempt = heapq.heappop(self._queue)
                self._busy += 1
            retry = None
            try:
                retry = self._deliver(message, target, attempt)
            finally:
                with self._cond:
                    self._busy -= 1
                    if retry is not None:
                        heapq.heappush(self._queue, (retry, next(self._seq), message, target, attempt + 1))
                    self._cond.notify_all()

    def headers(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        """Signed with the real time, whatever the simulator's clock says: the receiver checks its own clock."""
        headers = signed_headers(self.secret, body, timestamp)
        if self.verification_token:
            headers["authorization"] = self.verification_token
        if self.client_id:
            headers["clientid"] = self.client_id
        return headers

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def _deliver(self, message: Message, target: str, attempt: int) -> float | None:
        """One attempt; returns when to try again, or None."""
        started = time.monotonic()
        status, error, answer = None, "", ""
        try:
            response = self._session().post(
                target,
                data=message.body,
                headers=self.headers(message.body),
                timeout=self.timeout,
                allow_redirects=False,  # Zoom treats a 3xx as the answer, and never retries it
            )
            status, answer = response.status_code, response.text[:500]
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        self.deliveries.append(
            {
                "message_id": message.id,
                "duplicate_of": message.duplicate_of,
                "event": message.event,
                "target": target,
                "attempt": attempt,
                "status": status,
                "error": error,
                "answer": answer,
                "sent_at": zoom_time(from_epoch(time.time())),
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            }
        )
        failed = status is None or status >= 500
        if failed and attempt <= len(RETRY_DELAYS):
            return time.monotonic() + RETRY_DELAYS[attempt - 1] * self.retry_scale
        return None

    # --- reading back ---------------------------------------------------------------------

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._busy

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Until nothing is queued, in flight or waiting for a retry (held events do not count)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(timeout=min(left, 0.1))
            return True

    def validate_endpoint(self, target: str) -> dict[str, Any]:
        """Zoom's endpoint.url_validation challenge, answered or not; says what was wrong."""
        plain = secrets.token_urlsafe(16)
        body = events.serialize(events.url_validation(plain, int(time.time() * 1000)))
        try:
            response = self._session().post(
                target, data=body, headers=self.headers(body), timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            return {"valid": False, "reason": f"{type(exc).__name__}: {exc}"}
        try:
            answer = response.json()
        except ValueError:
            answer = None
        expected = {"plainToken": plain, "encryptedToken": encrypted_token(self.secret, plain)}
        valid = (
            response.status_code == 200
            and isinstance(answer, dict)
            and all(answer.get(k) == v for k, v in expected.items())
        )
        reason = "" if valid else f"answered {response.status_code} {response.text[:200]!r}"
        return {"valid": valid, "status": response.status_code, "reason": reason}
