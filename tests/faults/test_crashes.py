"""kill -9 of `index`, `--reindex`, `watch` and `tag` at random moments: nothing lost.

A few rounds here; ``tests/soak/crash_soak.py`` runs 50+ with the same harness.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.crash_rounds import COMMANDS, CrashLibrary, summarise

pytestmark = [pytest.mark.model, pytest.mark.slow]


def test_kill_nine_at_random_moments_loses_nothing(tmp_path: Path, tiny_model_spec: str) -> None:
    library = CrashLibrary(tmp_path, tiny_model_spec, seed=20261203)
    at_start = len(library._committed_contents())
    results = [library.crash_round(command) for command in COMMANDS]
    problems = [(r.command, r.problems) for r in results if r.problems]
    assert problems == []
    summary = summarise(results)
    assert summary["photos_lost"] == summary["duplicated"] == 0
    assert summary["reencoded_after_commit"] == summary["user_tags_lost"] == 0
    # The rounds really ran: at least one kill came mid-run, and new photos were committed.
    assert summary["killed_mid_run"] >= 1, summary
    assert len(library._committed_contents()) > at_start
