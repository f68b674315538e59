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


@pytest.mark.parametrize("module", sorted((PACKAGE / "core").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(PACKAGE / "core")))
def test_core_never_imports_qt_the_ui_or_the_cli(module: Path) -> None:
    def front_end(name: str) -> bool:
        parts = name.lstrip(".").split(".")
        qt = parts[0] in {"PySide6", "shiboken6"}
        return qt or "ui" in parts or any(p == "cli" or p.startswith("cli_") for p in parts)
    bad = {n for n in _imports(module) if front_end(n)}
    assert not bad, f"{module.name} imports {bad}"


# ---- The rooms: the package's own import graph, every import counted (lazy ones inside
# functions and TYPE_CHECKING ones too: a circle hidden behind either still ties the two
# modules together for a reader and for a refactoring).

def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph(root: Path) -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """Module -> the package modules it imports, and (importer, module, name) for every
    underscore name imported from another module. ``from pkg import mod`` counts as
    importing ``pkg.mod``; importing a package's ``__init__`` alone is not an edge."""
    files = {_module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    private: list[tuple[str, str, str]] = []
    for name, path in files.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                source = ".".join([*base, *([node.module] if node.module else [])])
                for alias in node.names:
                    target = f"{source}.{alias.name}" if f"{source}.{alias.name}" in files else source
                    if target in files and target != name:
                        edges.add(target)
                        if alias.name.startswith("_") and target == source:
                            private.append((name, source, alias.name))
            elif isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in files and a.name != name)
        graph[name] = {e for e in edges if files[e].name != "__init__.py"}
    return graph, private


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _write_package(root: Path, modules: dict[str, str]) -> Path:
    for relative, source in modules.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return root


def test_the_circle_check_finds_lazy_relative_and_type_checking_circles(tmp_path: Path) -> None:
    pkg = _write_package(tmp_path / "pkg", {
        "__init__.py": "", "room/__init__.py": "",
        "a.py": "from .room import b\n",
        "room/b.py": "def f():\n    from ..a import thing\n",
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.d import D\n",
        "d.py": "import pkg.c\n",
        "e.py": "from .a import x\nfrom .room.b import _hidden\n",
    })
    graph, private = _import_graph(pkg)
    assert sorted(_circles(graph)) == [["pkg.a", "pkg.room.b"], ["pkg.c", "pkg.d"]]
    assert private == [("pkg.e", "pkg.room.b", "_hidden")]


def test_no_import_circles_anywhere_in_the_package() -> None:
    graph, _ = _import_graph(PACKAGE)
    assert _circles(graph) == []


def test_no_module_imports_another_modules_private_names() -> None:
    _, private = _import_graph(PACKAGE)
    assert private == []


# files/ and catalog/ sit under everything that uses them; they never reach up.
_LOWER_ROOMS = {"files", "catalog"}
_UPPER_ROOMS = {"live", "organize", "search"}


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 3 and parts[:2] == ["photoclip", "core"] else None


def test_files_and_catalog_import_nothing_from_live_organize_or_search() -> None:
    graph, _ = _import_graph(PACKAGE)
    reaching_up = sorted((m, t) for m, targets in graph.items() if _room(m) in _LOWER_ROOMS
                         for t in targets if _room(t) in _UPPER_ROOMS)
    assert reaching_up == []
    assert any(_room(m) == "catalog" for m in graph) and any(_room(m) == "files" for m in graph)


def test_the_core_is_assembled_in_library_only() -> None:
    """The rooms never reach for the facade: they are handed the parts they use."""
    graph, _ = _import_graph(PACKAGE)
    users = sorted(m for m, targets in graph.items() if "photoclip.core.library" in targets
                   and _room(m) in {"catalog", "clip", "files", "organize", "search"})
    assert users == []


@pytest.mark.parametrize("module", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(module: Path) -> None:
    lines = len(module.read_text(encoding="utf-8").splitlines())
    assert lines <= 400, f"{module.relative_to(PACKAGE)} has {lines} lines"


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
