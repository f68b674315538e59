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


@pytest.mark.parametrize("module", sorted((PACKAGE / "core").rglob("*.py")), ids=lambda p: p.name)
def test_core_never_imports_qt_or_the_ui(module: Path) -> None:
    bad = {n for n in _imports(module) if n.split(".")[0] in {"PySide6", "shiboken6"} or "ui" in n.split(".")}
    assert not bad, f"{module.name} imports {bad}"


# The core reports through return values, exceptions, callbacks and logging; only the
# front ends talk to the terminal or end the process. No core module needs an exception.
_EXITS_AND_PRINTS = {
    ("sys", "exit"), ("os", "_exit"), ("os", "abort"),
    *(("sys", stream) for stream in ("stdout", "stderr", "__stdout__", "__stderr__")),
    *(("traceback", name) for name in ("print_exc", "print_exception", "print_stack", "print_tb")),
}
_BUILTINS = {"print", "exit", "quit"}


def _terminal_uses(source: str) -> list[str]:
    """Prints, exits and uses of the standard streams in ``source``, as "line: what"."""
    tree = ast.parse(source)
    modules: dict[str, str] = {}  # local name -> module: `import sys as s`, `import os.path`
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    modules[alias.asname] = alias.name
                else:
                    modules[alias.name.split(".")[0]] = alias.name.split(".")[0]
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            found += [f"{line}: from {node.module} import {alias.name}" for alias in node.names
                      if (node.module, alias.name) in _EXITS_AND_PRINTS]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (modules.get(node.value.id), node.attr) in _EXITS_AND_PRINTS:
                found.append(f"{line}: {modules[node.value.id]}.{node.attr}")
        elif isinstance(node, ast.Name) and node.id in _BUILTINS and isinstance(node.ctx, ast.Load):
            found.append(f"{line}: {node.id}")  # called, or handed on as a callback
    return found


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import sys\nsys.stdout.write('x')", ["2: sys.stdout"]),
        ("import sys\nsys.exit(3)", ["2: sys.exit"]),
        ("import sys as s\nlog = s.__stderr__", ["2: sys.__stderr__"]),
        ("import sys\ndef f(out=sys.stderr): pass", ["2: sys.stderr"]),
        ("from sys import stdout, exit as leave", ["1: from sys import stdout", "1: from sys import exit"]),
        ("import os.path\nos._exit(1)\nos.abort()", ["2: os._exit", "3: os.abort"]),
        ("import traceback\ntraceback.print_exc()", ["2: traceback.print_exc"]),
        ("print('x')\nexit(1)\nquit()", ["1: print", "2: exit", "3: quit"]),
        ("def run(report=print): pass", ["1: print"]),
        ("import sys, os\nsys.platform, sys.modules, sys.version_info, os.environ, os.replace", []),
        ("import logging\nlogging.getLogger(__name__).warning('x')\nstdout = 1", []),
    ],
)
def test_the_print_check_finds_what_it_should(source: str, found: list[str]) -> None:
    assert sorted(_terminal_uses(source)) == sorted(found)


@pytest.mark.parametrize("module", sorted((PACKAGE / "core").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(PACKAGE / "core")))
def test_core_never_prints(module: Path) -> None:
    assert _terminal_uses(module.read_text(encoding="utf-8")) == []


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
