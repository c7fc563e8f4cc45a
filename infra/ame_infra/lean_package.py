"""Post-processes `chalice package` output into a lean, reproducible Lambda package.

`make package` runs this after `chalice package`. Why each step:

- **Drop what the runtime ships.** The Lambda Python 3.11 runtime puts boto3, botocore, s3transfer and
  jmespath on `sys.path` (after `/var/task` and `/opt/python`). Chalice vendors botocore because
  pynamodb depends on it (`botocore>=1.12.54`), which made it 16 of the zip's 23 MB and also shadowed
  the runtime's SDK with a second copy. urllib3, python-dateutil and six are kept: requests needs
  urllib3 2.x and shipping our pinned copies keeps them the versions we test with.
- **Drop what AWS's Powertools layer ships.** Powertools for AWS Lambda (Logger, Metrics, Tracer) and the
  X-Ray SDK come from AWS's public managed layer, which every function mounts (`functions.py`,
  `POWERTOOLS_LAYER_VERSION`, matched to the pin in app/requirements.txt): ~1 MB compressed we do not ship.
- **Move the compiled crypto wheel to a layer.** cryptography (PyJWT's RS256), cffi and pycparser are
  ~4.9 MB compressed, almost all of it one Rust extension; with them the function zip cannot get under
  5 MB, so they go to `layer.zip` (`python/` prefix, mounted at `/opt/python`) which the infra declares
  as a Lambda layer. Chalice already downloaded the manylinux wheel for the Lambda platform; we check
  its tag here so a build on another machine cannot ship the wrong binary.
- **Ship `.pyc`.** `/var/task` is read-only, so without bytecode every cold start compiles every module
  it imports. The `.pyc` are compiled by this interpreter, which must be the runtime's minor version,
  with `unchecked-hash` invalidation: no source mtimes, the same bytes on every build, and no stat of
  the source at import (the package never changes after deployment).
- **Fixed zip metadata.** Sorted entries, a 1980 timestamp and fixed modes, so two builds of the same
  tree give byte-identical zips (and Pulumi sees no change).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath"})
"""Top-level distributions the Lambda Python runtime already ships; never in our zip."""

POWERTOOLS_LAYER_PROVIDED = frozenset({"aws_lambda_powertools", "aws_xray_sdk", "wrapt"})
"""What AWS's managed Powertools layer puts on `/opt/python`; never in our zip."""

LAYER_DISTRIBUTIONS = frozenset({"cryptography", "cffi", "pycparser", "_cffi_backend"})
"""Heavy compiled dependencies that go to the layer instead of the function zip."""

WHEEL_ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64"}
RUNTIME_GLIBC = (2, 26)
"""The Python 3.11 runtime is on Amazon Linux 2 (glibc 2.26): a manylinux wheel must not need more."""
LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
SIZE_LIMIT_BYTES = 5 * 1024 * 1024
"""The bar for `deployment.zip`; the build fails above it rather than ship a slow cold start."""


class LeanPackageError(RuntimeError):
    """The package cannot be made lean as built (wrong interpreter, wrong wheel, too big)."""


@dataclass(frozen=True)
class LeanResult:
    function_zip: Path
    layer_zip: Path
    function_bytes: int
    layer_bytes: int
    dropped: tuple[str, ...]


def distribution_of(name: str) -> str:
    """The top-level name an archive entry belongs to: `botocore-1.44.8.dist-info/RECORD` → `botocore`."""
    top = name.split("/", 1)[0]
    if top.endswith((".dist-info", ".data")):
        top = top.split("-", 1)[0]
    top = top.split(".", 1)[0]
    return top.replace("-", "_").lower()


def _runtime(directory: Path) -> tuple[str, str]:
    resources = json.loads((directory / "sam.json").read_text())["Resources"]
    functions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    runtimes = {p["Runtime"] for p in functions}
    architectures = {p.get("Architectures", ["x86_64"])[0] for p in functions}
    if len(runtimes) != 1 or len(architectures) != 1:
        raise LeanPackageError(f"one runtime and architecture expected, got {runtimes} {architectures}")
    return runtimes.pop(), architectures.pop()


def _check_interpreter(runtime: str) -> None:
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtime != here:
        raise LeanPackageError(f"the functions run {runtime} but this is {here}: its .pyc would be ignored")


