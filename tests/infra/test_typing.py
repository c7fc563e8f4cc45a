"""mypy follows only the pulumi-aws modules the stacks use (a minute saved on every cold run): every
module the program touches must be among them, or its calls would go unchecked as `Any`."""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import pulumi_aws

ROOT = Path(__file__).resolve().parents[2]


def followed_modules() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    overrides = config["tool"]["mypy"]["overrides"]
    followed = [o["module"] for o in overrides if o.get("follow_imports") == "normal"]
    assert len(followed) == 1, "one override lists the followed pulumi_aws modules"
    return set(followed[0])


def pulumi_aws_names_used() -> set[str]:
    """Every `aws.<name>` the Pulumi program writes (it imports pulumi_aws as aws)."""
    names: set[str] = set()
    for file in [*(ROOT / "infra").rglob("*.py")]:
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "aws":
                names.add(node.attr)
    return names


def module_of(name: str) -> str:
    value = getattr(pulumi_aws, name)
    module: str = value.__name__ if isinstance(value, type(importlib)) else value.__module__
    return module


def test_every_pulumi_aws_module_the_program_uses_is_type_checked() -> None:
    used = {module_of(name) for name in pulumi_aws_names_used()}
    assert "pulumi_aws.sqs" in used and "pulumi_aws.provider" in used  # the scan sees the program
    followed = followed_modules()
    unchecked = sorted(m for m in used if m not in followed)
    assert not unchecked, f"add to the followed pulumi_aws modules in pyproject.toml: {unchecked}"
    assert "pulumi_aws" in followed and "pulumi_aws._inputs" in followed
