"""A photo's tags as chips: auto tags show their score with Confirm and Reject,
the user's own have Remove, and a field adds more. Rejected tags are not shown.

The chips only ask: ``change(action, names)`` hands the decision to whoever
writes (the window, through the worker) and the chips are redrawn from the
catalog once it is done, so what they show is what was saved.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCompleter,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)

from ..core.models import Tag
from .flow_layout import FlowLayout

# Palette roles only, so a dark palette gets dark chips. Auto tags are dashed:
# suggestions, not decisions.
CHIP_STYLE = """
QFrame#chip { border: 1px solid palette(mid); border-radius: 9px; background: palette(base); }
QFrame#chip[auto="true"] { border-style: dashed; background: palette(window); }
QFrame#chip QToolButton { border: none; padding: 0 2px; }
QFrame#chip QToolButton:hover, QFrame#chip QToolButton:focus {
    background: palette(highlight); color: palette(highlighted-text); border-radius: 8px; }
"""


def tag_text(tag: Tag) -> str:
    """ "beach 0.82" for a suggestion (its score), "beach" for a decided tag."""
    return tag.name if tag.source != "auto" or tag.score is None else f"{tag.name} {tag.score:.2f}"


def tag_tooltip(tag: Tag) -> str:
    if tag.source == "auto":
        origin = tag.label_set or "a label set"
        if origin.startswith("concept:"):
            origin = f"your concept {origin.removeprefix('concept:')!r}"
        else:
            origin = f"the label set {origin!r}"
        score = f" (score {tag.score:.2f})" if tag.score is not None else ""
        return f"Suggested by {origin}{score}: confirm to keep it, reject to hide it for good"
    if tag.label_set == "keywords":
        return "A keyword from the photo's metadata"
    return "Your tag"


def shown_tags(tags: list[Tag]) -> list[Tag]:
    """Decided tags first (by name), then suggestions, most likely first; no rejections."""
    decided = sorted((t for t in tags if t.source == "user"), key=lambda t: t.name.casefold())
    suggested = sorted((t for t in tags if t.source == "auto"), key=lambda t: -(t.score or 0.0))
    return [*decided, *suggested]


class TagChips(QWidget):
    """``change(action, names)``: action is "add", "confirm", "reject" or "remove";
    without it the chips are read-only."""

    changed = Signal()  # a decision was handed on

    def __init__(self, change: Callable[[str, list[str]], None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._change = change
        self.setStyleSheet(CHIP_STYLE)
        self.setAccessibleName("Tags")
        self.flow = FlowLayout(self)
        self.add_field = QLineEdit()
        self.add_field.setPlaceholderText("Add tag…")
        self.add_field.setAccessibleName("Add tag")
        self.add_field.setToolTip("Type a tag and press Enter (commas separate several)")
        self.add_field.setClearButtonEnabled(True)
        self.add_field.setMinimumWidth(140)
        self.add_field.returnPressed.connect(self._add)
        self.add_field.setVisible(change is not None)
        self.chips: dict[str, QFrame] = {}
        self.flow.addWidget(self.add_field)

    def set_completions(self, names: list[str]) -> None:
        completer = QCompleter(names, self.add_field)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.add_field.setCompleter(completer)

    def show_tags(self, tags: list[Tag]) -> None:
        for chip in self.chips.values():
            self.flow.removeWidget(chip)
            chip.deleteLater()
        self.chips = {}
        self.flow.removeWidget(self.add_field)
        for tag in shown_tags(tags):
            self.chips[tag.name] = self._chip(tag)
            self.flow.addWidget(self.chips[tag.name])
        self.flow.addWidget(self.add_field)  # always last, after the chips
        self.updateGeometry()

    def button(self, name: str, action: str) -> QToolButton | None:
        """The chip's button for ``action`` (tests, and a keyboard path to it)."""
        chip = self.chips.get(name)
        return chip.findChild(QToolButton, action) if chip is not None else None

    def _chip(self, tag: Tag) -> QFrame:
        chip = QFrame(self)
        chip.setObjectName("chip")
        chip.setProperty("auto", tag.source == "auto")
        chip.setToolTip(tag_tooltip(tag))
        chip.setAccessibleName(f"Tag {tag.name}")
        row = QHBoxLayout(chip)
        row.setContentsMargins(8, 1, 3, 1)
        row.setSpacing(2)
        row.addWidget(QLabel(tag_text(tag)))
        if self._change is None:
            return chip
        buttons = (("confirm", "✓", "Confirm"), ("reject", "✕", "Reject")) if tag.source == "auto" \
            else (("remove", "✕", "Remove"),)
        for action, symbol, verb in buttons:
            button = QToolButton(chip)
            button.setObjectName(action)
            button.setText(symbol)
            button.setToolTip(f"{verb} the tag {tag.name!r}")
            button.setAccessibleName(f"{verb} tag {tag.name}")
            button.setAutoRaise(True)
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # reachable with Tab
            button.clicked.connect(lambda _=False, a=action, n=tag.name: self._decide(a, [n]))
            row.addWidget(button)
        return chip

    def _add(self) -> None:
        names = [n.strip() for n in self.add_field.text().split(",") if n.strip()]
        if names:
            self.add_field.clear()
            self._decide("add", names)

    def _decide(self, action: str, names: list[str]) -> None:
        if self._change is None:
            return
        for name in names:  # greyed until the catalog says what it is now
            if name in self.chips:
                self.chips[name].setEnabled(False)
        self._change(action, names)
        self.changed.emit()
