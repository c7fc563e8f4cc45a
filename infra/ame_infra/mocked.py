"""Runs the real program (`infra/__main__.py`) under Pulumi's mocks and records what it declares.

This is how the tests and `make infra-plan` see a stack without a cloud or the Pulumi CLI: the
mock monitor hands every resource registration to `RecordingMocks`, which answers with plausible
outputs (ARNs, URLs, ids) and keeps the inputs the program sent, exactly what a policy pack sees.
"""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT = "ame-platform"
ACCOUNT_ID = "111111111111"
INFRA_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = INFRA_DIR.parent
PROVIDER_TYPE = "pulumi:providers:aws"
CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"


@dataclass(frozen=True)
class DeclaredResource:
    type: str
    name: str
    region: str | None
    inputs: dict[str, Any]
    custom: bool
    provider_name: str | None

    @property
    def is_component(self) -> bool:
        return not self.custom


@dataclass
class Inventory:
    stack: str
    resources: list[DeclaredResource] = field(default_factory=list)

    @property
    def cloud_resources(self) -> list[DeclaredResource]:
        """What `pulumi up` would create in AWS: custom resources, providers left out."""
        return [r for r in self.resources if r.custom and r.type != PROVIDER_TYPE]

    def of_type(self, token: str) -> list[DeclaredResource]:
        return [r for r in self.resources if r.type == token]

    def named(self, token: str, name: str) -> DeclaredResource:
        matches = [r for r in self.of_type(token) if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources of {token} named {name}")
        return matches[0]


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[DeclaredResource] = []
        self.provider_regions: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        provider_name = args.provider.split("::")[-2] if args.provider else None
        if args.typ == PROVIDER_TYPE:
            self.provider_regions[args.name] = inputs["region"]
            region: str | None = inputs["region"]
        else:
            region = self.provider_regions.get(provider_name or "")
        self.resources.append(DeclaredResource(args.typ, args.name, region, inputs, bool(args.custom), provider_name))
        return f"{args.name}-id", {**inputs, **_plausible_outputs(args.typ, args.name, region or "us-east-1", inputs)}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == CALLER_IDENTITY:
            arn = f"arn:aws:iam::{ACCOUNT_ID}:user/deployer"
            return {"accountId": ACCOUNT_ID, "arn": arn, "id": ACCOUNT_ID, "userId": "AIDAMOCKED"}, []
        raise NotImplementedError(f"the program calls {args.token}; teach RecordingMocks what it returns")


def _plausible_outputs(kind: str, name: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    service = kind.split(":")[1].split("/")[0]
    physical = inputs.get("name") or inputs.get("bucket") or name
    arn = f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{physical}"
    outputs: dict[str, Any] = {"arn": arn, "name": physical, "id": f"{name}-id"}
    if kind == "aws:lambda/function:Function":
        outputs["invokeArn"] = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
    elif kind == "aws:apigateway/restApi:RestApi":
        outputs["executionArn"] = f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{name}-id"
        outputs["rootResourceId"] = "root"
    elif kind == "aws:apigateway/domainName:DomainName":
        outputs["regionalDomainName"] = f"d-{name}.execute-api.{region}.amazonaws.com"
        outputs["regionalZoneId"] = "ZMOCKEDREGIONAL"
    elif kind == "aws:sqs/queue:Queue":
        outputs["url"] = f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{physical}"
        outputs["arn"] = f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{physical}"
    elif kind == "aws:kms/key:Key":
        outputs["keyId"] = f"{name}-key-id"
        outputs["arn"] = f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{name}-key-id"
    elif kind == "aws:s3/bucket:Bucket":
        outputs["arn"] = f"arn:aws:s3:::{physical}"
    elif kind == "aws:dynamodb/table:Table":
        outputs["arn"] = f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{physical}"
    elif kind == "aws:cloudwatch/logGroup:LogGroup":
        outputs["arn"] = f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{physical}"
    return outputs


def stack_config(stack: str, package_dir: Path | None = None) -> dict[str, str]:
    """`Pulumi.<stack>.yaml` as the engine hands it to a program: namespaced keys, strings or JSON."""
    document = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())
    config: dict[str, str] = {}
    for key, value in document["config"].items():
        if isinstance(value, dict) and "secure" in value:
            continue  # ciphertext only the CLI can decrypt; secrets are optional settings
        config[key] = value if isinstance(value, str) else json.dumps(value)
    if package_dir is not None:
        config[f"{PROJECT}:chalicePackageDir"] = str(package_dir)
    return config


def run_stack(stack: str, package_dir: Path | None = None, extra_config: dict[str, str] | None = None) -> Inventory:
    """Executes `infra/__main__.py` as `pulumi up --stack <stack>` would, minus the cloud."""
    mocks = RecordingMocks()
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
    pulumi.runtime.set_all_config({**stack_config(stack, package_dir), **(extra_config or {})})

    def program() -> None:
        runpy.run_path(str(INFRA_DIR / "__main__.py"), run_name="__main__")

    _sync_await(run_pulumi_func(program))
    return Inventory(stack=stack, resources=list(mocks.resources))
