"""Run every PhotoClip benchmark in sequence with its defaults (4-9 minutes on 2 cores).

Each benchmark runs in its own process (so peak memory and model loads don't mix), with
this interpreter, from the repository root. Results land in benchmarks/results/*.json.

Usage: python benchmarks/run_all.py [--skip bench_search.py ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
SCRIPTS = ("bench_indexing.py", "bench_search.py", "bench_vector_index.py", "bench_live.py", "bench_app.py",
           "bench_grid.py", "bench_precision.py")


def run(script: Path) -> tuple[int, float]:
    print(f"\n=== {script.name} ===", flush=True)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(script)], cwd=BENCH_DIR.parent, check=False)
    return done.returncode, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skip", nargs="*", default=[], metavar="SCRIPT",
                   help="benchmark scripts to leave out, e.g. bench_search.py")
    args = p.parse_args(argv)
    outcomes = []
    for name in SCRIPTS:
        script = BENCH_DIR / name
        if name in args.skip or not script.exists():
            outcomes.append((name, "skipped", 0.0))
            continue
        code, seconds = run(script)
        outcomes.append((name, "ok" if code == 0 else f"failed ({code})", seconds))
    print("\n| benchmark | outcome | wall s |\n|---|---|---|")
    for name, outcome, seconds in outcomes:
        print(f"| {name} | {outcome} | {seconds:.0f} |")
    return 1 if any(o.startswith("failed") for _, o, _ in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
