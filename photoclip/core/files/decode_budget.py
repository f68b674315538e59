"""A process-wide memory budget for decoding photos.

A pixel limit is not a memory limit: a 196 MP RGBA PNG of under 1 MB holds
784 MB once decoded, and every decode worker (the indexer's pool, the app's
thumbnail and search threads) may hold one at once.  So each decode first
reserves its estimated peak bytes here: decodes that fit run side by side,
large ones wait their turn (first come, first served, so a big one is not
starved by a stream of small ones), and one that could never fit is refused
before a byte is allocated.

The default is 1 GiB, or a quarter of the machine's memory where that is less
(never under 256 MiB).  1 GiB decodes any 8-bit photo up to the 200 MP pixel
limit in one piece (200 MP x 4 bytes = 800 MB) while bounding what bombs can add
to a run; a quarter of RAM keeps a small machine responsive.  The environment
variable ``PHOTOCLIP_DECODE_BUDGET_MB`` overrides it (and lets tests use a small one).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

ENV_BUDGET_MB = "PHOTOCLIP_DECODE_BUDGET_MB"
DEFAULT_BUDGET_BYTES = 1 << 30
MIN_DEFAULT_BYTES = 256 << 20


class OverBudget(Exception):
    """A decode whose estimated peak exceeds the whole budget: it can never run."""

    def __init__(self, need: int, total: int) -> None:
        super().__init__(f"needs ~{human_bytes(need)} to decode, over the {human_bytes(total)} "
                         "decode memory budget")
        self.need = need
        self.total = total


class DecodeBudget:
    """Bytes that the decodes of this process may hold at once (a counting semaphore in bytes)."""

    def __init__(self, total_bytes: int) -> None:
        if total_bytes <= 0:
            raise ValueError("the decode budget must be positive")
        self.total = total_bytes
        self.in_use = 0
        self.peak = 0  # the most ever reserved at once (for tests and benchmarks)
        # One condition guards the counters and the queue of waiting reservations.
        self._changed = threading.Condition()
        self._waiting: deque[object] = deque()

    @contextmanager
    def reserve(self, need: int) -> Iterator[None]:
        """Hold ``need`` bytes for the body; waits while they are in use by others.

        Raises OverBudget at once (nothing waited for) when ``need`` exceeds the total.
        """
        need = max(0, need)
        if need > self.total:
            raise OverBudget(need, self.total)
        self._acquire(need)
        try:
            yield
        finally:
            with self._changed:
                self.in_use -= need
                self._changed.notify_all()

    def _acquire(self, need: int) -> None:
        ticket = object()
        with self._changed:
            self._waiting.append(ticket)
            try:
                while self._waiting[0] is not ticket or self.in_use + need > self.total:
                    self._changed.wait()
            finally:
                self._waiting.remove(ticket)
                self._changed.notify_all()  # the next in line may fit beside this one
            self.in_use += need
            self.peak = max(self.peak, self.in_use)


def default_budget_bytes(environ: dict[str, str] | None = None) -> int:
    """The budget from the environment override, else min(1 GiB, RAM / 4), at least 256 MiB."""
    env = os.environ if environ is None else environ
    raw = env.get(ENV_BUDGET_MB, "").strip()
    if raw:
        try:
            megabytes = float(raw)
        except ValueError:
            megabytes = 0.0
        if megabytes > 0:
            return max(1, int(megabytes * (1 << 20)))
    ram = _physical_memory()
    if ram is None:
        return DEFAULT_BUDGET_BYTES
    return max(MIN_DEFAULT_BYTES, min(DEFAULT_BUDGET_BYTES, ram // 4))


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # Windows, or an exotic libc
        return None


def human_bytes(count: int) -> str:
    """'5.6 GB', '784 MB', '1 GB': one or two significant digits are enough in a reason."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= size:
            value = count / size
            return f"{value:.0f} {unit}" if value >= 10 or value == int(value) else f"{value:.1f} {unit}"
    return f"{count} bytes"
