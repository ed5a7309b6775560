"""Imports go one way (corpus → embeddings → qa → evals → ui): nothing under evals/ imports ui."""

from __future__ import annotations

import ast
from pathlib import Path

EVALS = Path(__file__).resolve().parents[2] / "evals"


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_evals_module_imports_ui():
    files = sorted(EVALS.rglob("*.py"))
    assert any(p.parent.name == "bench" for p in files)
    offenders = {str(p.relative_to(EVALS)): sorted(m for m in _imported_modules(p) if m == "ui" or m.startswith("ui."))
                 for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}
