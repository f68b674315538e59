"""The main window's settings and model switching: Settings…, and reopening the
library with a new model or device without a restart (a part of MainWindow)."""

from __future__ import annotations

import dataclasses
import gc

from ..core.library import Library, LibraryError
from ..core.settings import Settings, SettingsError, save_settings
from .bridge import WorkerBridge, start_worker
from .settings_dialog import SettingsDialog
from .window_parts import WindowBase


class ModelSwitching(WindowBase):
    # One reopen at a time: settings saved during one wait here for the next.
    _reopening = False
    _reopen_next: Settings | None = None

    def use_model(self, spec: str) -> None:
        """A model file chosen on the banner: saved to settings.toml and used at once."""
        changed = dataclasses.replace(self.library.settings, model=spec)
        try:
            save_settings(changed, self.library.paths.settings)
        except (SettingsError, OSError) as exc:
            self.banner.show_problem(f"Cannot use {spec}: {exc}")
            return
        self.reopen_library(changed)

    def reopen_library(self, settings: Settings) -> None:
        """Switch model or device without a restart: stop the worker, reopen the
        library with the new settings, start a new worker (off the GUI thread; the
        old worker may need a moment to finish its batch). One at a time: settings
        saved again meanwhile are applied when this reopen is done."""
        if self._reopening:
            self._reopen_next = settings
            return
        self._reopening = True
        old_library, old_worker = self.library, self.worker
        # The old worker's late statuses (a download can't be interrupted) must not
        # land in the new session: its bridge is cut off, the new worker gets its own.
        self.bridge.status_changed.disconnect(self.show_status)
        self.bridge.message.disconnect(self.show_message)
        self.banner.hide()
        self.status_label.setText("Switching model…")
        self.pause_button.setEnabled(False)

        def reopen() -> Library | None:
            old_worker.stop(timeout=60.0)
            old_library.close()
            gc.collect()  # the old model and index go now, not with a later collection
            if self.closing:  # the window closed meanwhile: nothing to reopen for
                return None
            return Library(old_library.paths, settings)

        self.searches.run(reopen, self._reopened)

    def _reopened(self, library: Library | None, error: BaseException | None) -> None:
        self._reopening = False
        if self.closing:
            if library is not None:
                library.close()
            return
        bridge = WorkerBridge(self)
        bridge.status_changed.connect(self.show_status)
        bridge.message.connect(self.show_message)
        try:
            if library is None:
                raise error or LibraryError("the library could not be reopened")
            worker = start_worker(library, bridge)
        except Exception as exc:  # LibraryLocked (another process took it), a bad catalog
            if library is not None:
                library.close()
            self.status_label.setText("Stopped")
            self.show_message(f"Could not switch: {exc}. Restart PhotoClip to go on indexing.")
            return
        self.library, self.worker, self.bridge, self.owns_library = library, worker, bridge, True
        self.banner.arch = library.spec.open_clip_name
        self.pause_button.setEnabled(True)
        self.library_reopened.emit()
        self.refresh_folders()
        self.run_search()
        if self._reopen_next is not None:  # saved again while this one ran
            settings, self._reopen_next = self._reopen_next, None
            self.reopen_library(settings)

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.library.settings, self.library.paths.settings, self,
                                folders=self.sidebar.paths())
        dialog.add_folder_requested.connect(self.choose_folder)
        dialog.remove_folder_requested.connect(self.confirm_remove_folder)
        self.folders_shown.connect(dialog.set_folders)
        dialog.accepted.connect(lambda: self._settings_saved(dialog))
        dialog.open()
        return dialog

    def _settings_saved(self, dialog: SettingsDialog) -> None:
        saved = dialog.saved
        if saved is None:
            return
        # The encoder, the decode pool and the watches are built from these.
        built_from = ("model", "device", "precision", "decode_workers", "exclude", "polling_folders")
        current = self.library.settings
        reopen = any(getattr(saved, name) != getattr(current, name) for name in built_from)
        self.apply_cell_size(saved.thumbnail_size)
        if reopen:  # the encoder and the watches are built from these
            self.reopen_library(saved)
        else:
            self.library.settings = saved
        self.statusBar().showMessage("Settings saved", 10_000)
