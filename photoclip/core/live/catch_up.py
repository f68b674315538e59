"""The live worker's catch-up passes, a batch at a time once nothing is pending.

First the metadata backfill (headers only, for photos indexed before PhotoClip read
them), then the duplicate groups (looks for photos without them, then the new photos
grouped with their neighbours), then the text pass (OCR of indexed photos). Both only run when indexing has
nothing left, so a new photo becomes searchable before any of this; each batch is its
own write and checks the worker's interrupt, so pause and stop take effect within it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ..library import Library, LibraryError
from ..text_pass import reader_engine

log = logging.getLogger(__name__)

Write = Callable[[Callable[[], Any]], Any]  # runs work under the writer lock
Publish = Callable[..., None]  # changes to the worker's status


class CatchUp:
    def __init__(self, library: Library, interrupt: threading.Event, write: Write,
                 publish: Publish, message: Callable[[str], None]) -> None:
        self.library = library
        self._interrupt = interrupt
        self._write = write
        self._publish = publish
        self._message = message
        self.meta_due = True  # photos indexed before PhotoClip read their metadata: once
        self.text_due = library.text_reader is not None or library.settings.ocr == "all"
        self.groups_due = True
        self._text_done = 0

    def photos_indexed(self) -> None:
        """New photos became searchable: their groups and their text are due."""
        self.text_due = self.library.text_reader is not None
        self.groups_due = True

    def step(self) -> bool:
        """One batch of the first pass still due; False when none is."""
        return self._backfill_meta() or self._update_groups() or self._read_text()

    def _update_groups(self) -> bool:
        if not self.groups_due or self._interrupt.is_set():
            return False
        self._publish(state="finding duplicates", done=0, total=0, current=None)
        try:
            taken = self._write(lambda: self.library.update_duplicates(cancel=self._interrupt, batches=1))
        except Exception:  # a grouping bug must not stop the worker: logged, tried next time
            log.exception("grouping duplicates failed")
            taken = 0
        self.groups_due = taken > 0 and not self._interrupt.is_set()  # more looks to take
        return self.groups_due

    def _backfill_meta(self) -> bool:
        if not self.meta_due:
            return False
        got = self._write(lambda: self.library.backfill_meta(cancel=self._interrupt, batches=1))
        self.meta_due = got > 0  # none left (or none readable now): done until restarted
        return self.meta_due

    def _read_text(self) -> bool:
        if not self.text_due or self._interrupt.is_set():
            return False
        reader = self.library.text_reader
        left = self.library.catalog.count_missing_text(reader_engine(reader)) if reader else None
        if left == 0:
            self.text_due, self._text_done = False, 0  # all read: nothing to show
            return False
        total = self._text_done + (left or 0)
        self._publish(state="reading text", done=self._text_done, total=total, current=None)

        def progress(done: int, _: int) -> None:
            self._publish(state="reading text", done=self._text_done + done, total=total)

        try:
            got = self._write(lambda: self.library.read_text(progress, self._interrupt, batches=1))
        except LibraryError as exc:  # ocr = "all" without the extra: said once
            self._message(f"text in photos can't be read: {exc}")
            self.text_due = False
            return False
        if self._interrupt.is_set():
            return False  # paused or stopping: the next round asks again
        self._text_done += got
        self.text_due = got > 0  # none left (or none readable now): done until new photos
        if not self.text_due:
            self._text_done = 0
        return self.text_due
