"""Fault injection, set per test: error statuses, added latency and dropped connections (pure but for the lock).

A fault applies to the next `count` matching requests (after letting `skip` of
them through), or to a `share` of them (0..1), or to every one while it is set. Every matching latency adds up, in
whatever order the faults were set; the first matching status or drop decides
the answer, and later ones are neither applied nor spent.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass
from typing import Any

KINDS = ("status", "latency", "drop")


@dataclass
class Fault:
    kind: str
    status: int = 503
    latency: float = 0.0  # seconds
    count: int | None = None
    share: float | None = None
    path: str | None = None  # a regular expression searched in the request path
    method: str | None = None
    skip: int = 0  # let this many matching requests through first ("the second page fails")

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not self.path or re.search(self.path, path) is not None

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None and not (k == "skip" and v == 0)}


@dataclass(frozen=True)
class Outcome:
    latency: float = 0.0
    status: int | None = None
    drop: bool = False

    @property
    def any(self) -> bool:
        return bool(self.latency or self.status or self.drop)


def parse_fault(spec: dict[str, Any]) -> Fault:
    """A fault from its JSON form; raises ValueError with a message for a bad one."""
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    fault = Fault(
        kind=kind,
        status=int(spec.get("status", 503)),
        latency=float(spec.get("latency", 0.0)),
        count=None if spec.get("count") is None else int(spec["count"]),
        share=None if spec.get("share") is None else float(spec["share"]),
        path=spec.get("path"),
        method=spec.get("method"),
        skip=int(spec.get("skip", 0)),
    )
    if fault.kind == "status" and not 400 <= fault.status <= 599:
        raise ValueError("status must be an HTTP error status")
    if fault.share is not None and not 0.0 <= fault.share <= 1.0:
        raise ValueError("share must be between 0 and 1")
    if fault.count is not None and fault.count < 1:
        raise ValueError("count must be at least 1")
    if fault.skip < 0:
        raise ValueError("skip must not be negative")
    if fault.path:
        try:
            re.compile(fault.path)
        except re.error as exc:
            raise ValueError(f"path is not a regular expression: {exc}") from exc
    return fault


class FaultPlan:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = rng or random.Random()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def outcome(self, method: str, path: str) -> Outcome:
        """What happens to this request; spends the counts of the faults that fire."""
        latency, status, drop = 0.0, None, False
        with self._lock:
            for fault in list(self._faults):
                if fault.kind != "latency" and (status is not None or drop):
                    continue  # the answer is decided; only latency still adds
                if fault.count is not None and fault.count <= 0:
                    self._faults.remove(fault)  # a spent (or never valid) count applies to nothing
                    continue
                if not fault.matches(method, path):
                    continue
                if fault.skip:
                    fault.skip -= 1
                    continue
                if fault.share is not None and self._rng.random() >= fault.share:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                if fault.kind == "latency":
                    latency += fault.latency
                elif fault.kind == "status":
                    status = fault.status
                else:
                    drop = True
        return Outcome(latency=latency, status=status, drop=drop)
