"""Runs the real program (`infra/__main__.py`) under Pulumi's mocks and records what it declares.

This is how the tests and `make infra-plan` see a stack without a cloud or the Pulumi CLI: the
mock monitor hands every resource registration to `RecordingMocks`, which answers with plausible
outputs (ARNs, URLs, ids) and keeps the inputs the program sent, exactly what a policy pack sees.
"""

from __future__ import annotations

import hashlib
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
KMS_KEY = "aws:kms/getKey:getKey"
MOCK_APP_SECRET = "mocked-application-secret-of-at-least-32-bytes"  # noqa: S105 - a stand-in, no credential
"""Stands in for `ame-platform:appSecret`, which the stack files hold only as ciphertext."""
SECRET_CONFIG = (f"{PROJECT}:appSecret",)


@dataclass(frozen=True)
class DeclaredResource:
    type: str
    name: str
    region: str | None
    inputs: dict[str, Any]
    custom: bool
    provider_name: str | None
    protect: bool = False
    """`ResourceOptions.protect` as the engine receives it (inherited from the parent included)."""

    @property
    def is_component(self) -> bool:
        return not self.custom


@dataclass(frozen=True)
class StackOutput:
    value: Any
    secret: bool


@dataclass
class Inventory:
    stack: str
    resources: list[DeclaredResource] = field(default_factory=list)
    exports: dict[str, StackOutput] = field(default_factory=dict)
    """`pulumi stack output`: each value as resolved, and whether Pulumi would keep it secret."""

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
        self.protected: set[tuple[str, str]] = set()
        """(type, name) of each registration that asked for `protect`; the mock API does not pass it on."""

    def watch_protect(self) -> None:
        """Wraps the mock monitor's RegisterResource to note `protect`, which `MockResourceArgs` leaves out."""
        monitor = runtime_settings.get_monitor()
        assert monitor is not None, "call after pulumi.runtime.set_mocks"
        register = monitor.RegisterResource

        def recording(request: Any) -> Any:
            if request.protect:
                self.protected.add((request.type, request.name))
            return register(request)

        monitor.RegisterResource = recording

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        provider_name = args.provider.split("::")[-2] if args.provider else None
        if args.typ == PROVIDER_TYPE:
            self.provider_regions[args.name] = inputs["region"]
            region: str | None = inputs["region"]
        else:
            region = self.provider_regions.get(provider_name or "")
        protect = (args.typ, args.name) in self.protected
        self.resources.append(
            DeclaredResource(args.typ, args.name, region, inputs, bool(args.custom), provider_name, protect)
        )
        outputs = {**inputs, **_plausible_outputs(args.typ, args.name, region or "us-east-1", inputs)}
        return outputs.pop("id"), outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == CALLER_IDENTITY:
            arn = f"arn:aws:iam::{ACCOUNT_ID}:user/deployer"
            return {"accountId": ACCOUNT_ID, "arn": arn, "id": ACCOUNT_ID, "userId": "AIDAMOCKED"}, []
        if args.token == KMS_KEY:
            region = self.provider_regions.get(args.provider.split("::")[-2] if args.provider else "", "us-east-1")
            alias = str(args.args["keyId"]).removeprefix("alias/")
            key_id = f"{alias}-{region}-key-id"
            return {"arn": f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{key_id}", "id": key_id, "keyId": key_id}, []
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
    elif kind == "aws:cognito/userPool:UserPool":
        outputs["id"] = f"{region}_Mocked{name.title().replace('-', '')}"
        outputs["arn"] = f"arn:aws:cognito-idp:{region}:{ACCOUNT_ID}:userpool/{outputs['id']}"
        outputs["endpoint"] = f"cognito-idp.{region}.amazonaws.com/{outputs['id']}"
    elif kind == "aws:cognito/userPoolClient:UserPoolClient":
        outputs["id"] = hashlib.sha256(name.encode()).hexdigest()[:26]  # Cognito's ids: 26 characters
        outputs["clientSecret"] = f"mocked-client-secret-{name}"
    elif kind == "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream":
        outputs["arn"] = f"arn:aws:firehose:{region}:{ACCOUNT_ID}:deliverystream/{physical}"
    elif kind == "aws:iam/role:Role":
        outputs["arn"] = f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"
    elif kind == "aws:dynamodb/tableReplica:TableReplica":
        table = str(inputs.get("globalTableArn", "")).rsplit("/", 1)[-1]
        outputs["arn"] = f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{table}"
    elif kind == "aws:backup/vault:Vault":
        outputs["arn"] = f"arn:aws:backup:{region}:{ACCOUNT_ID}:backup-vault:{physical}"
    return outputs


def stack_config(stack: str, package_dir: Path | None = None) -> dict[str, str]:
    """`Pulumi.<stack>.yaml` as the engine hands it to a program: namespaced keys, strings or JSON."""
    document = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())
    config: dict[str, str] = {}
    for key, value in document["config"].items():
        if isinstance(value, dict) and "secure" in value:
            continue  # ciphertext only the CLI can decrypt; the required ones get stand-ins below
        config[key] = value if isinstance(value, str) else json.dumps(value)
    config.setdefault(f"{PROJECT}:appSecret", MOCK_APP_SECRET)
    if package_dir is not None:
        config[f"{PROJECT}:chalicePackageDir"] = str(package_dir)
    return config


def run_stack(stack: str, package_dir: Path | None = None, extra_config: dict[str, str] | None = None) -> Inventory:
    """Executes `infra/__main__.py` as `pulumi up --stack <stack>` would, minus the cloud."""
    mocks = RecordingMocks()
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
    mocks.watch_protect()
    pulumi.runtime.set_all_config({**stack_config(stack, package_dir), **(extra_config or {})}, list(SECRET_CONFIG))

    def program() -> None:
        runpy.run_path(str(INFRA_DIR / "__main__.py"), run_name="__main__")

    _sync_await(run_pulumi_func(program))
    return Inventory(stack=stack, resources=list(mocks.resources), exports=_exports())


def _exports() -> dict[str, StackOutput]:
    """The root stack's outputs, resolved: what `pulumi stack output` would print (secrets included)."""
    root = runtime_settings.get_root_resource()
    outputs: dict[str, Any] = getattr(root, "outputs", {})
    resolved = {}
    for name, value in outputs.items():
        output = pulumi.Output.from_input(value)
        resolved[name] = StackOutput(_sync_await(output.future()), bool(_sync_await(output.is_secret())))
    return resolved
