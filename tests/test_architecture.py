"""Architecture rules that keep the layers apart.

* ``remixer_app.core`` never imports Qt (or the Qt-bound ``remixer_app.ui``), so the
  CLI, the tests and the audio engine run without a GUI stack.
* Nothing imports ``torchaudio``: its wheels pin an exact torch build and its I/O
  backends are being removed upstream; audio goes through soundfile and PyAV.
* Every core module imports cleanly on its own.

Each rule is checked statically (parsing every file, so an import inside a rarely
run function is caught too) and dynamically (importing every core module in a fresh
interpreter, so an indirect import through a third-party package is caught too).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import remixer_app

ROOT = Path(remixer_app.__file__).resolve().parents[1]
PACKAGE = ROOT / "remixer_app"
CORE = PACKAGE / "core"

# Any version of the Qt bindings (PySide6, PyQt5, shiboken6, ...) and the Qt-based libraries.
QT_BINDING_PREFIXES = ("PySide", "PyQt", "shiboken")
QT_LIBRARIES = frozenset({"pyqtgraph", "qtpy", "sip"})
TORCHAUDIO = "torchaudio"


def is_under(module: str, package: str) -> bool:
    """Whether ``module`` is ``package`` or one of its submodules."""
    return module == package or module.startswith(package + ".")


def is_qt(module: str) -> bool:
    """Whether importing ``module`` pulls in Qt (our own UI package included)."""
    top = module.split(".")[0]
    return (top.startswith(QT_BINDING_PREFIXES) or top in QT_LIBRARIES
            or is_under(module, "remixer_app.ui"))


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Every absolute module name ``path`` imports, with its line, at any nesting depth.

    Besides ``import`` statements this catches ``importlib.import_module("x")`` and
    ``__import__("x")`` with a literal name, the usual ways to import lazily.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            # Relative imports stay inside our own package, which is checked file by file.
            if node.level == 0 and node.module:
                yield node.lineno, node.module
                for alias in node.names:
                    yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (name in ("import_module", "__import__") and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)):
                yield node.lineno, first.value


def python_files(*folders: Path) -> list[Path]:
    files = [p for folder in folders if folder.is_dir() for p in sorted(folder.rglob("*.py"))]
    return [p for p in files if ".venv" not in p.parts]


def offending_imports(files: list[Path], bad: Callable[[str], bool]) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line}: imports {module}"
            for path in files
            for line, module in imported_modules(path) if bad(module)]


def test_scanner_sees_nested_and_lazy_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\n"
        "def f():\n"
        "    from PySide6.QtWidgets import QWidget\n"
        "    class C:\n"
        "        def g(self):\n"
        "            import torchaudio.functional\n"
        "    importlib.import_module('pyqtgraph')\n"
        "from . import sibling\n",
        encoding="utf-8")
    found = [module for _, module in imported_modules(sample)]
    assert "PySide6.QtWidgets" in found
    assert "torchaudio.functional" in found
    assert "pyqtgraph" in found
    assert "os" in found and "sibling" not in found


def test_core_files_exist() -> None:
    # Guards the scans below against silently scanning nothing after a move.
    assert (CORE / "engine.py").is_file() and len(python_files(CORE)) > 5


def test_core_has_no_qt_imports_in_source() -> None:
    assert offending_imports(python_files(CORE), is_qt) == []


def test_no_torchaudio_imports_in_source() -> None:
    files = python_files(PACKAGE, ROOT / "tests", ROOT / "bench")
    assert offending_imports(files, lambda m: is_under(m, TORCHAUDIO)) == []


# Runs in a fresh interpreter: pytest-qt has already imported PySide6 into this one.
_IMPORT_ALL_CORE = """
import importlib, json, pkgutil, sys, traceback
import remixer_app.core as core
failed = {}
def onerror(name):
    failed[name] = traceback.format_exc()
names = [m.name for m in pkgutil.walk_packages(core.__path__, core.__name__ + ".",
                                               onerror=onerror)]
for name in names:
    try:
        importlib.import_module(name)
    except BaseException:
        failed[name] = traceback.format_exc()
print(json.dumps({"modules": names, "failed": failed, "loaded": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def core_import_report() -> dict[str, Any]:
    """Import every core module in a fresh interpreter and report what got loaded."""
    result = subprocess.run([sys.executable, "-c", _IMPORT_ALL_CORE], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_core_module_imports_cleanly(core_import_report: dict[str, Any]) -> None:
    expected = {"remixer_app.core." + str(p.relative_to(CORE).with_suffix("")).replace("/", ".")
                for p in python_files(CORE) if p.name != "__init__.py"}
    assert expected <= set(core_import_report["modules"])
    assert core_import_report["failed"] == {}


def test_importing_core_loads_no_qt(core_import_report: dict[str, Any]) -> None:
    assert [m for m in core_import_report["loaded"] if is_qt(m)] == []


def test_importing_core_loads_no_torchaudio(core_import_report: dict[str, Any]) -> None:
    assert [m for m in core_import_report["loaded"] if is_under(m, TORCHAUDIO)] == []
