"""The shape of the code: no import cycles, imports one way (corpus → embeddings → qa → evals → ui), small modules.

Every import that runs counts, the ones inside functions too: a lazy import hides a cycle from Python, not from
a reader. Imports under ``if TYPE_CHECKING:`` never run and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("corpus", "embeddings", "qa", "evals", "ui")  # each may import only itself and the ones before it
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for layer in LAYERS for p in sorted((REPO / layer).rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The product modules that ``name`` imports (``from pkg import sub`` counts as importing ``pkg.sub`` only;
    a module's own packages are not counted: Python runs them before it whatever it imports)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and _is_type_checking(block.test)
                 for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import a.b.c` of a name inside a.b: the module a.b
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):  # its own packages run first anyway
                found.add(target)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checks_see_a_cycle_and_a_backward_import() -> None:
    """The helpers below are what the real checks use: they must find what they look for."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert _layer_violations({"corpus.x": {"qa.y"}, "qa.y": {"corpus.x"}}) == ["corpus.x imports qa.y"]


def test_the_graph_sees_lazy_imports_and_skips_type_only_ones(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import qa.types\n"
                      "def f():\n    from corpus import load\n    import embeddings.layout\n")
    assert _imports("ui.m", source, {"qa.types", "corpus", "corpus.load", "embeddings", "embeddings.layout"}) == {
        "corpus.load", "embeddings.layout"}


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def _layer_violations(graph: dict[str, set[str]]) -> list[str]:
    def layer(module: str) -> int:
        return LAYERS.index(module.split(".")[0])

    return sorted(f"{m} imports {t}" for m, targets in graph.items() for t in targets if layer(t) > layer(m))


def test_imports_go_one_way() -> None:
    assert _layer_violations(_graph()) == []


@pytest.mark.parametrize("layer", LAYERS)
def test_no_module_over_the_line_limit(layer: str) -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _modules().items()
             if name.split(".")[0] == layer}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
