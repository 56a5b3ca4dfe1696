"""The layout holds: nothing takes names from the package root but its factory, and no module
grows past a readable size.

The layer order itself (web|cli → services → adapters → db → domain → config) is checked by the
import contracts in pyproject.toml, which `make lint` and `make test` run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
MODULES = sorted(p for p in APP.rglob("*.py"))
MAX_LINES = 500


def _imports_package_root(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "app" for a in node.names):
            found.append("import app")
        if isinstance(node, ast.ImportFrom) and node.module == "app" and node.level == 0:
            for alias in node.names:
                if alias.name == "create_app":  # the factory is what the root is for
                    continue
                if not (APP / alias.name).is_dir() and not (APP / f"{alias.name}.py").exists():
                    found.append(f"from app import {alias.name}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(APP.parent)))
def test_no_module_imports_the_package_root_for_a_name(path: Path) -> None:
    assert _imports_package_root(ast.parse(path.read_text())) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(APP.parent)))
def test_modules_stay_readable(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_the_package_root_holds_the_factory_only() -> None:
    tree = ast.parse((APP / "__init__.py").read_text())
    defined = [
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
    ]
    assigned = [n for n in tree.body if isinstance(n, ast.Assign | ast.AnnAssign)]
    assert defined == ["create_app"]
    assert assigned == []
