"""Terminal output for the CLI: JSON records and a progress bar (never used by the core)."""

from __future__ import annotations

import json
import shutil
import sys
import time
from typing import Any, TextIO

from .core.library import LibraryStatus
from .core.models import IndexProgress, PhotoState


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")


def status_record(state: LibraryStatus) -> dict[str, Any]:
    return {
        "indexed": state.counts[PhotoState.INDEXED],
        "pending": state.counts[PhotoState.PENDING],
        "failed": state.counts[PhotoState.FAILED],
        "failures": [{"path": str(f.path), "reason": f.reason} for f in state.failures],
        "model": state.model,
        "device": state.device,
        "last_device": state.last_device,
        "precision": state.precision,
        "last_precision": state.last_precision,
        "last_text_precision": state.last_text_precision,
        "index_size": state.index_size,
        "index_bytes": state.index_bytes,
        "other_model": state.other_model,
        "trashed": state.trashed,
        "folders": [{"path": str(f.folder.path), "online": f.online} for f in state.folders],
        "data_dir": str(state.data_dir),
    }


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class ProgressBar:
    """`123/456 [=====>     ] 27%  14.2 img/s  ETA 00:23  IMG_0042.jpg`, redrawn at most 10×/s."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._last = 0.0
        self._drawn = False

    def __call__(self, progress: IndexProgress) -> None:
        now = time.monotonic()
        if now - self._last < 0.1 and progress.done < progress.total:
            return
        self._last = now
        width = shutil.get_terminal_size((80, 20)).columns
        total = max(progress.total, 1)
        filled = int(20 * progress.done / total)
        bar = "=" * filled + (">" if filled < 20 else "") + " " * (19 - filled)
        name = progress.current.name if progress.current else ""
        line = (f"{progress.done}/{progress.total} [{bar}] {100 * progress.done // total:3d}%  "
                f"{progress.rate:.1f} img/s  ETA {_clock(progress.eta_s)}  {name}")
        self._stream.write("\r" + line[: width - 1].ljust(width - 1))
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
