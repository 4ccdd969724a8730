"""A benchmark's result: a table, its targets marked met or missed, and the checks that make it a wrong result.

Targets are what the issue asks for; a missed one is reported, never a failure
(timings on a shared 2-core machine are noisy). A failed check is a wrong
result (an event lost, a state unequal): the run exits non-zero, in CI too.
Full runs append their table to docs/benchmarks.md; quick runs write theirs
under artifacts/bench/, so the documented figures are only ever full runs.
"""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
ARTIFACTS = ROOT / "artifacts" / "bench"


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    goal: float
    at_least: bool = True  # False: the value must stay at or under the goal
    unit: str = ""

    @property
    def met(self) -> bool:
        return self.value >= self.goal if self.at_least else self.value <= self.goal

    def line(self) -> str:
        sign = "≥" if self.at_least else "≤"
        mark = "met" if self.met else "**missed**"
        return f"{self.name}: {_number(self.value)}{self.unit} (target {sign} {_number(self.goal)}{self.unit}): {mark}"


def _number(value: float) -> str:
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 10):
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


@dataclass
class Result:
    name: str  # the script's, e.g. "intake"
    title: str
    columns: list[str]
    rows: list[list[object]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # wrong results: the run fails
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def markdown(self, quick: bool) -> str:
        lines = [f"### {self.title}{' (quick)' if quick else ''}", "", _context(), ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in self.rows]
        lines.append("")
        lines += [f"- {target.line()}" for target in self.targets]
        lines += [f"- {note}" for note in self.notes]
        lines += [f"- WRONG RESULT: {problem}" for problem in self.problems]
        if not self.problems:
            lines.append("- Checks: every result was right.")
        return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    return _number(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _context() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except OSError:
        commit = ""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{when}; commit {commit or 'unknown'}; {os.cpu_count()} cores, {platform.python_implementation()} " + (
        f"{platform.python_version()}; load average before the run {load}"
    )


def record(result: Result, quick: bool) -> Path:
    """Print the table, keep it (docs for a full run, artifacts for a quick one); the file written."""
    text = result.markdown(quick)
    print(text, flush=True)
    if quick:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{result.name}.md"
        path.write_text(text)
        return path
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    with DOCS.open("a") as docs:
        docs.write("\n" + text)
    return DOCS
