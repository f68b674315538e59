"""The Qt binding must not corrupt Python's reference counts (a known-bad release is pinned out)."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QLabel


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12")
def test_void_methods_keep_the_reference_count_of_none(qtbot) -> None:
    # PySide6 6.12.0 decremented None's count on each call of a method returning
    # void; None's count reaching zero aborts the interpreter, so a long-running app
    # died after enough repaints. A binding with that bug fails here, not for a user.
    label = QLabel()
    qtbot.addWidget(label)
    calls = (lambda: label.setText("x"), label.update, QCoreApplication.processEvents)
    before = sys.getrefcount(None)
    for _ in range(200):
        for call in calls:
            call()
    assert sys.getrefcount(None) - before > -50, "the Qt binding leaks references to None"
