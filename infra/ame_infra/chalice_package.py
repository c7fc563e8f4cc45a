"""Reads `chalice package` output so the Lambda functions and the REST API are the app's own.

`make package` writes `build/chalice/{deployment.zip,layer.zip,sam.json}` (`lean_package` splits the
heavy compiled dependencies into `layer.zip`, which every function mounts as a layer). The SAM template tells us each
function's handler, runtime, memory, timeout and SQS event source, and carries the Swagger body
Chalice generated for the routes; we deploy those with Pulumi instead of SAM.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INTEGRATION_URI_KEY = "x-amazon-apigateway-integration"


class PackageError(RuntimeError):
    """`chalice package` output is missing or not what this program understands."""


@dataclass(frozen=True)
class SqsSource:
    queue_name: str
    batch_size: int
    batching_window_seconds: int


@dataclass(frozen=True)
class PackagedFunction:
    logical_id: str
    handler: str
    runtime: str
    memory_mb: int
    timeout_seconds: int
    architecture: str
    sqs_source: SqsSource | None
    schedule: str | None = None
    """An EventBridge expression such as `rate(1 minute)` for `@app.schedule` functions."""

    @property
    def is_api(self) -> bool:
        return self.logical_id == "APIHandler"


@dataclass(frozen=True)
class ChalicePackage:
    directory: Path
    functions: tuple[PackagedFunction, ...]
    swagger: dict[str, Any]

    @property
    def archive(self) -> Path:
        return self.directory / "deployment.zip"

    @property
    def layer_archive(self) -> Path:
        """cryptography and its kin under `python/` (lean_package.LAYER_DISTRIBUTIONS)."""
        return self.directory / "layer.zip"

    @property
    def api_function(self) -> PackagedFunction:
        return next(f for f in self.functions if f.is_api)

    def swagger_for(self, invoke_arn: str, gateway_responses: dict[str, Any]) -> dict[str, Any]:
        """Chalice's Swagger with every integration pointing at our API function."""
        body = copy.deepcopy(self.swagger)
        for operations in body["paths"].values():
            for operation in operations.values():
                if isinstance(operation, dict) and INTEGRATION_URI_KEY in operation:
                    operation[INTEGRATION_URI_KEY]["uri"] = invoke_arn
        body["x-amazon-apigateway-gateway-responses"] = gateway_responses
        return body


def load_package(directory: Path) -> ChalicePackage:
    template_path = directory / "sam.json"
    archives = [directory / "deployment.zip", directory / "layer.zip"]
    if not template_path.is_file() or not all(a.is_file() for a in archives):
        raise PackageError(f"no chalice package in {directory}: run `make package` first")
    resources = json.loads(template_path.read_text())["Resources"]
    functions = tuple(
        _function(logical_id, resource["Properties"])
        for logical_id, resource in sorted(resources.items())
        if resource["Type"] == "AWS::Serverless::Function"
    )
    apis = [r["Properties"]["DefinitionBody"] for r in resources.values() if r["Type"] == "AWS::Serverless::Api"]
    if len(apis) != 1 or not any(f.is_api for f in functions):
        raise PackageError("expected exactly one REST API and its APIHandler function in sam.json")
    return ChalicePackage(directory=directory, functions=functions, swagger=apis[0])


def _function(logical_id: str, properties: dict[str, Any]) -> PackagedFunction:
    events = list(properties.get("Events", {}).values())
    sources = [e["Properties"] for e in events if e["Type"] == "SQS"]
    schedules = [e["Properties"]["Schedule"] for e in events if e["Type"] == "Schedule"]
    if len(events) != len(sources) + len(schedules) or len(events) > 1:
        raise PackageError(f"{logical_id}: one SQS or Schedule event source is supported, got {events}")
    return PackagedFunction(
        logical_id=logical_id,
        handler=properties["Handler"],
        runtime=properties["Runtime"],
        memory_mb=int(properties["MemorySize"]),
        timeout_seconds=int(properties["Timeout"]),
        architecture=properties.get("Architectures", ["x86_64"])[0],
        sqs_source=_sqs_source(sources[0]) if sources else None,
        schedule=schedules[0] if schedules else None,
    )


def _sqs_source(properties: dict[str, Any]) -> SqsSource:
    """The queue ARN is an `Fn::Sub` template ending in the queue's name; the name is all we need."""
    queue_arn = properties["Queue"]
    template = queue_arn["Fn::Sub"] if isinstance(queue_arn, dict) else queue_arn
    return SqsSource(
        queue_name=template.rsplit(":", 1)[-1],
        batch_size=int(properties.get("BatchSize", 10)),
        batching_window_seconds=int(properties.get("MaximumBatchingWindowInSeconds", 0)),
    )
