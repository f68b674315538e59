"""The organizing widgets on their own: chips, the flow layout, the smart-album dialog's cutoff."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel, QWidget

from photoclip.core.models import Album, Tag
from photoclip.core.organize.organizer import TagRun
from photoclip.ui.browse import album_browse, tag_browse
from photoclip.ui.flow_layout import FlowLayout
from photoclip.ui.label_sets_dialog import describe_runs
from photoclip.ui.sidebar import Sidebar
from photoclip.ui.smart_album_dialog import SmartAlbumDialog, default_cutoff
from photoclip.ui.tag_chips import TagChips, shown_tags, tag_text


def test_chips_show_decisions_then_suggestions_and_hide_rejections(qtbot) -> None:
    tags = [Tag("sunset", "auto", 0.61, "scenes"), Tag("zoo", "user"),
            Tag("beach", "auto", 0.83, "scenes"), Tag("dog", "rejected"), Tag("Anna", "user")]
    assert [t.name for t in shown_tags(tags)] == ["Anna", "zoo", "beach", "sunset"]
    assert tag_text(tags[2]) == "beach 0.83" and tag_text(tags[1]) == "zoo"
    asked: list[tuple[str, list[str]]] = []
    chips = TagChips(lambda action, names: asked.append((action, names)))
    qtbot.addWidget(chips)
    chips.show_tags(tags)
    assert set(chips.chips) == {"Anna", "zoo", "beach", "sunset"}
    assert chips.button("zoo", "remove") is not None and chips.button("zoo", "confirm") is None
    assert chips.button("beach", "confirm").accessibleName() == "Confirm tag beach"
    chips.button("beach", "reject").click()
    chips.add_field.setText("holiday, Anna's birthday ")
    chips.add_field.returnPressed.emit()
    assert asked == [("reject", ["beach"]), ("add", ["holiday", "Anna's birthday"])]
    assert not chips.chips["beach"].isEnabled()  # until the catalog answers
    read_only = TagChips()
    qtbot.addWidget(read_only)
    read_only.show_tags(tags)
    assert read_only.button("beach", "confirm") is None and read_only.add_field.isHidden()


def test_chips_take_their_colours_from_the_palette(qtbot) -> None:
    app = QApplication.instance()
    original = app.palette()
    dark = QPalette(original)
    for role, colour in ((QPalette.ColorRole.Window, "#202124"), (QPalette.ColorRole.Base, "#17181a"),
                         (QPalette.ColorRole.WindowText, "#e8eaed"), (QPalette.ColorRole.Text, "#e8eaed")):
        dark.setColor(role, QColor(colour))
    app.setPalette(dark)
    try:
        chips = TagChips(lambda action, names: None)
        qtbot.addWidget(chips)
        chips.show_tags([Tag("beach", "user"), Tag("sunset", "auto", 0.7, "scenes")])
        chips.resize(400, 60)
        chips.show()
        for chip in chips.chips.values():
            image = chip.grab().toImage()
            inside = image.pixelColor(image.width() // 2, 2)  # between the border and the text
            assert inside.lightness() < 80, inside.name()
    finally:
        app.setPalette(original)


def test_the_flow_layout_wraps_chips_into_rows(qtbot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    layout = FlowLayout(host)
    labels = [QLabel("a fairly long tag name") for _ in range(6)]
    for label in labels:
        layout.addWidget(label)
    one_row = layout.heightForWidth(10_000)
    assert layout.heightForWidth(200) > 2 * one_row  # narrow: several rows
    host.resize(200, layout.heightForWidth(200))
    layout.setGeometry(host.rect())
    assert len({label.geometry().y() for label in labels}) > 2
    assert all(label.geometry().right() <= 200 for label in labels)


def test_the_smart_album_cutoff_starts_at_the_weakest_match_shown(qtbot) -> None:
    assert default_cutoff([0.31, 0.2479, 0.4]) == 0.247  # rounded down: that photo stays in
    dialog = SmartAlbumDialog("red circle", [0.5, 0.4, 0.2479], ["Reds"])
    qtbot.addWidget(dialog)
    assert dialog.cutoff.value() == 0.247 and "3 of the 3" in dialog.summary.text()
    dialog.cutoff.setValue(0.45)
    assert "1 of the 3" in dialog.summary.text()
    dialog.name.setText("Reds")
    assert "Replaces" in dialog.summary.text()
    dialog.name.setText("  ")
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Save).isEnabled()


def test_tag_runs_are_summed_up_in_words() -> None:
    runs = [TagRun("shapes", photos=24, tags=22), TagRun("scenes", photos=24, tags=1)]
    assert describe_runs(runs) == "Tagged 24 photos: 22 tags from shapes, 1 tag from scenes."


def test_the_sidebar_groups_albums_and_keeps_what_is_chosen(qtbot) -> None:
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    chosen: list[object] = []
    sidebar.browse_requested.connect(chosen.append)
    sidebar.show_tags([("beach", 12), ("dog", 3)])
    sidebar.show_albums([Album("Reds", "smart", (1, 2), key="Reds"),
                         Album("Beach · 14 Jul 2024", "event", (3, 4, 5), key="event-3"),
                         Album("Beach", "tag", (1, 3), key="beach")])
    groups = [sidebar.albums.topLevelItem(i).text(0)
              for i in range(sidebar.albums.topLevelItemCount())]
    assert groups == ["Smart Albums", "Events", "Tag Albums"]
    assert sidebar.tag_names() == ["beach", "dog"] and sidebar.smart_album_names() == ["Reds"]
    sidebar.find("tag", "dog").setSelected(True)
    assert chosen == [tag_browse("dog")]
    sidebar.find("event", "event-3").setSelected(True)  # one choice at a time
    assert chosen[-1].label == "Event: Beach · 14 Jul 2024" and chosen[-1].snapshot == (3, 4, 5)
    assert not sidebar.tags.selectedItems()
    sidebar.show_tags([("beach", 13), ("dog", 3)])  # a refresh keeps the album chosen
    assert sidebar.chosen() == album_browse(Album("Beach · 14 Jul 2024", "event", (3, 4, 5),
                                                  key="event-3"))
    assert len(chosen) == 2  # refilling asks for nothing
