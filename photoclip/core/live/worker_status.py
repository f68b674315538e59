"""What the background worker reports: its status, and the callbacks that receive it.

Plain data and plain callbacks: the Qt layer turns them into signals, ``photoclip
watch`` into log lines; neither needs the worker itself to read a status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WorkerStatus:
    # starting, scanning, downloading model, indexing, reading text (done of total), idle, paused, no model,
    # catalog damaged (live indexing has stopped for good), stopped
    state: str = "starting"
    queued: int = 0  # changes waiting to settle + photos waiting to be encoded
    done: int = 0  # photos looked at in this burst of work
    total: int = 0
    rate: float = 0.0  # photos per second in this burst
    current: Path | None = None
    indexed: int = 0  # photos looked at since the worker started
    offline: tuple[Path, ...] = ()
    downloaded: int = 0  # bytes of the model's weights, while state is "downloading model"
    download_size: int = 0


StatusCallback = Callable[[WorkerStatus], None]
MessageCallback = Callable[[str], None]
