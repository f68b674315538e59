"""Save Search as Smart Album…: a name and the score a photo needs to be in it.

The cutoff starts at the weakest match on screen (rounded down), so the album
starts with exactly what the user is looking at; raising it is previewed
against the scores shown.
"""

from __future__ import annotations

import math

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

DECIMALS = 3


def default_cutoff(scores: list[float]) -> float:
    """The lowest score shown, rounded down so that photo stays in."""
    if not scores:
        return 0.25  # the CLI's default
    return math.floor(min(scores) * 10**DECIMALS) / 10**DECIMALS


class SmartAlbumDialog(QDialog):
    def __init__(self, query: str, scores: list[float], existing: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save Search as Smart Album")
        self.query, self._scores, self._existing = query, scores, set(existing)
        self.name = QLineEdit(query)
        self.name.setAccessibleName("Album name")
        self.name.selectAll()
        self.cutoff = QDoubleSpinBox()
        self.cutoff.setAccessibleName("Minimum score")
        self.cutoff.setDecimals(DECIMALS)
        self.cutoff.setRange(-1.0, 1.0)
        self.cutoff.setSingleStep(0.01)
        self.cutoff.setValue(default_cutoff(scores))
        self.cutoff.setToolTip("Photos whose match score is at least this are in the album; "
                               "higher is stricter. It starts at the weakest match shown.")
        self.summary = QLabel(wordWrap=True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(QLabel(f"Photos matching “{query}”, found again whenever the album is "
                           "opened (new photos join it).", wordWrap=True))
        form.addRow("&Name:", self.name)
        form.addRow("&Minimum score:", self.cutoff)
        form.addRow(self.summary)
        form.addRow(self.buttons)
        self.name.textChanged.connect(self._update)
        self.cutoff.valueChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        name = self.name.text().strip()
        kept = sum(score >= self.cutoff.value() for score in self._scores)
        lines = [f"{kept:,} of the {len(self._scores):,} photos shown score at least this."]
        if name in self._existing:
            lines.append(f"Replaces the smart album {name!r}.")
        self.summary.setText(" ".join(lines))
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setEnabled(bool(name))
