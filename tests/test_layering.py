"""Architecture rules that keep PhotoClip fast to start and the core reusable."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "photoclip"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module if node.level == 0 else f".{node.module}")
    return names


@pytest.mark.parametrize("module", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_never_imports_qt_or_the_ui(module: Path) -> None:
    bad = {n for n in _imports(module) if n.split(".")[0] in {"PySide6", "shiboken6"} or "ui" in n.split(".")}
    assert not bad, f"{module.name} imports {bad}"


@pytest.mark.parametrize("module", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_never_prints(module: Path) -> None:
    calls = [
        node for node in ast.walk(ast.parse(module.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"print", "exit"}
    ]
    assert not calls


def _modules_loaded_by(args: list[str], env: dict[str, str]) -> tuple[int, set[str]]:
    probe = (
        "import sys, json, runpy\n"
        f"sys.argv = ['photoclip', *{args!r}]\n"
        "from photoclip.cli import main\n"
        "try:\n    code = main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
        "sys.stderr.write('\\nMODULES=' + json.dumps(sorted(sys.modules)))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                          timeout=60)
    modules = json.loads(done.stderr.rsplit("MODULES=", 1)[1])
    return done.returncode, set(modules)


@pytest.mark.parametrize("args", [["--help"], ["status"], ["status", "--json"], ["folders"]])
def test_quick_commands_do_not_import_torch(args: list[str], photoclip_home: Path) -> None:
    code, modules = _modules_loaded_by(args, dict(os.environ))
    assert code == 0
    heavy = {m for m in modules if m.split(".")[0] in {"torch", "open_clip", "PySide6", "torchvision"}}
    assert not heavy


def test_status_json_contract(photoclip_home: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "photoclip.cli", "status", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert (status["indexed"], status["pending"], status["failed"], status["failures"]) == (0, 0, 0, [])
