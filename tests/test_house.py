"""The house's rules, measured on the code (issue 23): packages by role, imports pointing down, no
cycles, short modules, a small top floor."""
from __future__ import annotations

import ast
import pathlib
import sys

import grimp
import pytest

from .helpers import SRC

ROOT = pathlib.Path(SRC).parent
PACKAGE = ROOT / "src" / "numnet"
#: functions that import a numnet module lazily on purpose (not to dodge a cycle): the CLI keeps
#: ``numnet --help`` fast; the engine imports the numba kernels only when numba is wanted
LAZY = {"cli", "kernels/engine.py"}


def modules():
    return sorted(PACKAGE.rglob("*.py"))


def test_the_top_floor_holds_at_most_twelve_modules():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_400_lines(path):
    assert len(path.read_text().splitlines()) <= 400


def test_every_package_says_what_lives_there():
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 40, init


def test_no_numnet_import_inside_a_function():
    found = []
    for path in modules():
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.split("/")[0] in LAZY or rel in LAZY:
            continue
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("numnet")):
                        found.append(f"{rel}:{node.lineno}")
                    if isinstance(node, ast.Import) and any(a.name.startswith("numnet") for a in node.names):
                        found.append(f"{rel}:{node.lineno}")
    assert not found


def test_no_import_cycle_between_any_two_modules():
    graph = grimp.build_graph("numnet")
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    # Tarjan's strongly connected components: a component of two or more modules is a cycle
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    # a package's __init__ re-exporting its modules is not a cycle of code; drop the package nodes
    cycles = [c for c in ([m for m in c if not (PACKAGE / m.replace("numnet.", "", 1).replace(".", "/")).is_dir()]
                          for c in cycles) if len(c) > 1]
    assert not cycles


def test_the_import_contracts_hold(monkeypatch, capsys):
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)                       # .importlinter at the repository root
    assert lint_imports(no_cache=True, no_logo=True) == 0, capsys.readouterr().out[-2000:]
    assert "0 broken" in capsys.readouterr().out


def test_old_module_paths_still_import():
    import importlib
    import importlib.util

    import numnet

    for old, new in numnet.MOVED.items():
        if new == "integrations.sklearn" and importlib.util.find_spec("sklearn") is None:
            continue                                   # the sklearn extra is not installed
        assert importlib.import_module(f"numnet.{old}") is importlib.import_module(f"numnet.{new}")


def test_layers_are_composed_not_stitched():
    """hasattr probes on layers gave way to declared Layer methods; TokenDense gave way to Dense on
    the last axis (only the loader's rename table still names it, for files made before)."""
    probes, token_dense = [], []
    for path in modules():
        rel = path.relative_to(PACKAGE).as_posix()
        text = path.read_text()
        if not rel.startswith("cli/"):
            probes += [f"{rel}:{i}" for i, line in enumerate(text.splitlines(), 1)
                       if "hasattr(" in line and "layer" in line]
        if "class TokenDense" in text or "TokenDense(" in text:
            token_dense.append(rel)
    assert len(probes) <= 2, probes
    assert not token_dense
