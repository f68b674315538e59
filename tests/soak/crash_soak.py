"""Soak: kill -9 PhotoClip's writing commands at random moments, many times over.

Not part of the test suite (it takes 5-15 minutes): run it by hand or before a release:

    .venv/bin/python tests/soak/crash_soak.py --trials 60 --seed 1

It cycles `index`, `--reindex`, `watch` and `tag` over one growing library with the
tiny test model, kills each at a random moment, recovers with `photoclip index`,
and prints the trials and what was lost, duplicated, re-encoded after a committed
batch, and user tags lost (all must be 0), as text and as JSON in
benchmarks/results/crash_soak.json. Exits 1 when anything was lost.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.conftest import _trained_once  # noqa: E402
from tests.faults.crash_rounds import COMMANDS, CrashLibrary, summarise  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=60)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    spec = f"local-dir:{_trained_once('tiny-clip')}"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="photoclip-soak-") as root:
        library = CrashLibrary(Path(root), spec, seed=args.seed)
        results = []
        for trial in range(args.trials):
            result = library.crash_round(COMMANDS[trial % len(COMMANDS)])
            results.append(result)
            mark = "ok " if result.clean else "BAD"
            print(f"{mark} {trial + 1:3}/{args.trials} {result.command:10} killed after "
                  f"{result.kill_after_s:4.1f} s{' (had finished)' if result.finished_first else ''}, "
                  f"{result.committed} committed; lost {result.lost}, duplicated {result.duplicated}, "
                  f"re-encoded {result.reencoded}, tags lost {result.tags_lost} {result.problems or ''}",
                  flush=True)
    summary = summarise(results) | {"seed": args.seed, "seconds": round(time.monotonic() - started)}
    print(json.dumps(summary, indent=2))
    out = REPO / "benchmarks" / "results" / "crash_soak.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    bad = sum(summary[k] for k in ("photos_lost", "duplicated", "reencoded_after_commit",
                                    "user_tags_lost", "other_problems"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
