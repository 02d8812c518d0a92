"""Rules of the tree that import-linter does not check (its contracts are in
pyproject.toml and run by ./scripts/test): no private name crosses a module boundary, no
module is over 450 lines, no function much over 60 (70 is where it fails)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src" / "posrisk"


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def private_imports(path: Path, root: Path = SRC) -> list[str]:
    """``from <posrisk module> import _name`` in ``path`` (dunder names are not private)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        internal = node.level > 0 or (node.module or "").startswith("posrisk")
        for alias in node.names if internal else ():
            name = alias.name
            if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
                found.append(f"{path.relative_to(root)}:{node.lineno} imports {name}")
    return found


def test_no_private_name_is_imported_across_modules() -> None:
    assert [line for path in modules() for line in private_imports(path)] == []


def test_the_check_sees_a_private_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from .sqlite import _statements, __version__\nfrom os import _exit\n")
    assert private_imports(module, tmp_path) == ["m.py:1 imports _statements"]


def test_no_module_is_over_450_lines() -> None:
    long = {
        str(path.relative_to(SRC)): n
        for path in modules()
        if (n := len(path.read_text().splitlines())) > 450
    }
    assert long == {}


def test_no_function_is_over_70_lines() -> None:
    long = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > 70:
                    long.append(f"{path.relative_to(SRC)}:{node.name} {lines}")
    assert long == []
