"""Fetch CLIP weights into the Hugging Face cache, reporting bytes as they arrive.

open_clip downloads weights itself, but only with a terminal progress bar. The
app needs numbers ("120 of 605 MB"), so PhotoClip fetches the same files into
the same cache first, through huggingface_hub with a progress class that calls
back; open_clip then finds them cached and loads them offline. Qt-free: the
worker turns the callback into its status. ``hub_offline`` and ``hub_reachable`` let
the encoder try the cache first and fail at once without network.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import DownloadFailed

log = logging.getLogger(__name__)

DownloadProgress = Callable[[int, int], None]  # bytes so far, bytes in all (0 if unknown)

# What open_clip looks for in an hf-hub:ORG/REPO model, safetensors first.
HUB_CONFIG = "open_clip_config.json"
HUB_WEIGHTS = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


def hub_files(open_clip_name: str, pretrained: str | None) -> tuple[str, list[list[str]]] | None:
    """(repo id, files to fetch) for a hub-hosted model, or None when it is not on the hub.

    Each entry of the list is a file and its fallbacks, tried in order (a
    ``.bin`` checkpoint has a ``.safetensors`` twin on most repos, which open_clip
    prefers too)."""
    if open_clip_name.startswith("hf-hub:"):
        return open_clip_name[len("hf-hub:") :], [[HUB_CONFIG], list(HUB_WEIGHTS)]
    if not pretrained:
        return None
    from open_clip.pretrained import get_pretrained_cfg

    location = get_pretrained_cfg(open_clip_name, pretrained).get("hf_hub", "")
    if not location:
        return None
    repo_id, filename = os.path.split(location)
    filename = filename or HUB_WEIGHTS[1]
    # open_clip's own preference: the safetensors twin of a pickled checkpoint.
    if filename == HUB_WEIGHTS[1]:
        return repo_id, [list(HUB_WEIGHTS)]
    if filename.endswith((".bin", ".pth")):
        return repo_id, [[filename[:-4] + ".safetensors", filename]]
    return repo_id, [[filename]]


def fetch(repo_id: str, files: list[list[str]], on_progress: DownloadProgress, *,
          endpoint: str | None = None, cache_dir: str | Path | None = None) -> list[Path]:
    """Download each file (the first of its choices that exists) into the cache.

    Progress is reported across all files, in bytes. Raises DownloadFailed with
    huggingface_hub's reason when a file can't be had."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_download, hf_hub_url

    endpoint = endpoint or constants.ENDPOINT  # read now: HF_ENDPOINT may point at a mirror
    chosen: list[tuple[str, int]] = []
    for choices in files:
        last_error: Exception | None = None
        for filename in choices:
            try:
                url = hf_hub_url(repo_id, filename, endpoint=endpoint)
                chosen.append((filename, get_hf_file_metadata(url).size or 0))
                break
            except Exception as exc:  # 404 for a missing alternative, or no network
                last_error = exc
        else:
            raise DownloadFailed(f"{repo_id} has none of {', '.join(choices)}: {last_error}")
    total = sum(size for _, size in chosen)
    counter = _ByteCounter(total, on_progress)
    fetched = []
    for filename, _ in chosen:
        try:
            fetched.append(Path(hf_hub_download(
                repo_id, filename, endpoint=endpoint, cache_dir=cache_dir,
                tqdm_class=counter.progress_class(), library_name="photoclip")))
        except Exception as exc:
            raise DownloadFailed(f"downloading {repo_id}/{filename} failed: {exc}") from exc
    counter.finish()
    return fetched


def hub_reachable(host: str | None = None, timeout_s: float = 3.0) -> bool:
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    endpoint = urlsplit(constants.ENDPOINT)  # HF_ENDPOINT (a mirror) when set
    host = host or endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """huggingface_hub in offline mode: answers from its cache or fails at once."""
    from huggingface_hub import constants

    previous = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = previous


class _ByteCounter:
    """Adds up the bytes of every file's progress bar; calls back at most every 1%."""

    def __init__(self, total: int, on_progress: DownloadProgress) -> None:
        self.total = total
        self.done = 0
        self._reported = -1
        self._lock = threading.Lock()  # huggingface_hub may download parts on threads
        self._on_progress = on_progress

    def add(self, count: int) -> None:
        with self._lock:
            # Clamped: sizes from the hub can be off, and a bar must never pass 100%.
            self.done = min(self.done + count, self.total) if self.total else self.done + count
            step = max(self.total // 100, 1 << 20)
            if self.done - self._reported < step and self.done != self.total:
                return
            self._reported = self.done
        self._on_progress(self.done, self.total)

    def finish(self) -> None:
        """The last report says "all of it" (sizes from the hub can be a little off)."""
        if self._reported != self.total:
            self._on_progress(self.total, self.total)

    def progress_class(self) -> type:
        from tqdm.auto import tqdm

        counter = self

        class Progress(tqdm):  # type: ignore[misc, valid-type]
            """A silent tqdm whose updates go to the counter."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs["disable"] = True  # nothing on the terminal of a desktop app
                super().__init__(*args, **kwargs)
                counter.add(int(kwargs.get("initial") or 0))  # a resumed download

            def update(self, n: float | None = 1) -> bool | None:
                counter.add(int(n or 0))
                return super().update(n)

            def update_transfer(self, n: float | None = 1) -> None:
                """Xet downloads report network bytes here besides the file's bytes in
                update(); counting both showed 195 of 100 MB. Only the file's count."""

        return Progress
