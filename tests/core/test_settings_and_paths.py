from __future__ import annotations

from pathlib import Path

import pytest

from photoclip.core.paths import app_paths, resources_dir
from photoclip.core.settings import (
    DEFAULT_MODEL,
    SETTINGS_VERSION,
    Settings,
    SettingsError,
    load_settings,
    save_settings,
)


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "settings.toml")
    assert settings.model == DEFAULT_MODEL and settings.device == "auto"


def test_round_trip_keeps_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('version = 1\nbatch_size = 8\nfuture_option = "kept"\n')
    settings = load_settings(path)
    assert settings.batch_size == 8 and settings.extra == {"future_option": "kept"}
    settings.exclude = ["*.tmp"]
    save_settings(settings, path)
    again = load_settings(path)
    assert again.exclude == ["*.tmp"] and again.extra == {"future_option": "kept"}
    assert f"version = {SETTINGS_VERSION}" in path.read_text()


def test_old_versions_are_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('clip_model = "local-dir:/models/x"\n')  # version 0 had no version key
    assert load_settings(path).model == "local-dir:/models/x"


@pytest.mark.parametrize(
    ("text", "message"),
    [("version = 99\n", "newer PhotoClip"), ('device = "tpu"\n', "device"),
     ("batch_size = 0\n", "batch_size"), ("not toml [", "cannot read"),
     ('batch_size = "8"\n', "batch_size must be an integer"), ('exclude = "*.tmp"\n', "exclude must be"),
     ("exclude = [1]\n", "list of strings"), ("model = 3\n", "model must be")],
)
def test_bad_settings_are_refused_clearly(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=message):
        load_settings(path)


def test_save_validates_before_writing(tmp_path: Path) -> None:
    with pytest.raises(SettingsError):
        save_settings(Settings(device="tpu"), tmp_path / "settings.toml")
    assert not (tmp_path / "settings.toml").exists()


def test_photoclip_home_moves_everything(tmp_path: Path) -> None:
    paths = app_paths({"PHOTOCLIP_HOME": str(tmp_path)})
    for path in (paths.catalog, paths.index, paths.settings, paths.models_cache, paths.lock):
        assert tmp_path in path.parents


def test_platform_dirs_without_override() -> None:
    paths = app_paths({})
    assert "PhotoClip" in str(paths.data_dir) and "PhotoClip" in str(paths.config_dir)


def test_resources_ship_with_the_package() -> None:
    assert (resources_dir() / "icons" / "photoclip.svg").is_file()
