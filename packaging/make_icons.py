"""Render the app icon's PNG sizes from resources/icons/photoclip.svg (run after editing it).

Writes resources/icons/hicolor/SIZExSIZE/apps/photoclip.png, the freedesktop icon theme
layout, so packagers copy the folder as is; PyInstaller and the Windows/macOS notes in
packaging/README.md use the 256 and 512 px ones.

Usage: .venv/bin/python packaging/make_icons.py
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, size: int, target: Path) -> None:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    target.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(target)):
        raise SystemExit(f"cannot write {target}")


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - QPainter needs it
    for size in SIZES:
        render(ICONS / "photoclip.svg", size, ICONS / "hicolor" / f"{size}x{size}" / "apps" / "photoclip.png")
    print(f"wrote {len(SIZES)} PNG icons under {ICONS / 'hicolor'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
