"""The Lambda package `make package` ships: lean, with bytecode, reproducible, with a Lambda-platform layer.

Cold start on Lambda pays for every byte unzipped and every module compiled (`/var/task` is read-only, so
without `.pyc` nothing is cached between cold starts); these read the zip the session fixture built exactly
as `make package` does.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ame_infra.chalice_package import ChalicePackage
from ame_infra.lean_package import (
    SIZE_LIMIT_BYTES,
    LeanPackageError,
    distribution_of,
    make_lean,
    runs_on_lambda,
)
from tests.infra.conftest import ROOT, build_package


def names(archive: Path) -> list[str]:
    with zipfile.ZipFile(archive) as z:
        return z.namelist()


def test_deployment_zip_is_under_the_size_bar(package: ChalicePackage) -> None:
    assert package.archive.stat().st_size < SIZE_LIMIT_BYTES


def test_the_runtime_provided_sdk_is_not_shipped(package: ChalicePackage) -> None:
    shipped = {distribution_of(n) for n in names(package.archive) + names(package.layer_archive)}
    assert not shipped & {"boto3", "botocore", "s3transfer", "jmespath"}
    # What we rely on the runtime not to provide stays ours.
    assert {"pynamodb", "requests", "urllib3", "jwt", "chalicelib", "app"} <= shipped


def test_every_module_has_bytecode_for_the_runtime(package: ChalicePackage) -> None:
    shipped = set(names(package.archive))
    sources = [n for n in shipped if n.endswith(".py")]
    assert "chalicelib/__pycache__/bootstrap.cpython-311.pyc" in shipped
    missing = [
        s
        for s in sources
        if f"{s.rpartition('/')[0]}/__pycache__/{Path(s).stem}.cpython-311.pyc".lstrip("/") not in shipped
    ]
    assert missing == []


def test_bytecode_is_hash_based_so_the_build_is_reproducible(package: ChalicePackage) -> None:
    with zipfile.ZipFile(package.archive) as z:
        header = z.read("chalicelib/__pycache__/bootstrap.cpython-311.pyc")[:8]
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    flags = int.from_bytes(header[4:8], "little")
    assert flags == 0b01  # hash-based, unchecked: PEP 552


def test_the_layer_holds_cryptography_built_for_lambda(package: ChalicePackage) -> None:
    layer = names(package.layer_archive)
    assert all(n.startswith("python/") for n in layer)
    assert "python/cryptography/hazmat/bindings/_rust.abi3.so" in layer
    assert not any(distribution_of(n) == "cryptography" for n in names(package.archive))


def test_rebuilding_gives_the_same_bytes(package_dir: Path, tmp_path: Path) -> None:
    """Fixed timestamps, sorted entries and hash-based .pyc: a second build is byte-identical."""
    again = build_package(tmp_path / "again")
    for archive in ("deployment.zip", "layer.zip"):
        digest = [hashlib.sha256((d / archive).read_bytes()).hexdigest() for d in (package_dir, again)]
        assert digest[0] == digest[1], archive


def test_the_shipped_app_imports_without_the_vendored_sdk(package: ChalicePackage, tmp_path: Path) -> None:
    """The function zip plus the layer, on a path like Lambda's: the app imports (botocore from our venv
    stands in for the runtime's) and the modules come from the zip, not the checkout."""
    task, opt = tmp_path / "task", tmp_path / "opt"
    zipfile.ZipFile(package.archive).extractall(task)
    zipfile.ZipFile(package.layer_archive).extractall(opt)
    probe = "import app, chalicelib, cryptography, botocore; print(chalicelib.__file__, cryptography.__file__)"
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path[:0] = {[str(task), str(opt / 'python')]}; {probe}"],
        cwd=task,
        capture_output=True,
        text=True,
        check=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )
    chalicelib_file, cryptography_file = out.stdout.split()
    assert chalicelib_file.startswith(str(task)) and cryptography_file.startswith(str(opt))


@pytest.mark.parametrize(
    ("tag", "ok"),
    [
        ("manylinux2014_x86_64", True),
        ("manylinux_2_17_x86_64", True),
        ("manylinux_2_5_x86_64", True),
        ("any", True),
        ("manylinux_2_28_x86_64", False),
        ("manylinux2014_aarch64", False),
        ("macosx_11_0_arm64", False),
        ("win_amd64", False),
    ],
)
def test_wheel_platforms_are_judged_against_the_x86_runtime(tag: str, ok: bool) -> None:
    assert runs_on_lambda(tag, "x86_64") is ok


def test_a_package_for_another_python_is_refused(package_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(package_dir, other)
    template = other / "sam.json"
    template.write_text(template.read_text().replace('"python3.11"', '"python3.12"'))
    with pytest.raises(LeanPackageError, match=r"python3\.12"):
        make_lean(other)


def test_the_make_target_runs_the_lean_step() -> None:
    assert "ame_infra.lean_package build/chalice" in (ROOT / "Makefile").read_text()
