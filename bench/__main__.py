"""`python -m bench [--quick] [name ...]`: the benchmarks one after another (`make bench`, `make bench-quick`).

Each prints its table with the targets marked met or missed; a full run appends
it to docs/benchmarks.md. Exits non-zero when any benchmark crashed or got a
wrong result; a missed target alone never fails the run.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback

BENCHMARKS = ("intake", "intake_parts", "reconcile", "outbound", "scale_out", "report_pull")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    flags = [a for a in args if a.startswith("-")]
    chosen = [a for a in args if not a.startswith("-")] or list(BENCHMARKS)
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown or any(flag not in ("--quick",) for flag in flags):
        print(f"usage: python -m bench [--quick] [{' '.join(BENCHMARKS)}]", file=sys.stderr)
        return 2
    outcomes = {}
    for name in chosen:
        started = time.monotonic()
        print(f"=== bench.{name} {' '.join(flags)}", flush=True)
        try:
            outcomes[name] = importlib.import_module(f"bench.{name}").main(flags)
        except Exception:  # noqa: BLE001 - a crash is reported and fails the run, the others still run
            traceback.print_exc()
            outcomes[name] = 1
        print(f"=== bench.{name}: exit {outcomes[name]} after {time.monotonic() - started:.0f} s", flush=True)
    failed = [name for name, code in outcomes.items() if code]
    print("benchmarks failed: " + ", ".join(failed) if failed else "every benchmark ran and every result was right")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
