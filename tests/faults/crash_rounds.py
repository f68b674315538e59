"""`kill -9` a running PhotoClip command at a random moment, recover, and count what broke.

Shared by the CI test (``test_crashes.py``: a handful of rounds) and the soak script
(``tests/soak/crash_soak.py``: 50+ rounds with a fixed seed). One library lives
through every round of a run; each round gives the command something to do (new
photos, edited photos, a re-tag), kills it, runs `photoclip index` to recover, and
compares the catalog, read with plain SQL, with what was there before:

- lost: a photo file on disk that is not a live, indexed row after recovery;
- duplicated: more live rows than files, or a search index that disagrees with the catalog;
- re-encoded: a row committed before the kill whose vector was made again by the recovery;
- tags lost: a user tag or decision that was there before the round and is not after.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from photoclip.core.paths import app_paths
from tests.cli.conftest import Cli
from tests.faults.user_state import UserState, read_user_state
from tests.synthetic import CLASSES, draw_picture

COMMANDS = ("index", "--reindex", "watch", "tag")
# Seconds after the command takes the writer lock (tag: after it starts, as it takes
# the lock only for its last ~0.1 s, to write its decisions).
KILL_WITHIN_S = {"index": 2.0, "--reindex": 2.0, "watch": 2.5, "tag": 5.0}


@dataclass
class RoundResult:
    command: str
    kill_after_s: float
    finished_first: bool = False  # the command was done before the kill came
    committed: int = 0  # indexed rows at the moment of the kill
    lost: int = 0
    duplicated: int = 0
    reencoded: int = 0
    tags_lost: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.reencoded or self.tags_lost or self.problems)


class CrashLibrary:
    """A library on disk, driven by real `photoclip` processes and killed at random."""

    def __init__(self, root: Path, model_spec: str, *, seed: int, start_photos: int = 24) -> None:
        self.rng = random.Random(seed)
        self.folder = root / "photos"
        self.folder.mkdir(parents=True)
        self.cli = Cli(root / "home", model_spec)
        self.cli.set_batch_size(4)
        self.catalog = app_paths({"PHOTOCLIP_HOME": str(self.cli.home)}).catalog
        self._made = 0
        self.add_photos(start_photos)
        self.cli.run("add", str(self.folder))
        self.cli.run("index")
        self.cli.run("tag", "--label-set", "kinds")
        self.tag_some()

    # -- giving each command work ------------------------------------------------------
    def add_photos(self, count: int) -> list[Path]:
        made = []
        for _ in range(count):
            colour, shape = CLASSES[self._made % len(CLASSES)]
            path = self.folder / f"p{self._made:05d}.jpg"
            self._made += 1
            draw_picture(colour, shape, self.rng, size=(96, 72)).save(path, quality=90)
            made.append(path)
        return made

    def edit_photos(self, count: int) -> None:
        """New content under old names (what an editor's save does), tags kept by path."""
        existing = sorted(self.folder.glob("*.jpg"))
        for path in self.rng.sample(existing, min(count, len(existing))):
            colour, shape = self.rng.choice(CLASSES)
            tmp = path.with_name(f".{path.name}.tmp")
            draw_picture(colour, shape, self.rng, size=(96, 72)).save(tmp, "JPEG", quality=90)
            os.replace(tmp, path)

    def tag_some(self) -> None:
        existing = sorted(self.folder.glob("*.jpg"))
        for path in self.rng.sample(existing, min(3, len(existing))):
            self.cli.run("tags", "--photo", str(path), "--add", f"mine-{self._made}")

    # -- one round -------------------------------------------------------------------
    def crash_round(self, command: str) -> RoundResult:
        # Within each command's usual run time, so most kills land mid-run.
        result = RoundResult(command, self.rng.uniform(0.0, KILL_WITHIN_S[command]))
        self.add_photos(self.rng.randint(6, 16))
        if command == "--reindex":
            self.edit_photos(3)
        if command == "tag":  # its class vectors made again: a run long enough to land in
            shutil.rmtree(self.catalog.parent / "cache" / "class-vectors", ignore_errors=True)
        before = read_user_state(self.catalog)
        process = subprocess.Popen([sys.executable, "-m", "photoclip.cli", command], env=self.cli.env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if command != "tag":
            self._wait_until_writing(process)
        deadline = time.monotonic() + result.kill_after_s
        while time.monotonic() < deadline and process.poll() is None:
            if command == "watch" and self.rng.random() < 0.1:
                self.add_photos(1)  # photos arriving while it runs
            time.sleep(0.05)
        result.finished_first = process.poll() is not None
        process.send_signal(signal.SIGKILL)
        _, stderr = process.communicate(timeout=60)
        if b"Traceback" in stderr:
            result.problems.append(f"{command} printed a traceback: {stderr.decode()[-400:]}")
        committed = self._committed_contents()
        result.committed = len(committed)
        recovery = self.cli.run("index", "--json", check=False)
        if recovery.returncode != 0 or "Traceback" in recovery.stderr:
            result.problems.append(f"recovery failed: {recovery.stderr[-400:]}")
        else:
            # Only content with no committed vector may be encoded again.
            needed = sum(_content_hash(p) not in committed for p in self.folder.glob("*.jpg"))
            result.reencoded = max(0, json.loads(recovery.stdout)["encoded"] - needed)
        self._count_damage(result, before)
        self.tag_some()
        return result

    def _count_damage(self, result: RoundResult, before: UserState) -> None:
        files = {str(p) for p in self.folder.glob("*.jpg")}
        after = self._vectors()
        result.lost = len(files - after.keys())
        with sqlite3.connect(f"file:{self.catalog}?mode=ro", uri=True) as db:
            live = db.execute("SELECT COUNT(*) FROM photos WHERE deleted_at IS NULL").fetchone()[0]
        status = self.cli.json("status")
        result.duplicated = max(0, live - len(files)) + (status["index_size"] != len(after))
        now = read_user_state(self.catalog)
        result.tags_lost = sum(len(tags - now.tags.get(path, frozenset()))
                               for path, tags in before.tags.items() if path in files)

    def _wait_until_writing(self, process: subprocess.Popen[bytes]) -> None:
        """Until the command holds the writer lock (torch's import is not the moment to test)."""
        lock = self.catalog.parent / "writer.lock"
        mine = f"pid {process.pid} ".encode()
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if lock.read_bytes().startswith(mine):
                    return
            time.sleep(0.02)

    def _vectors(self) -> dict[str, str]:
        """Live indexed rows: path -> content hash."""
        with sqlite3.connect(f"file:{self.catalog}?mode=ro", uri=True, timeout=30) as db:
            rows = db.execute("SELECT path, content_hash FROM photos "
                              "WHERE state = 'indexed' AND deleted_at IS NULL").fetchall()
        return {os.fsdecode(bytes(p)): h for p, h in rows}

    def _committed_contents(self) -> set[str]:
        """Contents with a vector in the catalog (in the trash too: a return reuses it)."""
        with sqlite3.connect(f"file:{self.catalog}?mode=ro", uri=True, timeout=30) as db:
            return {r[0] for r in db.execute(
                "SELECT content_hash FROM photos WHERE embedding IS NOT NULL")}

    def remove(self) -> None:
        shutil.rmtree(self.folder.parent, ignore_errors=True)


def _content_hash(path: Path) -> str:
    """The catalog's content identity (blake2b-128), computed independently."""
    return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()


def summarise(results: list[RoundResult]) -> dict[str, int]:
    return {
        "trials": len(results),
        "killed_mid_run": sum(not r.finished_first for r in results),
        "photos_lost": sum(r.lost for r in results),
        "duplicated": sum(r.duplicated for r in results),
        "reencoded_after_commit": sum(r.reencoded for r in results),
        "user_tags_lost": sum(r.tags_lost for r in results),
        "other_problems": sum(len(r.problems) for r in results),
    }
