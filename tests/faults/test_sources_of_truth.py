"""The user's own files (settings, the catalog) and the writer lock, damaged in every way
a disk, a crash or a hand edit damages them: one line saying what to do, a non-zero exit,
no traceback, and the file left exactly as it was; the lock never blocks or crashes."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from photoclip.core.catalog.migrations import MIGRATIONS, SCHEMA_VERSION
from photoclip.core.catalog.store import Catalog
from photoclip.core.lock import LibraryLocked, WriterLock
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings, SettingsError, load_settings, save_settings
from tests.cli.conftest import Cli
from tests.live.conftest import write_picture
from tests.synthetic import make_library

REPO = Path(__file__).resolve().parents[2]


def _one_line_failure(done: subprocess.CompletedProcess[str], *words: str) -> str:
    lines = done.stderr.splitlines()
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# -- two processes migrating one old catalog ----------------------------------------------

_OPEN_WHEN_TOLD = """
import sys, time
from pathlib import Path
from photoclip.core.catalog.store import Catalog
path, go = Path(sys.argv[1]), Path(sys.argv[2])
Path(sys.argv[3]).touch()  # imported: ready
while not go.exists():
    time.sleep(0.0005)
catalog = Catalog(path, backups_dir=path.parent / "backups")
print(catalog.schema_version())
catalog.close()
"""


def _old_catalog(path: Path) -> None:
    """A catalog one schema version behind, as an older PhotoClip left it."""
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("BEGIN IMMEDIATE")
        for migration in MIGRATIONS[:-1]:
            migration.apply(db)
            db.execute("INSERT INTO migrations VALUES (?, ?, 0)", (migration.version, migration.name))
            db.execute(f"PRAGMA user_version = {migration.version}")
        db.execute("INSERT INTO folders(path, added_at) VALUES (?, 0)", (b"/photos",))
        db.execute("COMMIT")
    db.close()


@pytest.mark.parametrize(("existing", "round_"), [(True, 0), (True, 1), (True, 2), (False, 0), (False, 1)])
def test_two_processes_opening_an_old_catalog_migrate_it_once(tmp_path: Path, existing: bool,
                                                              round_: int) -> None:
    """Old catalog: migrated once, backed up once; none yet: made once, by one of them."""
    path = tmp_path / "catalog.sqlite3"
    if existing:
        _old_catalog(path)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [
        subprocess.Popen([sys.executable, "-c", _OPEN_WHEN_TOLD, str(path), str(go), str(tmp_path / f"r{i}")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for i in range(2)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"r{i}").exists() for i in range(2)) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()  # both at once
    results = [child.communicate(timeout=60) for child in children]
    for child, (out, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err
        assert out.strip() == str(SCHEMA_VERSION)
    with sqlite3.connect(path) as db:
        applied = [v for (v,) in db.execute("SELECT version FROM migrations ORDER BY version")]
        assert applied == [m.version for m in MIGRATIONS]
        assert db.execute("SELECT COUNT(*) FROM folders").fetchone()[0] == int(existing)
    db.close()
    assert len(list((tmp_path / "backups").glob("catalog-before-v*.sqlite3"))) == int(existing)
    assert not list(tmp_path.glob(".catalog.sqlite3.new-*"))


# -- settings.toml --------------------------------------------------------------------------

BAD_SETTINGS = [
    ("version = [1]\n", "version"),
    ("version = -1\n", "version"),
    ('version = "1"\n', "version"),
    ('batch_size = "x"\n', "batch_size"),
    ("batch_size = 100000\n", "batch_size"),
    ("decode_workers = -1\n", "decode_workers"),
    ("decode_workers = 1.5\n", "decode_workers"),
    ("exclude = 3\n", "exclude"),
    ("exclude = [3]\n", "exclude"),
    ('precision = "fp64"\n', "precision"),
    ("trash_days = true\n", "trash_days"),
    ("thumbnail_size = 10000\n", "thumbnail_size"),
    ("event_gap_hours = nan\n", "event_gap_hours"),
    ("event_gap_hours = inf\n", "event_gap_hours"),
    ("label_sets = [1]\n", "label_sets"),
    ("read_keywords = 1\n", "read_keywords"),
    ("model = {name = 'x'}\n", "model"),
    ("batch_size = 8\nbatch_size = 9\n", "line 2"),  # bad TOML: a key twice (no key named)
    ("not toml [", "settings"),
    (b"\xff\xfe\x00 = 1\n", "settings"),  # not UTF-8
]


@pytest.mark.parametrize(("text", "key"), BAD_SETTINGS)
def test_a_bad_settings_file_stops_with_one_line_and_is_kept(cli: Cli, text: str | bytes,
                                                             key: str) -> None:
    settings = cli.home / "config" / "settings.toml"
    settings.parent.mkdir(parents=True)
    if isinstance(text, bytes):
        settings.write_bytes(text)
    else:
        settings.write_text(text)
    before = settings.read_bytes()
    for command in (("status",), ("folders",)):
        line = _one_line_failure(cli.run(*command, check=False), str(settings), key)
        assert "will not overwrite" in line
    with pytest.raises(SettingsError):  # the only writer of the file refuses too
        save_settings(Settings(), settings)
    assert settings.read_bytes() == before


def test_an_empty_settings_file_means_the_defaults_and_stays_empty(cli: Cli) -> None:
    settings = cli.home / "config" / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_bytes(b"")
    assert load_settings(settings) == Settings()
    cli.run("status")
    assert settings.read_bytes() == b""


# -- the catalog ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def indexed_home(tmp_path_factory: pytest.TempPathFactory, tiny_model_spec: str) -> Path:
    """A home with an indexed, tagged library, its catalog checkpointed into one file."""
    root = tmp_path_factory.mktemp("indexed")
    cli = Cli(root / "home", tiny_model_spec)
    (cli.home / "config").mkdir(parents=True)
    (cli.home / "config" / "settings.toml").write_text("label_sets = []\n")  # no zero-shot: faster
    pictures = root / "Pictures"
    make_library(pictures, per_class=1, formats=("JPEG",))
    cli.run("add", str(pictures))
    cli.run("index")
    cli.run("tags", "--photo", str(sorted(pictures.rglob("*.jpg"))[0]), "--add", "mine")
    with sqlite3.connect(cli.home / "catalog.sqlite3") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return cli.home


def _home_with_catalog(indexed_home: Path, tmp_path: Path, model: str,
                       damage: Callable[[bytes, Path], bytes]) -> tuple[Cli, Path, bytes]:
    """A copy of the indexed home whose catalog is damaged (a fresh path: no connection
    of this process has the old one open)."""
    home = tmp_path / "home"
    shutil.copytree(indexed_home, home, ignore=shutil.ignore_patterns("catalog.sqlite3*"))
    source = indexed_home / "catalog.sqlite3"
    damaged = damage(source.read_bytes(), source)
    (home / "catalog.sqlite3").write_bytes(damaged)
    return Cli(home, model), home / "catalog.sqlite3", damaged


def _flip(data: bytes, start: int, stop: int) -> bytes:
    out = bytearray(data)
    for i in range(start, min(stop, len(out)), 3):
        out[i] ^= 0x5A
    return bytes(out)


def _root_page(table: str) -> Callable[[bytes, Path], bytes]:
    def damage(data: bytes, source: Path) -> bytes:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as db:
            page_size = db.execute("PRAGMA page_size").fetchone()[0]
            root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        db.close()
        return _flip(data, (root - 1) * page_size, root * page_size)  # same size, b-tree broken
    return damage


DAMAGE = {
    "zero-length": lambda data, _: b"",
    "truncated": lambda data, _: data[: len(data) // 2],
    "truncated-header": lambda data, _: data[:60],
    "not-sqlite": lambda data, _: b"these are not the pages you are looking for\n" * 200,
    "header-flipped": lambda data, _: _flip(data, 0, 100),
    "schema-page-flipped": lambda data, _: _flip(data, 100, 4096),
    "photos-btree-flipped": _root_page("photos"),
    "tags-btree-flipped": _root_page("tags"),
}
COMMANDS = [("status",), ("search", "red"), ("index",), ("tags",), ("folders",)]


@pytest.mark.model
@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_catalog_stops_every_command_with_one_line_and_is_never_written(
        indexed_home: Path, tmp_path: Path, tiny_model_spec: str, damage: str) -> None:
    cli, catalog, damaged = _home_with_catalog(indexed_home, tmp_path, tiny_model_spec, DAMAGE[damage])
    failed = 0
    for command in COMMANDS:
        done = cli.run(*command, check=False)
        if damage.endswith("btree-flipped") and done.returncode == 0:
            continue  # this command never reads the broken table
        _one_line_failure(done, "damaged", str(catalog), "backups", "will not overwrite")
        failed += 1
        assert catalog.read_bytes() == damaged, f"{command} wrote the damaged catalog"
    assert failed >= (1 if damage.endswith("btree-flipped") else len(COMMANDS))
    assert catalog.read_bytes() == damaged
    assert not list(catalog.parent.glob(".catalog.sqlite3.new-*"))


@pytest.mark.model
def test_a_full_disk_mid_index_keeps_the_old_state_and_the_next_run_recovers(
        indexed_home: Path, tmp_path: Path, tiny_model_spec: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    cli, _, _ = _home_with_catalog(indexed_home, tmp_path, tiny_model_spec,
                                         lambda data, _: data)
    before = cli.json("status")
    more = tmp_path / "More"
    make_library(more, per_class=2, seed=5, formats=("JPEG", "PNG"))
    cli.run("add", str(more))
    real_connect = Catalog._connect

    def no_room_to_grow(self: Catalog) -> sqlite3.Connection:
        db = real_connect(self)  # SQLite's own SQLITE_FULL once the file would grow
        db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
        return db

    with monkeypatch.context() as patch:
        patch.setattr(Catalog, "_connect", no_room_to_grow)
        _one_line_failure(cli.run("index", check=False), "disk full", "nothing was lost")
    assert cli.json("status")["indexed"] == before["indexed"]  # the old state, usable
    assert cli.run("search", "red").stdout
    cli.run("index")  # the next run recovers
    after = cli.json("status")
    assert after["indexed"] == before["indexed"] + len(list(more.rglob("*.*")))
    assert after["failed"] == 0
    photo = sorted((indexed_home.parent / "Pictures").rglob("*.jpg"))[0]
    assert "mine" in cli.run("tags", "--photo", str(photo)).stdout


# -- the writer lock ---------------------------------------------------------------------------

LOCK_CONTENTS = {
    "zero-length": b"",
    "garbage": os.urandom(300) + b"\n\r\x1b[2J\nTraceback (most recent call last):\n",
    "stale pid": b"pid 999999 (index)\n",
    "not a number": b"pid many (index)\n",
}


@pytest.mark.parametrize("contents", LOCK_CONTENTS)
def test_a_damaged_lock_file_neither_blocks_nor_crashes(tmp_path: Path, contents: str) -> None:
    path = tmp_path / "writer.lock"
    path.write_bytes(LOCK_CONTENTS[contents])
    with WriterLock(path, "index") as lock:
        assert lock.held
        assert path.read_bytes() == f"pid {os.getpid()} (index)\n".encode()
        with pytest.raises(LibraryLocked) as refused:
            WriterLock(path).acquire()
        assert f"pid {os.getpid()} (index)" in str(refused.value)
    with WriterLock(path):
        pass


def test_a_held_lock_with_garbage_in_it_is_reported_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "writer.lock"
    with WriterLock(path):
        path.write_bytes(LOCK_CONTENTS["garbage"])  # what another writer's crash could leave
        with pytest.raises(LibraryLocked) as refused:
            WriterLock(path).acquire()
    message = str(refused.value)
    assert "\n" not in message and "\r" not in message and "\x1b" not in message
    assert "unknown process" in message


def test_a_huge_lock_file_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "writer.lock"
    with open(path, "wb") as f:
        f.truncate(4 << 30)  # sparse: 4 GiB of zeros
    started = time.monotonic()
    with WriterLock(path):
        pass
    assert time.monotonic() - started < 2
    assert path.stat().st_size == 0


def test_a_full_disk_does_not_stop_the_lock_being_taken(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(*args: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    lock = WriterLock(tmp_path / "writer.lock")
    with monkeypatch.context() as patch:  # only the note inside fails to be written
        patch.setattr(os, "write", no_space)
        patch.setattr(os, "pwrite", no_space)
        lock.acquire()
    assert lock.held
    with pytest.raises(LibraryLocked):
        WriterLock(tmp_path / "writer.lock").acquire()
    lock.release()


# -- the app's start -----------------------------------------------------------------------------

@pytest.mark.parametrize("broken", ["settings", "catalog"])
def test_the_app_says_why_it_cannot_start_and_leaves_the_file(
        qapp: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], broken: str) -> None:
    from photoclip.ui import app

    home = tmp_path / "home"
    monkeypatch.setenv("PHOTOCLIP_HOME", str(home))
    damaged = home / ("config/settings.toml" if broken == "settings" else "catalog.sqlite3")
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"version = [1]\n" if broken == "settings" else b"\0" * 4096)
    shown: list[str] = []
    monkeypatch.setattr(app.QMessageBox, "critical", lambda parent, title, text: shown.append(text))
    assert app.main(["photoclip"]) == 1
    assert len(shown) == 1 and "\n" not in shown[0] and str(damaged) in shown[0]
    assert "Traceback" not in capsys.readouterr().err
    assert damaged.read_bytes() == (b"version = [1]\n" if broken == "settings" else b"\0" * 4096)


def test_a_row_whose_text_is_no_longer_utf8_is_damage_in_one_line(tmp_path: Path) -> None:
    """Bytes flipped inside a text value: SQLite reads the row and Python cannot decode it."""
    from photoclip.core.catalog.errors import CatalogDamaged, catalog_problem

    exc = sqlite3.OperationalError("Could not decode to UTF-8 column 'model_id' with text "
                                   "'local-dir:/x\udcff\udcfe/tiny'")
    problem = catalog_problem(exc, tmp_path / "catalog.sqlite3", tmp_path / "backups")
    assert isinstance(problem, CatalogDamaged)
    assert "with text" not in str(problem) and "\n" not in str(problem)


def test_damage_met_by_one_command_is_refused_by_the_next_until_the_file_is_replaced(
        cli: Cli, tmp_path: Path) -> None:
    """SQLite has no page checksums: a command reading other rows would write to a file
    an earlier one was told is damaged. The note beside it makes every later open refuse
    that same file, and a restored file is used again."""
    from photoclip.core.catalog.damage import damage_note

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        write_picture(photos / f"p{i}.png", i)
    cli.run("add", str(photos))
    cli.run("index")
    cli.run("tags", "--photo", str(photos / "p0.png"), "--add", "mine")
    catalog = app_paths({"PHOTOCLIP_HOME": str(cli.home)}).catalog
    good = catalog.read_bytes()
    with sqlite3.connect(catalog) as db:  # a text value made not UTF-8, as a flipped byte does
        db.execute("UPDATE tags SET name = CAST(X'ff' || name AS TEXT)")
    digest = catalog.read_bytes()
    first = cli.run("tags", "--json", check=False)  # the one command that reads the tags
    assert first.returncode == 1 and "damaged" in first.stderr and damage_note(catalog).exists()
    # Each of these reads only rows that are whole, and would have carried on.
    for args in (("search", "a photo"), ("tags", "--photo", str(photos / "p1.png"), "--add", "x"),
                 ("index",), ("status",)):
        again = cli.run(*args, check=False)
        lines = again.stderr.strip().splitlines()
        assert again.returncode == 1 and len(lines) == 1 and "damaged" in lines[0], again.stderr
    assert catalog.read_bytes() == digest  # nothing written to it
    catalog.write_bytes(good)  # the user restores it: another file, the note is history
    assert cli.run("search", "a photo").returncode == 0
    assert not damage_note(catalog).exists()
    damage_note(catalog).write_text("{not json")  # an unreadable note is ignored
    assert cli.run("search", "a photo").returncode == 0


@pytest.mark.parametrize("note", [
    b"", b'{"file": [1, 2', b"\xff\xfe garbage", b"[1, 2, 3]", b'{"file": "x", "problem": 3}',
    b'{"problem": "damaged"}', b'{"file": [0, 0, 0, 0], "problem": "damaged"}'])
def test_a_damaged_or_stale_damage_note_is_ignored(tmp_path: Path, note: bytes) -> None:
    """The note's own damage (or a note about another file) never refuses a good catalog."""
    from photoclip.core.catalog.damage import damage_note, known_damage

    catalog = tmp_path / "catalog.sqlite3"
    Catalog(catalog).close()
    damage_note(catalog).write_bytes(note)
    assert known_damage(catalog) is None
    Catalog(catalog).close()  # opens
