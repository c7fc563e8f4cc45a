"""Guards the shape of the house: a pure engine, a thin app, no work at import time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = [
    "chalicelib/cursors.py",
    "chalicelib/documents.py",
    "chalicelib/errors.py",
    "chalicelib/money.py",
    "chalicelib/failover.py",
    "chalicelib/health.py",
    "chalicelib/takeover.py",
    "chalicelib/quorum",
    "chalicelib/orders",
    "chalicelib/credit",
    "chalicelib/audit",
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
        "eager = {'pynamodb', 'boto3', 'botocore', 'jwt', 'cryptography', 'aws_lambda_powertools', 'aws_xray_sdk'}"
        " & set(sys.modules);"
        "assert not eager, f'eager imports: {eager}'"
    )
    # PyJWT + cryptography only when the first token is verified: the worker and the sweeper never do, and
    # they cost ~45 ms of a ~160 ms cold import.
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


AREAS = ("orders", "credit", "audit")
SKELETON = ("model", "ports", "services", "errors", "requests", "wire")


@pytest.mark.parametrize("area", AREAS)
def test_every_area_has_the_same_skeleton(area: str) -> None:
    missing = [name for name in SKELETON if not (ROOT / "chalicelib" / area / f"{name}.py").exists()]
    assert not missing, f"chalicelib/{area} lacks {missing}: a newcomer should find each concern in the same place"


def public_signatures(path: Path) -> dict[str, list[str]]:
    """Every public function's and method's parameter and return annotations, as source text."""
    signatures: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
            arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            annotations = [a.annotation for a in arguments if a.annotation is not None]
            if node.returns is not None:
                annotations.append(node.returns)
            signatures[node.name] = [ast.unparse(a) for a in annotations]
    return signatures


@pytest.mark.parametrize("path", [f"chalicelib/{area}/{m}.py" for area in AREAS for m in ("ports", "services")])
def test_no_untyped_json_crosses_a_port_or_a_use_case(path: str) -> None:
    signatures = public_signatures(ROOT / path)
    assert signatures, f"{path} declares nothing public"
    loose = {name: types for name, types in signatures.items() if any("Any" in t for t in types)}
    assert not loose, f"{path}: JSON-shaped values belong at the edges (wire.py, adapters): {loose}"


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


@pytest.mark.parametrize("package", ["api", "events"])
def test_entry_points_reach_adapters_only_through_bootstrap(package: str) -> None:
    files = sorted((ROOT / "chalicelib" / package).rglob("*.py"))
    assert files
    for file in files:
        adapters = {m for m in imported_modules(file) if m.startswith("chalicelib.adapters")}
        assert not adapters, f"{file} imports {adapters}; entry points call a service from bootstrap.container()"


def test_blueprint_routes_stay_thin() -> None:
    routes = 0
    for file in sorted((ROOT / "chalicelib" / "api").glob("*.py")):
        for node in ast.parse(file.read_text()).body:
            if isinstance(node, ast.FunctionDef) and any("route" in ast.unparse(d) for d in node.decorator_list):
                routes += 1
                body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
                assert len(body) <= 4, f"{file.name}:{node.name} holds logic; move it to its area's service"
    assert routes >= 9, "every documented route should be found in a blueprint"
