"""The architecture, checked: sizes a reader can follow, a core free of Qt/napari, no training code
at run time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "napari_semcolor"
MODULES = sorted(SRC.rglob("*.py"))
#: packages that talk to napari/Qt; everything else is the core
NAPARI_SIDE = ("_widgets", "_napari")
GUI_PACKAGES = ("qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "napari", "magicgui", "superqt", "vispy")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_sources_found():
    assert len(MODULES) > 20


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_and_function_sizes(path):
    source = path.read_text()
    assert len(source.splitlines()) <= 400, f"{path.name} has {len(source.splitlines())} lines; split it"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= 100, f"{path.name}:{node.name} is {length} lines long; split it into steps"


@pytest.mark.parametrize("path", [p for p in MODULES if p.relative_to(SRC).parts[0] not in NAPARI_SIDE], ids=lambda p: str(p.relative_to(SRC)))
def test_core_imports_no_gui(path):
    assert not _imports(path) & set(GUI_PACKAGES), f"{path.relative_to(SRC)} is core code and must not import Qt or napari"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_run_time_code_never_imports_training(path):
    assert "training" not in _imports(path)
