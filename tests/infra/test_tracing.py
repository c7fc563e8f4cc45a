"""Powertools and X-Ray in the functions: AWS's managed layer, active tracing, the grants, a lean zip."""

from __future__ import annotations

import zipfile

from ame_infra.chalice_package import ChalicePackage
from ame_infra.functions import POWERTOOLS_LAYER_VERSION, POWERTOOLS_VERSION, powertools_layer_arn
from ame_infra.grants import TRACING_ACTIONS
from ame_infra.lean_package import distribution_of
from ame_infra.mocked import Inventory
from tests.infra.conftest import ROOT, app_functions, policy_document
from tests.infra.test_stacks import ROLE_POLICY, region_of


def test_every_function_traces_actively_and_mounts_the_powertools_layer_of_its_region(stack: Inventory) -> None:
    functions = app_functions(stack)  # the lake's container-image functions have no layers
    assert functions
    for function in functions:
        assert function.inputs["tracingConfig"] == {"mode": "Active"}
        expected = powertools_layer_arn(region_of(stack), function.inputs["runtime"], "x86_64")
        assert expected in function.inputs["layers"], function.inputs["layers"]
        assert expected.endswith(
            f":017000801446:layer:AWSLambdaPowertoolsPythonV3-python311-x86_64:{POWERTOOLS_LAYER_VERSION}"
        )


def test_every_function_may_write_its_trace_segments_in_a_statement_of_their_own(stack: Inventory) -> None:
    statements = [s for policy in stack.of_type(ROLE_POLICY) for s in policy_document(policy)]
    traced = [s for s in statements if any(str(a).startswith("xray:") for a in s["Action"])]  # type: ignore[attr-defined]
    assert len(traced) == len(app_functions(stack))
    assert all(s == {"Effect": "Allow", "Action": sorted(TRACING_ACTIONS), "Resource": ["*"]} for s in traced)


def test_powertools_is_pinned_to_the_layers_release() -> None:
    pins = (ROOT / "app" / "requirements.txt").read_text().split()
    assert f"aws-lambda-powertools=={POWERTOOLS_VERSION}" in pins


def test_powertools_and_the_xray_sdk_come_from_the_layer_not_the_zip(package: ChalicePackage) -> None:
    with zipfile.ZipFile(package.archive) as archive:
        shipped = {distribution_of(n) for n in archive.namelist()}
    assert not shipped & {"aws_lambda_powertools", "aws_xray_sdk", "wrapt"}
