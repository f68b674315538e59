"""Where PhotoClip keeps its files.

Every path the app writes comes from here, so tests and scripts can move all of
it with one environment variable (``PHOTOCLIP_HOME``) and nothing else needs
patching.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "PhotoClip"
HOME_ENV = "PHOTOCLIP_HOME"


@dataclass(frozen=True)
class AppPaths:
    """The directories of one PhotoClip installation (or one test)."""

    data_dir: Path
    config_dir: Path
    cache_dir: Path

    @property
    def catalog(self) -> Path:
        return self.data_dir / "catalog.sqlite3"

    @property
    def index(self) -> Path:
        return self.data_dir / "index.hnsw"

    @property
    def lock(self) -> Path:
        return self.data_dir / "writer.lock"

    @property
    def backups(self) -> Path:
        return self.data_dir / "backups"

    @property
    def settings(self) -> Path:
        return self.config_dir / "settings.toml"

    @property
    def models_cache(self) -> Path:
        return self.cache_dir / "models"

    @property
    def thumbnails(self) -> Path:
        return self.cache_dir / "thumbnails"

    @property
    def label_sets(self) -> Path:
        """The user's own label sets (TOML), beside the built-in ones."""
        return self.config_dir / "labelsets"

    @property
    def class_vectors(self) -> Path:
        """Label sets' text embeddings, per model (recomputed if deleted)."""
        return self.cache_dir / "class-vectors"

    def ensure(self) -> AppPaths:
        for directory in (self.data_dir, self.config_dir, self.cache_dir):
            directory.mkdir(parents=True, exist_ok=True)
        return self


def app_paths(environ: dict[str, str] | None = None) -> AppPaths:
    """Resolve the directories: ``PHOTOCLIP_HOME`` if set, else the platform's."""
    env = os.environ if environ is None else environ
    home = env.get(HOME_ENV)
    if home:
        root = Path(home).expanduser().absolute()
        return AppPaths(root, root / "config", root / "cache")
    import platformdirs  # lazy: keeps `photoclip --help` lean

    return AppPaths(
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
    )


def resources_dir() -> Path:
    """The packaged ``resources/`` folder (inside the wheel, or the source tree)."""
    from importlib import resources

    try:
        return Path(str(resources.files("photoclip.resources")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "resources"