def runs_on_lambda(platform_tag: str, architecture: str) -> bool:
    """Whether a wheel platform tag (`manylinux_2_17_x86_64`, `manylinux2014_x86_64`, `any`) loads there."""
    if platform_tag == "any":
        return True
    machine = WHEEL_ARCHITECTURES[architecture]
    if not platform_tag.endswith("_" + machine):
        return False
    policy = platform_tag[: -len(machine) - 1]
    if policy in LEGACY_MANYLINUX:
        return LEGACY_MANYLINUX[policy] <= RUNTIME_GLIBC
    parts = policy.split("_")
    if len(parts) != 3 or parts[0] != "manylinux" or not (parts[1].isdigit() and parts[2].isdigit()):
        return False
    return (int(parts[1]), int(parts[2])) <= RUNTIME_GLIBC


def _check_wheel_tags(tree: Path, architecture: str) -> None:
    """Chalice picks Lambda-platform wheels; this fails the build if a local (or too new) binary slipped in."""
    for wheel in tree.glob("*.dist-info/WHEEL"):
        text = wheel.read_text()
        platforms = [
            line.split(":", 1)[1].strip().rsplit("-", 1)[1] for line in text.splitlines() if line.startswith("Tag:")
        ]
        if not any(runs_on_lambda(p, architecture) for p in platforms):
            raise LeanPackageError(f"{wheel.parent.name} has no wheel tag for Lambda {architecture}: {platforms}")


def _compile(tree: Path, runtime_root: str) -> None:
    """In a fresh interpreter with a fixed hash seed: marshal's output depends on the compiling process
    (which strings are already interned, set order under hash randomization), so compiling in a process
    that had imported other modules gave different bytes for the same source."""
    script = (
        "import py_compile, sys\n"
        "from pathlib import Path\n"
        "tree, root = Path(sys.argv[1]), sys.argv[2]\n"
        "for source in sorted(tree.rglob('*.py')):\n"
        "    py_compile.compile(str(source), dfile=f'{root}/{source.relative_to(tree).as_posix()}', doraise=True,\n"
        "                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH, quiet=1)\n"
    )
    env = {"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    subprocess.run([sys.executable, "-I", "-c", script, str(tree), runtime_root], check=True, env=env)  # noqa: S603


def _write_zip(tree: Path, target: Path, prefix: str = "") -> None:
    files = sorted(p for p in tree.rglob("*") if p.is_file())
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(prefix + path.relative_to(tree).as_posix(), date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if path.suffix == ".so" else 0o644) << 16
            archive.writestr(info, path.read_bytes(), compresslevel=9)


def make_lean(directory: Path) -> LeanResult:
    """Rewrites `deployment.zip` in place and writes `layer.zip` beside it."""
    runtime, architecture = _runtime(directory)
    _check_interpreter(runtime)
    function_zip, layer_zip = directory / "deployment.zip", directory / "layer.zip"
    dropped: set[str] = set()
    with tempfile.TemporaryDirectory() as scratch:
        function_tree, layer_tree = Path(scratch, "function"), Path(scratch, "layer")
        with zipfile.ZipFile(function_zip) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                distribution = distribution_of(info.filename)
                if distribution in RUNTIME_PROVIDED or distribution in POWERTOOLS_LAYER_PROVIDED:
                    dropped.add(distribution)
                    continue
                tree = layer_tree if distribution in LAYER_DISTRIBUTIONS else function_tree
                target = tree / info.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(info))
        if not layer_tree.is_dir():
            raise LeanPackageError("no cryptography in the package: is PyJWT[crypto] still a requirement?")
        _check_wheel_tags(layer_tree, architecture)
        _check_wheel_tags(function_tree, architecture)
        _compile(function_tree, "/var/task")
        _compile(layer_tree, "/opt/python")
        _write_zip(function_tree, function_zip)
        _write_zip(layer_tree, layer_zip, prefix="python/")
    size = function_zip.stat().st_size
    if size >= SIZE_LIMIT_BYTES:
        raise LeanPackageError(f"deployment.zip is {size} bytes, over the {SIZE_LIMIT_BYTES}-byte bar")
    return LeanResult(function_zip, layer_zip, size, layer_zip.stat().st_size, tuple(sorted(dropped)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("directory", type=Path, help="`chalice package` output (deployment.zip, sam.json)")
    result = make_lean(parser.parse_args(argv).directory)
    print(
        f"deployment.zip {result.function_bytes / 1e6:.2f} MB, layer.zip {result.layer_bytes / 1e6:.2f} MB;"
        f" left to the runtime and the Powertools layer: {', '.join(result.dropped) or 'nothing'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
