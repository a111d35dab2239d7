"""Run the benchmarks: all six at full size (`make bench`), or some by name, or tiny (`--toy`) to check they work.

    python -m benchmarks                          # all six, full size (about 12 minutes on 2 cores)
    python -m benchmarks fanout startup           # some of them
    python -m benchmarks --toy                    # all six, tiny: checks the machinery, the figures mean nothing
    BENCH_FIXES=read-pool python -m benchmarks  # with proposed fixes patched in (benchmarks/fixes.py)

Each benchmark prints its figures, its ratio against its baseline and a `BENCH {...}` JSON line; a summary
table and a `BENCH-MACHINE {...}` line close the run. A missed target is a finding, not a failure: the exit
status is non-zero only when a benchmark could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
import time
import traceback

from benchmarks import fixes
from benchmarks.common import Result, machine, quiet_logging

BENCHMARKS = ("interaction_latency", "schedule_precision", "fanout", "startup", "export", "web")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"some of: {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--toy", action="store_true", help="tiny sizes: check that they run; figures mean nothing")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    quiet_logging()
    facts = machine()
    applied = fixes.requested()
    print(
        f"{facts['date']} · {facts['nproc']} CPUs ({facts['cpu']}) · {facts['memory_gb']} GB · "
        f"Python {facts['python']} · load {facts['load_1min']}" + (f" · fixes: {', '.join(applied)}" if applied else "")
    )
    results: list[Result] = []
    failed: list[str] = []
    began = time.monotonic()
    for name in args.names or BENCHMARKS:
        module = importlib.import_module(f"benchmarks.{name}")
        started = time.monotonic()
        try:
            result: Result = asyncio.run(module.run(module.TOY if args.toy else module.FULL))
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        result.figures["took s"] = round(time.monotonic() - started, 1)
        result.show()
        results.append(result)
    print(f"\n== Summary ({time.monotonic() - began:.0f} s{', toy sizes' if args.toy else ''}) ==")
    for result in results:
        verdict = "n/a" if result.met is None else "met" if result.met else "MISSED"
        ratio = "-" if result.ratio is None else f"{result.ratio:.2f}x"
        print(f"  {result.title:<66} {ratio:>8}  {verdict:<7} ({result.target})")
    for name in failed:
        print(f"  {name:<66} {'-':>8}  FAILED to run")
    print("BENCH-MACHINE " + json.dumps({**facts, "fixes": applied, "toy": args.toy}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
