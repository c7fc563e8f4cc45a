"""Guards the shape of the house: a pure engine, a thin app, no work at import time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = [
    "chalicelib/documents.py",
    "chalicelib/errors.py",
    "chalicelib/money.py",
    "chalicelib/quorum",
    "chalicelib/orders",
    "chalicelib/credit",
]
FORBIDDEN = {"boto3", "botocore", "pynamodb", "chalice", "requests", "urllib3", "moto"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("target", PURE)
def test_engine_and_services_import_no_aws_or_framework_code(target: str) -> None:
    files = [ROOT / target] if target.endswith(".py") else sorted((ROOT / target).rglob("*.py"))
    assert files
    for file in files:
        assert not imported_roots(file) & FORBIDDEN, f"{file} imports {imported_roots(file) & FORBIDDEN}"


def test_importing_the_app_builds_no_clients_and_needs_no_configuration() -> None:
    code = (
        "import sys, importlib.util; sys.path.insert(0, 'app');"
        "spec = importlib.util.spec_from_file_location('a', 'app/app.py');"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m);"
        "from chalicelib import bootstrap; assert bootstrap._container is None;"
        "assert 'pynamodb' not in sys.modules and 'boto3' not in sys.modules, 'eager imports'"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_app_routes_stay_thin() -> None:
    tree = ast.parse((ROOT / "app" / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            assert len(node.body) <= 3, f"{node.name} holds logic; move it to chalicelib"


def test_chalicelib_is_linked_into_the_chalice_project() -> None:
    link = ROOT / "app" / "chalicelib"
    assert link.is_symlink() and link.resolve() == (ROOT / "chalicelib").resolve()
