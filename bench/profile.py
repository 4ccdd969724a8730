"""Where a running process's time goes, sampled by py-spy while a benchmark loads it (`--profile`).

py-spy reads the stacks of the real processes (gunicorn's workers, with
`--subprocesses`) from outside, so what is profiled is exactly what is measured,
with no code of ours in the way. Its raw output (one line per distinct stack and
its sample count) is summarised here: each function's share of the samples with
it anywhere on the stack (inclusive) and at the top (self).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def start(pid: int, seconds: float, out: Path) -> subprocess.Popen | None:
    """py-spy recording `pid` and its children for `seconds`, or None (said on stderr) where it is missing."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("py-spy is not installed (requirements-dev.txt): no profile", file=sys.stderr)
        return None
    command = [spy, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--rate", "250"]
    command += ["--duration", str(max(1, round(seconds))), "--format", "raw", "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _frames(stack: str) -> list[tuple[str, str]]:
    frames = []
    for part in stack.split(";"):
        match = _FRAME.match(part.strip())
        if match:
            frames.append((match["function"], match["file"]))
    return frames


def summarise(raw: str, top: int = 25, only: str = "") -> str:
    """Inclusive and self shares of the sampled functions; `only`: inclusive list limited to files with it."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = _frames(stack)
        if not frames:
            continue
        total += samples
        for name in {f"{function} ({file})" for function, file in frames if only in file}:
            inclusive[name] += samples
        function, file = frames[-1]
        own[f"{function} ({file})"] += samples
    if not total:
        return "no samples\n"
    lines = [f"{total} samples", "", "inclusive (on the stack):"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "self (at the top of the stack):"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines) + "\n"


def finish(spy: subprocess.Popen | None, out: Path, summary: Path, only: str = "") -> str | None:
    """Wait for the recording; the summary written beside it, or None when there is none."""
    if spy is None:
        return None
    _, errors = spy.communicate(timeout=120)
    if spy.returncode != 0 or not out.exists():
        print(f"py-spy failed ({spy.returncode}): {errors.decode(errors='replace')[-1000:]}", file=sys.stderr)
        return None
    text = summarise(out.read_text(errors="replace"), only=only)
    summary.write_text(text)
    return text
