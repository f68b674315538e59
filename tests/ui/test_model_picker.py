"""Settings' model picker: the known models with what each costs here (and which are on
this computer already), a model from disk, the Advanced knobs folded away, and what Save
writes."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QFileDialog

from photoclip.core.clip.known_models import KNOWN_MODELS
from photoclip.core.models import PhotoState
from photoclip.core.settings import DEFAULT_MODEL, Settings, load_settings
from photoclip.ui.main_window import MainWindow
from photoclip.ui.settings_dialog import SettingsDialog
from tests.core.clip.test_model_cache import fake_hub_cache
from tests.ui.conftest import save_screenshot

LARGE = "ViT-L-14:laion2b_s32b_b82k"
MEASURED = {f"rate:{DEFAULT_MODEL}": "24.3", f"rate:{LARGE}": "7.1"}


def _library(indexed: int = 1234) -> SimpleNamespace:
    """What the dialog reads from a library: the indexed count and the measured speeds."""
    counts = {PhotoState.INDEXED: indexed, PhotoState.PENDING: 7, PhotoState.FAILED: 2}
    return SimpleNamespace(catalog=SimpleNamespace(state_counts=lambda: counts,
                                                   get_meta=lambda key, default=None:
                                                   MEASURED.get(key, default)))


@pytest.fixture(autouse=True)
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache: what this computer has downloaded is no test's business."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


@pytest.fixture
def dialog(qtbot, tmp_path: Path) -> SettingsDialog:
    shown = SettingsDialog(Settings(), tmp_path / "settings.toml", library=_library(),
                           folders=[Path("/home/me/Pictures")])
    qtbot.addWidget(shown)
    shown.show()
    return shown


def _column(dialog: SettingsDialog, column: int) -> list[str]:
    table = dialog.picker.table
    return [table.item(row, column).text() for row in range(table.rowCount())]


def _selected(dialog: SettingsDialog) -> list[int]:
    return [index.row() for index in dialog.picker.table.selectionModel().selectedRows()]


def test_the_known_models_are_listed_with_the_one_in_use_selected(dialog: SettingsDialog) -> None:
    assert _column(dialog, 0) == [
        "ViT-B/32 LAION-2B (default, in use)", "ViT-B/32 OpenAI", "ViT-B/16 LAION-2B",
        "SigLIP ViT-B/16 WebLI", "Multilingual ViT-B/32 LAION-5B", "ViT-L/14 LAION-2B",
        "ViT-H/14 LAION-2B"]
    assert _column(dialog, 1) == ["605 MB", "605 MB", "599 MB", "813 MB", "1.5 GB", "1.7 GB", "3.9 GB"]
    assert _column(dialog, 2) == ["66.6%", "63.3%", "70.2%", "76.0%", "62.4%", "75.2%", "78.0%"]
    assert _column(dialog, 3) == ["24.3 photos/s"] + ["not measured"] * 4 + ["7.1 photos/s",
                                                                              "not measured"]
    assert _column(dialog, 4) == ["MIT", "MIT", "MIT", "Apache-2.0", "MIT", "MIT", "MIT"]
    assert _column(dialog, 5) == ["English"] * 4 + ["Multilingual"] + ["English"] * 2
    assert _selected(dialog) == [0] and dialog.model.text() == DEFAULT_MODEL
    assert dialog.picker.cost.text() == "In use now: nothing to re-encode."


def test_choosing_a_model_shows_what_the_switch_costs(dialog: SettingsDialog) -> None:
    dialog.picker.table.selectRow(5)
    assert dialog.model.text() == LARGE
    assert dialog.picker.cost.text() == (
        "Re-encodes 1,234 photos: about 3 min at this computer's measured 7.1 photos/s. "
        "Downloads 1.7 GB the first time.")
    dialog.picker.table.selectRow(6)
    assert dialog.picker.cost.text() == (
        "Re-encodes 1,234 photos: speed not measured on this computer yet. "
        "Downloads 3.9 GB the first time.")
    dialog.model.setText("ViT-B-32:openai")  # typed: the table follows the text
    assert _selected(dialog) == [1]
    dialog.model.setText("ViT-B-32")
    assert _selected(dialog) == [7] and _column(dialog, 0)[7] == "Custom: ViT-B-32"
    assert dialog.picker.cost.text().startswith("invalid model 'ViT-B-32'")
    dialog.model.setText(DEFAULT_MODEL)  # back to a known one: the custom row goes
    assert dialog.picker.table.rowCount() == len(KNOWN_MODELS) and _selected(dialog) == [0]
    assert dialog.picker.cost.text() == "In use now: nothing to re-encode."


def test_models_in_the_hugging_face_cache_cost_no_download(qtbot, hub_cache: Path, tmp_path: Path) -> None:
    fake_hub_cache(hub_cache, "laion/CLIP-ViT-L-14-laion2B-s32B-b82K", ["open_clip_model.safetensors"])
    fake_hub_cache(hub_cache, "me/my-clip", ["open_clip_config.json", "open_clip_model.safetensors"])
    fake_hub_cache(hub_cache, "timm/ViT-B-16-SigLIP", ["open_clip_config.json"])  # no weights yet
    shown = SettingsDialog(Settings(), tmp_path / "settings.toml", library=_library())
    qtbot.addWidget(shown)
    assert _column(shown, 1) == ["605 MB", "605 MB", "599 MB", "813 MB", "1.5 GB", "on this computer",
                                 "3.9 GB"]
    assert shown.picker.table.item(5, 1).toolTip() == "1.7 GB, in the Hugging Face cache already: no download"
    assert shown.picker.table.item(3, 1).toolTip() == "813 MB to download the first time it is used"
    shown.picker.table.selectRow(5)
    assert shown.picker.cost.text() == (
        "Re-encodes 1,234 photos: about 3 min at this computer's measured 7.1 photos/s. "
        "No download: its weights are on this computer already.")
    shown.show()
    save_screenshot(shown, "settings-models-downloaded")
    shown.model.setText("hf-hub:me/my-clip")  # a hub model of one's own, cached too
    assert _column(shown, 1)[7] == "on this computer"
    assert shown.picker.cost.text().endswith("No download: its weights are on this computer already.")
    shown.model.setText("hf-hub:me/not-here")
    assert _column(shown, 1)[7] == "?" and "download" not in shown.picker.cost.text().casefold()


def test_custom_uses_a_chosen_folder_or_weights_file(dialog: SettingsDialog, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "my model"
    folder.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(folder))
    dialog.picker.choose_folder_action.trigger()
    assert dialog.model.text() == f"local-dir:{folder}"
    assert _selected(dialog) == [7] and _column(dialog, 0)[7] == f"Custom: local-dir:{folder}"
    assert _column(dialog, 1)[7] == "on disk"
    assert dialog.picker.cost.text() == (
        "Re-encodes 1,234 photos: speed not measured on this computer yet.")
    weights = tmp_path / "ViT-B-16-SigLIP-webli.safetensors"
    weights.write_bytes(b"w" * 64)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(weights), ""))
    dialog.picker.choose_file_action.trigger()
    assert dialog.model.text() == f"ViT-B-16-SigLIP:{weights}"
    assert dialog.picker.table.rowCount() == len(KNOWN_MODELS) + 1 and _selected(dialog) == [7]
    dialog.picker.table.selectRow(2)  # a known model chosen again: the custom row goes
    assert dialog.model.text() == "ViT-B-16:laion2b_s34b_b88k"
    assert dialog.picker.table.rowCount() == len(KNOWN_MODELS) and _selected(dialog) == [2]


def test_advanced_folds_the_engineering_knobs_away(dialog: SettingsDialog) -> None:
    knobs = (dialog.device, dialog.precision, dialog.batch_size, dialog.decode_workers)
    assert not any(knob.isVisible() for knob in knobs) and dialog.picker.table.isVisible()
    dialog.advanced_button.click()
    assert all(knob.isVisible() for knob in knobs) and dialog.advanced_button.isChecked()
    dialog.advanced_button.click()
    assert not any(knob.isVisible() for knob in knobs)


def test_save_writes_the_chosen_model_and_nothing_else_changed(dialog: SettingsDialog,
                                                               tmp_path: Path) -> None:
    dialog.picker.table.selectRow(3)
    dialog.show_advanced(True)
    dialog.precision.setCurrentText("fp32")
    dialog.decode_workers.setValue(3)
    save_screenshot(dialog, "settings-models")
    dialog.save()
    assert dialog.error.text() == ""
    expected = dataclasses.replace(Settings(), model="ViT-B-16-SigLIP:webli", precision="fp32",
                                   decode_workers=3)
    assert dialog.saved == expected and load_settings(tmp_path / "settings.toml") == expected


def test_the_windows_dialog_shows_its_own_model_as_in_use(qtbot, window: MainWindow,
                                                          tiny_model_spec: str) -> None:
    # Speeds measured on this computer, as the catalog keeps them.
    window.library.catalog.set_meta(f"rate:{window.library.encoder.model_id}", "5.5")
    window.library.catalog.set_meta("rate:ViT-B-32:openai", "9")
    dialog = window.open_settings()  # the library comes from the window
    qtbot.addWidget(dialog)
    spec = window.library.settings.model
    assert spec == tiny_model_spec and dialog.model.text() == spec
    assert _selected(dialog) == [7] and _column(dialog, 0)[7] == f"Custom: {spec} (in use)"
    assert _column(dialog, 3) == ["not measured", "9.0 photos/s"] + ["not measured"] * 5 + [
        "5.5 photos/s"]
    assert dialog.picker.cost.text() == "In use now: nothing to re-encode."
    dialog.picker.table.selectRow(1)  # nothing is indexed in this library yet
    assert dialog.picker.cost.text() == (
        "Nothing is indexed yet: nothing to re-encode. Downloads 605 MB the first time.")
    dialog.reject()
