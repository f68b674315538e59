"""Small helpers shared by the PhotoClip benchmarks: tables, JSON results, memory, timing."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
# Encoder benchmarks measure encoding: zero-shot tagging (text prompts once per model,
# then a matrix product per batch) is measured on its own in bench_tagging.py.
NO_TAGGING: list[str] = []
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
CACHE_DIR = BENCH_DIR / ".cache"

if str(REPO_ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO_ROOT))


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table; floats are printed as given (pre-format them)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, data: dict[str, Any]) -> Path:
    """Write ``results/<name>.json`` atomically (the .tmp file is gitignored)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    target = RESULTS_DIR / f"{name}.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def loadavg() -> list[float] | None:
    """1, 5 and 15 minute load averages (None where the OS has none): noise on a shared box."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def effective_cores(repeats: int = 3, megabytes: int = 48) -> float:
    """How many cores this process really gets right now (the box may be shared).

    Hashes a buffer on one thread, then on cpu_count threads at once (hashlib releases
    the GIL); cpu_count * t1 / tn is ~cpu_count on an idle machine, less when other
    tenants hold cores. The best of ``repeats`` tries is kept.
    """
    data = bytes(megabytes * 2**20)
    count = os.cpu_count() or 1

    def work() -> None:
        hashlib.blake2b(data).digest()

    def parallel() -> None:
        threads = [threading.Thread(target=work) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    best = 0.0
    for _ in range(repeats):
        single, _ = timed(work)
        together, _ = timed(parallel)
        best = max(best, count * single / together)
    return round(best, 2)


def environment() -> dict[str, Any]:
    """Facts that make numbers comparable between runs (and explain noisy ones)."""
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "system": platform.system(),
        "cpu_count": os.cpu_count(),
        "loadavg_at_start": loadavg(),
        "effective_cores_at_start": effective_cores(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def ru_maxrss_mib() -> float:
    """Peak RSS of this process so far (getrusage; KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _proc_status_mib(field: str) -> float | None:
    """A memory field of /proc/self/status in MiB (Linux only; None elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def current_rss_mib() -> float | None:
    """Resident memory right now."""
    return _proc_status_mib("VmRSS")


class PeakRss:
    """Peak RSS of one stage: Linux can reset the high-water mark via /proc/self/clear_refs.

    Elsewhere (or if the reset is refused) ``peak_mib`` falls back to the process-wide
    peak, which is still an upper bound for the stage; ``resettable`` says which it is.
    """

    def __init__(self) -> None:
        self.resettable = self._reset()

    @staticmethod
    def _reset() -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    def reset(self) -> None:
        self.resettable = self._reset()

    def peak_mib(self) -> float:
        peak = _proc_status_mib("VmHWM") if self.resettable else None
        return ru_maxrss_mib() if peak is None else peak


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; values need not be sorted."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"
