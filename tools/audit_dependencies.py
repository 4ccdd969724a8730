"""Known vulnerabilities in the pinned requirements (issue 7): pip-audit over both files, nothing installed.

Both files pin every package, transitive ones included, so pip-audit reads them
as they are (`--no-deps --disable-pip`): no resolution, no pip, no venv. Only a
vulnerability with a fix version fails: that one has an upgrade to make; one
without a fix is printed as a warning, as there is nothing to upgrade to yet.

Exit codes (the Makefile's `audit` and .ci/run act on them):
  0  no known vulnerability with a fix
  1  a known vulnerability has a fix: upgrade that pin
  2  the audit itself broke (an unreadable requirements file, pip-audit crashed): never skipped
  3  the vulnerability service could not be reached, or could not audit every pin
With `--skipped-file FILE`, 3 becomes 0 and its reason is written to FILE, so CI
can skip an unreachable service loudly without ever skipping a finding.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")

CLEAN, FIXABLE, BROKEN, UNREACHABLE = 0, 1, 2, 3

# pip-audit's PyPI service answers a release PyPI's JSON API does not know (404) with a skip, not an error.
NOT_ON_PYPI = "Dependency not found on PyPI"
# How a network or service failure ends pip-audit's stderr (its own message, or a traceback's last line).
_SERVICE_FAILURE = re.compile(
    r"requests\.exceptions\.\w+|urllib3\.exceptions\.\w+|ConnectionError|Timeout|ServiceError"
    r"|your network may be blocking this service"
)
_EXCEPTION_LINE = re.compile(r"^[\w.]+(Error|Exception|Timeout)\b")
# A whole run: each pinned package is one request of at most pip-audit's --timeout.
RUN_TIMEOUT_S = 600


@dataclass
class Verdict:
    code: int
    lines: list[str] = field(default_factory=list)
    reason: str | None = None  # why the audit could not be done (code 3) or broke (code 2)


def pip_audit_command(files: Sequence[Path]) -> list[str]:
    command = [sys.executable, "-m", "pip_audit", "--no-deps", "--disable-pip", "-f", "json"]
    command += ["--progress-spinner", "off", "--desc", "off", "--aliases", "on"]
    for path in files:
        command += ["-r", str(path)]
    return command


def decide(report: dict[str, Any]) -> Verdict:
    """pip-audit's JSON report → exit code and one line per finding, every finding printed either way."""
    dependencies = report.get("dependencies")
    if not isinstance(dependencies, list) or not dependencies:
        return Verdict(BROKEN, reason="pip-audit reported no dependencies: nothing was audited")
    lines: list[str] = []
    fixable = unfixable = 0
    skipped: list[dict[str, Any]] = []
    for dep in dependencies:
        if "skip_reason" in dep:
            skipped.append(dep)
            continue
        for vuln in dep.get("vulns", []):
            ids = ", ".join([vuln["id"], *[a for a in vuln.get("aliases", []) if a != vuln["id"]]])
            where = f"{dep['name']}=={dep.get('version', '?')}"
            if vuln.get("fix_versions"):
                fixable += 1
                lines.append(f"VULNERABLE {where}: {ids}; fixed in {', '.join(vuln['fix_versions'])}")
            else:
                unfixable += 1
                lines.append(f"WARNING {where}: {ids}; no fix version yet")
    if skipped and all(str(dep["skip_reason"]).startswith(NOT_ON_PYPI) for dep in skipped):
        names = ", ".join(dep["name"] for dep in skipped)
        lines.append(f"WARNING not audited, PyPI's JSON API does not know these releases: {names}")
    else:
        lines += [f"WARNING not audited: {dep['name']}: {dep['skip_reason']}" for dep in skipped]
    audited = len(dependencies) - len(skipped)
    lines.append(
        f"audited {audited} of {len(dependencies)} pinned packages: "
        f"{fixable} known vulnerabilities with a fix, {unfixable} without one"
    )
    if fixable:
        return Verdict(FIXABLE, lines)
    if skipped:
        return Verdict(UNREACHABLE, lines, _why_skipped(skipped, len(dependencies)))
    return Verdict(CLEAN, lines)


def _why_skipped(skipped: list[dict[str, Any]], total: int) -> str:
    if len(skipped) == total and all(str(d["skip_reason"]).startswith(NOT_ON_PYPI) for d in skipped):
        return (
            f"PyPI's JSON API answered 404 for all {total} pinned releases "
            "(https://pypi.org/pypi/<name>/<version>/json), so nothing was audited"
        )
    first = f"{skipped[0]['name']}: {skipped[0]['skip_reason']}"
    return f"{len(skipped)} of {total} pinned packages could not be audited (first: {first})"


def evaluate(returncode: int, stdout: str, stderr: str) -> Verdict:
    """A pip-audit run → verdict: its JSON report when it wrote one, else why it wrote none."""
    try:
        report = json.loads(stdout)
    except ValueError:
        report = None
    if isinstance(report, dict):
        return decide(report)
    last = _last_line(stderr) or f"pip-audit exited {returncode} and wrote no report"
    if _SERVICE_FAILURE.search(stderr):
        return Verdict(UNREACHABLE, reason=f"the vulnerability service could not be reached: {last}")
    return Verdict(BROKEN, reason=f"pip-audit failed (exit {returncode}): {last}")


def _last_line(text: str, limit: int = 400) -> str:
    """pip-audit's last error (its `ERROR:` line or a traceback's exception), else its last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:") or _EXCEPTION_LINE.match(line)]
    found = errors[-1] if errors else lines[-1] if lines else ""
    return found[:limit]


def run_pip_audit(command: Sequence[str]) -> tuple[int, str, str]:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return 1, "", f"ConnectionError: pip-audit still running after {RUN_TIMEOUT_S} s (Timeout)"
    return done.returncode, done.stdout, done.stderr


def main(
    argv: Sequence[str] | None = None, run: Callable[[Sequence[str]], tuple[int, str, str]] = run_pip_audit
) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", dest="files", action="append", type=Path, help="requirements file (default: both)")
    parser.add_argument("--skipped-file", type=Path, help="on exit 3: write the reason here and exit 0")
    args = parser.parse_args(argv)
    files = args.files or [ROOT / name for name in REQUIREMENTS]
    if args.skipped_file:
        args.skipped_file.unlink(missing_ok=True)

    verdict = evaluate(*run(pip_audit_command(files)))
    for line in verdict.lines:
        print(f"audit: {line}")
    if verdict.code == FIXABLE:
        print(
            "audit: FAILED: upgrade the pins above to a fixed version (docs/operations.md, 'Dependencies')",
            file=sys.stderr,
        )
    elif verdict.code == BROKEN:
        print(f"audit: BROKEN: {verdict.reason}", file=sys.stderr)
    elif verdict.code == UNREACHABLE:
        print(f"audit: NOT DONE: {verdict.reason}", file=sys.stderr)
        if args.skipped_file:
            args.skipped_file.parent.mkdir(parents=True, exist_ok=True)
            args.skipped_file.write_text(f"{verdict.reason}\n")
            return CLEAN
    return verdict.code


if __name__ == "__main__":
    sys.exit(main())
