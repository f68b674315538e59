"""The CLI's commands: each takes the Library and parsed arguments, prints, returns an exit code."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .cli_duplicates import update_after_index
from .cli_output import ProgressBar, print_json, status_record
from .cli_text import read_text_after_index, show_text
from .core.clip.precision import describe_precision
from .core.library import Library
from .core.models import PhotoState, SearchHit

if TYPE_CHECKING:
    import logging

    from .core.channel_server import ChannelServer


def add(library: Library, args: argparse.Namespace) -> int:
    for path in args.paths:
        folder = library.add_folder(path)
        print(f"added {folder.path}")
    print("run `photoclip index` to index the new photos")
    return 0


def remove(library: Library, args: argparse.Namespace) -> int:
    for path in args.paths:
        forgotten = library.remove_folder(path)
        print(f"removed {path} ({forgotten} photos forgotten; files untouched)")
    return 0


def folders(library: Library, args: argparse.Namespace) -> int:
    listed = library.folders()
    if args.json:
        print_json([{"path": str(s.folder.path), "online": s.online} for s in listed])
    else:
        for status in listed:
            print(f"{status.folder.path}{'' if status.online else '  (offline)'}")
    return 0


@contextlib.contextmanager
def _stop_gracefully_on_signals(cancel: threading.Event) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM) finishes cleanly: the batch in flight is dropped,
    everything committed stays, the index is saved. A second Ctrl-C interrupts at once."""

    def request_stop(signum: int, frame: object) -> None:
        cancel.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def index(library: Library, args: argparse.Namespace) -> int:
    bar = ProgressBar(sys.stderr) if sys.stderr.isatty() and not args.json else None
    cancel = threading.Event()
    try:
        with _stop_gracefully_on_signals(cancel):
            report = library.index_photos(full=args.full, progress=bar, cancel=cancel)
            if bar:
                bar.close()
                bar = None
            text_read = 0 if report.cancelled else read_text_after_index(library, cancel, args.json)
            if not cancel.is_set():  # how photos look (a backfill for older ones), then the groups
                update_after_index(library, cancel, args.json)
    finally:
        if bar:
            bar.close()
    report.cancelled = report.cancelled or cancel.is_set()
    for folder in report.offline_folders:
        print(f"photoclip: folder offline, nothing in it was changed: {folder}", file=sys.stderr)
    if args.json:
        print_json({**{k: (list(map(str, v)) if isinstance(v, list) else v)
                       for k, v in vars(report).items()}, "text_read": text_read})
    else:
        rate = report.encoded / report.seconds if report.seconds else 0.0
        print(f"indexed: {report.encoded} encoded ({rate:.1f}/s), {report.reused} reused, "
              f"{report.failed} failed, {report.unchanged} unchanged"
              + (f", {report.forgotten} forgotten" if args.full else "")
              + (", search index rebuilt" if report.index_rebuilt else "")
              + (f"; text read in {text_read}" if text_read else ""))
    if report.cancelled:
        print("photoclip: stopped; what was indexed is kept, `photoclip index` continues",
              file=sys.stderr)
        return 130
    return 0


def text(library: Library, args: argparse.Namespace) -> int:
    return show_text(library, args)


def watch(library: Library, args: argparse.Namespace) -> int:
    import logging
    import time

    from .core.live.worker import LibraryWorker

    # Say what gets indexed, with times: this runs unattended and its log is the record.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s photoclip: %(message)s", "%H:%M:%S"))
    worker_log = logging.getLogger("photoclip.core.live.worker")
    worker_log.addHandler(handler)
    worker_log.propagate = False
    worker_log.setLevel(logging.INFO)
    stop = threading.Event()
    worker = LibraryWorker(library).start()  # LibraryLocked: someone else writes
    folders = [str(f.path) for f in library.catalog.folders()]
    worker_log.info("watching %d folders: %s (Ctrl-C to stop)", len(folders),
                    ", ".join(folders) or "none yet; add some with photoclip add")
    server = _answer_searches(library, worker_log)
    try:
        with _stop_gracefully_on_signals(stop):
            while not stop.wait(0.5):
                if worker.status.state == "catalog damaged":  # said why; nothing left to watch for
                    worker.stop(timeout=10)
                    return 1
    finally:
        if server is not None:
            server.close()
    worker_log.info("stopping")
    started = time.monotonic()
    clean = worker.stop(timeout=10)
    worker_log.info("stopped in %.1f s%s", time.monotonic() - started,
                    "" if clean else " (the batch in flight was abandoned)")
    return 0 if clean else 1


def _answer_searches(library: Library, log: logging.Logger) -> ChannelServer | None:
    """`photoclip search` asks this process, whose model stays loaded, instead of loading
    its own. A socket that can't be had is said in one line; watching goes on without it."""
    from .core.channel_server import ChannelServer
    from .core.local_channel import ChannelError, socket_path
    from .core.remote_search import SEARCH_COMMAND, answer_search

    try:
        path = socket_path(library.paths.data_dir, library.paths.cache_dir)
        return ChannelServer(path, {SEARCH_COMMAND: lambda message: answer_search(library, message)}
                             ).start()
    except ChannelError as exc:
        log.warning("searches from the terminal are not answered by this process: %s", exc)
        return None


def _print_hits(library: Library, hits: list[SearchHit], as_json: bool) -> None:
    if as_json:  # the same records as search --json: headers, place, text
        from .core.remote_search import hit_records

        print_json(hit_records(library, hits))
        return
    if not hits:
        print("no matching photos", file=sys.stderr)
    for hit in hits:
        print(f"{hit.score:.3f}  {hit.path}")


def search(library: Library, args: argparse.Namespace) -> int:
    from .cli_search import run_search

    return run_search(library, args)


def similar(library: Library, args: argparse.Namespace) -> int:
    _print_hits(library, library.similar(args.image, args.top), args.json)
    return 0


def status(library: Library, args: argparse.Namespace) -> int:
    state = library.status()
    if args.json:
        print_json(status_record(state))
        return 0
    counts = state.counts
    print(f"photos: {counts[PhotoState.INDEXED]} indexed, {counts[PhotoState.PENDING]} pending, "
          f"{counts[PhotoState.FAILED]} failed")
    print(f"model: {state.model}")
    print(f"device: {state.device}" + (f" (last used: {state.last_device})"
                                        if state.last_device else ""))
    print(f"precision: {state.precision}" + (
        f" (last used: {describe_precision(state.last_precision, state.last_text_precision)})"
        if state.last_precision else ""))
    size = "none yet" if state.index_size is None else f"{state.index_size} vectors"
    print(f"search index: {size}")
    if state.other_model:
        print(f"{state.other_model} photos were encoded by another model; "
              "`photoclip index` re-encodes them")
    if state.trashed:
        print(f"trash: {state.trashed} deleted photos, kept in case their files come back")
    for folder in state.folders:
        print(f"folder: {folder.folder.path}{'' if folder.online else '  (offline)'}")
    for failure in state.failures:
        print(f"failed: {failure.path}: {failure.reason}")
    print(f"data: {state.data_dir}")
    return 0

