"""Both stacks, run once per session under Pulumi's mocks against a real `chalice package`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ame_infra.chalice_package import ChalicePackage, load_package
from ame_infra.lean_package import make_lean
from ame_infra.mocked import DeclaredResource, Inventory, run_stack

ROOT = Path(__file__).resolve().parents[2]


def build_package(out: Path) -> Path:
    """`make package` into `out`: chalice (which reuses its cached zip when nothing changed), then lean_package."""
    chalice = Path(sys.executable).parent / "chalice"
    subprocess.run(
        [str(chalice), "package", "--pkg-format", "cloudformation", str(out)],
        cwd=ROOT / "app",
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "HOME": str(out)},
        check=True,
        capture_output=True,
    )
    make_lean(out)
    return out


@pytest.fixture(scope="session")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `make package` builds, built fresh so the infra is tested against today's routes and the lean
    package tests read the zip that would ship."""
    return build_package(tmp_path_factory.mktemp("chalice-package"))


@pytest.fixture(scope="session")
def package(package_dir: Path) -> ChalicePackage:
    return load_package(package_dir)


@pytest.fixture(scope="session")
def prod(package_dir: Path) -> Inventory:
    return run_stack("prod", package_dir)


@pytest.fixture(scope="session")
def dr(package_dir: Path) -> Inventory:
    return run_stack("dr", package_dir)


@pytest.fixture(params=["prod", "dr"])
def stack(request: pytest.FixtureRequest) -> Inventory:
    inventory: Inventory = request.getfixturevalue(request.param)
    return inventory


def policy_document(resource: DeclaredResource) -> list[dict[str, object]]:
    statements: list[dict[str, object]] = json.loads(resource.inputs["policy"])["Statement"]
    return statements


def app_functions(stack: Inventory) -> list[DeclaredResource]:
    """The app's Lambda functions (Chalice's handlers, zip packages); the lake's run from an image (test_lake_infra)."""
    return [f for f in stack.of_type("aws:lambda/function:Function") if "handler" in f.inputs]
