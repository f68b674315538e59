"""What packagers ship: the wheel (with the UI and resources), desktop and AppStream files."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RESOURCES = REPO / "resources"
DESKTOP = RESOURCES / "io.github.photoclip.PhotoClip.desktop"
METAINFO = RESOURCES / "io.github.photoclip.PhotoClip.metainfo.xml"


def _validator(name: str) -> str:
    """The tool's path; skipped where it is missing, except in CI (see the Makefile)."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("PHOTOCLIP_REQUIRE_VALIDATORS"):
            pytest.fail(f"{name} is required here but not installed (make validators)")
        pytest.skip(f"{name} is not installed")
    return found


def test_desktop_entry_passes_desktop_file_validate() -> None:
    done = subprocess.run([_validator("desktop-file-validate"), str(DESKTOP)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_desktop_entry_starts_the_app_with_its_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(DESKTOP)
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Exec"] == "photoclip"
    assert (RESOURCES / "icons" / "hicolor" / "256x256" / "apps" / f"{section['Icon']}.png").is_file()
    assert section["Categories"].endswith(";")


def test_appstream_metainfo_validates() -> None:
    done = subprocess.run([_validator("appstreamcli"), "validate", "--no-net", str(METAINFO)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_python_package_is_listed_for_the_wheel() -> None:
    """setuptools ships only the packages pyproject names: a new room left out of that list
    would work from this checkout and be missing from every installed copy."""
    tomllib = pytest.importorskip("tomllib")  # the standard library from Python 3.11
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(init.parent.relative_to(REPO).parts)
               for init in (REPO / "photoclip").rglob("__init__.py")}
    assert on_disk - listed == set()


@pytest.mark.slow
def test_wheel_carries_the_app_and_its_entry_point_starts(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path / "dist"), str(REPO)], check=True)
    (wheel,) = (tmp_path / "dist").glob("photoclip-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("photoclip/ui/main_window.py", "photoclip/core/live/worker.py",
                   "photoclip/resources/icons/photoclip.svg",
                   "photoclip/resources/icons/hicolor/512x512/apps/photoclip.png",
                   "photoclip/resources/io.github.photoclip.PhotoClip.desktop"):
        assert needed in names, needed
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "photoclip = photoclip.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    target = tmp_path / "installed"  # the wheel alone, its dependencies from this environment
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    str(target), str(wheel)], check=True)
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "PHOTOCLIP_HOME": str(tmp_path / "h")}
    where = subprocess.run([sys.executable, "-c", "import photoclip; print(photoclip.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path).stdout
    assert where.startswith(str(target)), where  # the installed wheel, not this checkout
    for args in (["--help"], ["--version"], ["status", "--json"]):
        done = subprocess.run([sys.executable, "-c", "import sys; from photoclip.cli import main; "
                               "sys.exit(main())", *args], capture_output=True, text=True, env=env,
                              cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert "0.1.0" in subprocess.run(
        [sys.executable, "-c", "import photoclip.cli, sys; sys.argv[0] = 'photoclip'; "
         "photoclip.cli.main(['--version'])"], capture_output=True, text=True, env=env,
        cwd=tmp_path).stdout
