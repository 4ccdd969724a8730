"""What the benchmarks watch in the real processes: a worker's memory, and when it is ready or done."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psutil
from redis import Redis
from rq import Worker


class PeakMemory:
    """The peak RSS of a process and everything it forks (RQ's work horse), sampled ten times a second.

    `largest` is the biggest single process (the work horse doing the job); `total` sums the tree, counting
    the pages a fork shares with its parent twice, so it overstates.
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval = pid, interval
        self.largest = self.total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        sizes = []
        for process in tree:
            try:
                sizes.append(process.memory_info().rss)
            except psutil.NoSuchProcess:
                continue
        if sizes:
            self.largest = max(self.largest, max(sizes))
            self.total = max(self.total, sum(sizes))


def mib(size: int) -> float:
    return size / (1024 * 1024)


def wait_until(check: Callable[[], bool], what: str, timeout: float, interval: float = 0.05) -> float:
    """Poll `check` until it holds; the monotonic time it first held (fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def workers_registered(redis: Redis) -> int:
    """Workers that have told Redis they are listening: started and ready for jobs."""
    return len(Worker.all(connection=redis))


def attendance_difference(seen: dict[str, int], expected: dict[str, int]) -> str | None:
    """None when the LMS's seconds per person equal the simulator's; else how many differ, and a few of them."""
    differ = sorted(set(seen.items()) ^ set(expected.items()))
    if not differ:
        return None
    return f"attendance differs from the simulator's for {len(differ)} (person, seconds) pairs: {differ[:3]}"


def cpu_seconds(groups: dict[str, Callable[[psutil.Process], bool]]) -> dict[str, float]:
    """CPU time (user + system) used so far by every process of each named group, children included."""
    totals = dict.fromkeys(groups, 0.0)
    for process in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is None:
            continue
        for name, member in groups.items():
            try:
                if member(process):
                    totals[name] += times.user + times.system
                    break
            except psutil.Error:
                continue
    return totals


def in_tree(root_pid: int) -> Callable[[psutil.Process], bool]:
    """A group: the process `root_pid` and its descendants (looked up once, when called first)."""
    members: set[int] = set()

    def member(process: psutil.Process) -> bool:
        if not members:
            try:
                root = psutil.Process(root_pid)
                members.update([root_pid, *(child.pid for child in root.children(recursive=True))])
            except psutil.NoSuchProcess:
                return False
        return process.pid in members

    return member


def named(prefix: str) -> Callable[[psutil.Process], bool]:
    return lambda process: (process.info.get("name") or "").startswith(prefix)


def log_entries(processes, wanted: Callable[[dict], bool]) -> list[dict]:
    """The JSON log lines of the processes (chaos.stack.Process) that `wanted` keeps."""
    import json

    found = []
    for process in processes:
        for line in process.log_path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and wanted(entry):
                found.append(entry)
    return found


def job_milliseconds(processes, function: str) -> list[float]:
    """How long each run of the job `function` took inside its work horse, from the workers' job log lines."""
    lines = log_entries(processes, lambda e: e.get("logger") == "zoomsync.job" and e.get("job") == function)
    return sorted(e["duration_ms"] for e in lines if "duration_ms" in e)
