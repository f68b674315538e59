"""Text read in photos, in the catalog: stored and read back, the text pass's work list,
finding photos by words, prefixes, phrases, accents and substrings of codes (exact ids in
order), user input that would be FTS5 syntax, the trash, deletes, and the v6 -> v7
migration that added the tables."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from photoclip.core.catalog.migrations import MIGRATIONS, SCHEMA_VERSION
from photoclip.core.catalog.store import Catalog, EncodedPhoto
from photoclip.core.catalog.text import StoredText
from photoclip.core.catalog.text_search import TextQueryError

BOX = ((0.1, 0.2), (0.6, 0.2), (0.6, 0.3), (0.1, 0.3))  # fractions of the picture
ENGINE = "rapidocr-3.4/ppocrv5"
TEXTS = {  # photo id -> lines read (taken_at = id: 7 is the newest)
    1: ["WIFI PASSWORD: hunter2", "Guest network"],
    2: ["Café da Manhã", "Rua Augusta 12"],
    3: ["Invoice INV-2023-47110", "Hetzner Online GmbH", "Total 47,11 EUR"],
    4: ["password reset instructions", "your wifi router password is on the back"],
    5: [],  # read: no text in it
    6: ["wifi password: trashed"],  # goes to the trash
}
UNREAD = 7


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    root = tmp_path / "Photos"
    folder = catalog.add_folder(root)
    catalog.mark_pending(folder.id, [(root / f"{n}.jpg", 1, n) for n in range(1, 8)])
    catalog.record_results([EncodedPhoto(n, f"h{n}", 1, 1, float(n), np.ones(4, np.float32), "m")
                            for n in range(1, 8)])
    catalog.save_text_many([(n, [(t, BOX, 0.9) for t in lines], ENGINE) for n, lines in TEXTS.items()])
    catalog.trash([6])
    yield catalog
    catalog.close()


def _ids(catalog: Catalog, query: str) -> list[int]:
    found = [pid for pid, _, _ in catalog.text_matches(query, 10)]
    assert sorted(found) == catalog.text_ids(query).tolist()  # the filter keeps the same photos
    return found


def test_text_round_trips_and_is_replaced(catalog: Catalog) -> None:
    read = catalog.text_of([1, 5, UNREAD, 99])
    assert sorted(read) == [1, 5]
    assert read[1].engine == ENGINE and read[1].lines == [
        ("WIFI PASSWORD: hunter2", BOX, 0.9), ("Guest network", BOX, 0.9)]
    assert read[5].lines == []
    catalog.save_text(1, [("  new words  ", BOX, 0.5), ("   ", BOX, 0.1)], "other")
    assert catalog.text_of([1])[1][::2] == ("other", [("new words", BOX, 0.5)])
    assert _ids(catalog, "hunter2") == [] and _ids(catalog, "new words") == [1]


def test_a_row_whose_lines_are_not_lines_is_left_out(catalog: Catalog) -> None:
    with sqlite3.connect(catalog.path) as db:
        db.execute("UPDATE photo_text SET lines = '[[\"a\", 3, 0.5]]' WHERE photo_id = 1")
        db.execute("UPDATE photo_text SET lines = '{\"not\": \"lines\"}' WHERE photo_id = 2")
    db.close()
    assert sorted(catalog.text_of([1, 2, 3])) == [3]
    assert isinstance(catalog.text_of([3])[3], StoredText)


def test_words_prefixes_phrases_and_accents_find_exactly_their_photos(catalog: Catalog) -> None:
    assert _ids(catalog, "wifi password") == [1, 4]  # 6 is in the trash
    assert _ids(catalog, '"wifi password"') == [1]  # 4 has both words, not side by side
    assert _ids(catalog, '"router password" wifi') == [4]
    assert _ids(catalog, "pass*") == [4, 1]  # two "password"s in 4
    assert _ids(catalog, "hetz* invoice") == [3]
    assert _ids(catalog, "cafe manha") == [2]  # diacritics folded
    assert _ids(catalog, "CAFÉ") == [2] and _ids(catalog, "rua augusta") == [2]
    assert _ids(catalog, "password reset") == [4]
    assert _ids(catalog, "nothing here") == [] and _ids(catalog, "") == []


def test_a_photo_with_more_of_the_words_ranks_first(catalog: Catalog) -> None:
    found = catalog.text_matches("password", 10)
    assert [pid for pid, _, _ in found] == [4, 1]  # two "password"s in 4
    assert found[0][1] > found[1][1] > 0
    assert found[1][2] == "WIFI PASSWORD: hunter2\nGuest network"
    assert [pid for pid, _, _ in catalog.text_matches("password", 1)] == [4]


def test_substrings_of_codes_and_numbers_rank_after_whole_words(catalog: Catalog) -> None:
    assert _ids(catalog, "hunter2") == [1]
    assert _ids(catalog, "4711") == [3]  # inside INV-2023-47110
    assert _ids(catalog, "2023-4711") == [3]
    assert _ids(catalog, "hunter") == [1]
    assert _ids(catalog, "invoice 4711") == [3]  # one whole word, one substring
    assert _ids(catalog, "02") == []  # in "2023", but too short for a substring: words only
    long_text = [("Code 4711 on the door", BOX, 0.9), *[(f"line {n} of a long text", BOX, 0.9)
                                                         for n in range(40)]]
    catalog.save_text(5, long_text, ENGINE)  # a long text: a low bm25 for its whole word
    found = catalog.text_matches("4711", 10)
    assert [pid for pid, _, _ in found] == [5, 3]  # the whole word first, and scored higher
    assert found[0][1] > found[1][1] > 0 and "47110" in found[1][2]


def test_the_best_live_matches_are_found_behind_many_trashed_ones(catalog: Catalog, tmp_path: Path) -> None:
    folder = catalog.folders()[0]
    catalog.mark_pending(folder.id, [(tmp_path / "Photos" / f"z{n}.jpg", 1, 1) for n in range(30)])
    extra = [p.id for p in catalog.pending_photos()]
    catalog.record_results([EncodedPhoto(n, f"h{n}", 1, 1, 1.0, np.ones(4, np.float32), "m") for n in extra])
    catalog.save_text_many([(n, [("zebra zebra", BOX, 0.9)], ENGINE) for n in extra[:-1]])
    catalog.save_text(extra[-1], [("a zebra among many other words", BOX, 0.9)], ENGINE)
    catalog.trash(extra[:-1])  # 29 better matches, all in the trash
    assert [pid for pid, _, _ in catalog.text_matches("zebra", 1)] == [extra[-1]]
    assert [pid for pid, _, _ in catalog.text_matches("zebr", 1)] == [extra[-1]]  # as a substring


@pytest.mark.parametrize("query", ['"', 'wifi "password', '"wifi" "'])
def test_an_unclosed_quote_is_one_clear_error(catalog: Catalog, query: str) -> None:
    with pytest.raises(TextQueryError, match="unclosed quote"):
        catalog.text_matches(query, 10)
    with pytest.raises(TextQueryError):
        catalog.text_ids(query)


@pytest.mark.parametrize("query", [
    "*", "NEAR(", "NEAR(wifi password)", "-", "-wifi", ":", "full_text:wifi", "wifi AND",
    "OR", "NOT wifi", "^wifi", "wifi)", "(", '""', '"*"', "a*b*", "{full_text}: x", "\\",
])
def test_fts5_syntax_in_user_input_is_only_text(catalog: Catalog, query: str) -> None:
    catalog.text_matches(query, 10)  # never an FTS5 syntax error
    catalog.text_ids(query)


def test_fts5_operators_are_words(catalog: Catalog) -> None:
    assert _ids(catalog, "NEAR(wifi password)") == []  # "near" is a word, in none of them
    assert _ids(catalog, "wifi AND password") == []  # and so is "and"
    assert _ids(catalog, "NOT password") == [] and _ids(catalog, "-wifi") == [1, 4]
    assert _ids(catalog, "password:") == [4, 1] and _ids(catalog, "wifi*)") == [1, 4]


def test_deleting_a_photo_drops_its_text_and_the_index_stays_whole(catalog: Catalog) -> None:
    catalog.forget([1])
    with sqlite3.connect(catalog.path) as db:
        assert db.execute("SELECT COUNT(*) FROM photo_text WHERE photo_id = 1").fetchone() == (0,)
        for table in ("photo_text_words", "photo_text_grams"):  # raises if the index drifted
            db.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
    db.close()
    assert _ids(catalog, "wifi password") == [4] and _ids(catalog, "hunter2") == []


def test_a_restored_photo_is_found_again(catalog: Catalog) -> None:
    catalog.save_text(6, [("wifi password: trashed", BOX, 0.9)], ENGINE)  # still in the trash
    with sqlite3.connect(catalog.path) as db:
        db.execute("UPDATE photos SET deleted_at = NULL WHERE id = 6")
    db.close()
    assert _ids(catalog, '"wifi password"') == [6, 1]  # 6's text is shorter


def test_missing_text_is_the_unread_newest_first_and_follows_engine_and_content(catalog: Catalog) -> None:
    assert catalog.photos_missing_text(10, ENGINE) == [(UNREAD, catalog.photo(UNREAD).path)]
    assert catalog.count_missing_text(ENGINE) == 1
    newer = "rapidocr-3.5/ppocrv6"  # a new engine version reads every live photo again
    assert [pid for pid, _ in catalog.photos_missing_text(10, newer)] == [7, 5, 4, 3, 2, 1]
    assert [pid for pid, _ in catalog.photos_missing_text(2, newer)] == [7, 5]
    catalog.save_text_many([(7, [], newer), (5, [], newer)])
    assert [pid for pid, _ in catalog.photos_missing_text(10, newer)] == [4, 3, 2, 1]
    assert catalog.count_missing_text(newer) == 4 and catalog.count_missing_text(ENGINE) == 2
    catalog.record_results([EncodedPhoto(3, "changed", 1, 1, 3.0, np.ones(4, np.float32), "m")])
    assert [pid for pid, _ in catalog.photos_missing_text(10, ENGINE)] == [7, 5, 3]  # 5: read by newer


def test_text_saved_for_a_photo_gone_meanwhile_is_skipped(catalog: Catalog) -> None:
    catalog.save_text_many([(99, [("ghost", BOX, 1.0)], ENGINE), (7, [("late", BOX, 1.0)], ENGINE)])
    assert _ids(catalog, "ghost") == [] and _ids(catalog, "late") == [7]


def test_a_v6_catalog_migrates_with_a_backup_and_keeps_its_rows(tmp_path: Path) -> None:
    path, root = tmp_path / "catalog.sqlite3", tmp_path / "Photos"
    with sqlite3.connect(path, isolation_level=None) as db:  # as PhotoClip wrote it before
        for migration in MIGRATIONS[:6]:
            migration.apply(db)
            db.execute("INSERT INTO migrations VALUES (?, ?, 0)", (migration.version, migration.name))
        db.execute("PRAGMA user_version = 6")
        db.execute("INSERT INTO folders(path, added_at) VALUES (?, 0)", (bytes(root),))
        for n in (1, 2):
            db.execute("INSERT INTO photos(folder_id, path, size, mtime_ns, state, embedding, model_id, "
                       "indexed_at, content_hash) VALUES (1, ?, 1, ?, 'indexed', ?, 'm', ?, ?)",
                       (bytes(root / f"{n}.jpg"), n, np.ones(4, np.float32).tobytes(), n, f"h{n}"))
        db.execute("INSERT INTO tags(photo_id, name, source) VALUES (1, 'beach', 'user')")
    db.close()
    catalog = Catalog(path, backups_dir=tmp_path / "backups")
    try:
        assert catalog.schema_version() == SCHEMA_VERSION >= 7
        assert len(list((tmp_path / "backups").glob("catalog-before-v*-*.sqlite3"))) == 1
        assert catalog.photo_by_path(root / "2.jpg").mtime_ns == 2 and catalog.tags(1)[0].name == "beach"
        assert [pid for pid, _ in catalog.photos_missing_text(10, ENGINE)] == [2, 1]
        catalog.save_text(2, [("Rua Augusta", BOX, 0.9)], ENGINE)
        assert _ids(catalog, "augusta") == [2] and catalog.count_missing_text(ENGINE) == 1
    finally:
        catalog.close()
