"""Where an operator command acts, said aloud before anything is touched.

`--target local` is the local stack: its endpoint (`AWS_ENDPOINT_URL`, else 127.0.0.1 on
`AME_AWS_PORT`, 8100) and, unless set, placeholder credentials. `--target aws` is AWS itself: the
default credential chain and `AWS_REGION`; it refuses a local endpoint or the local placeholder
credentials left in the environment, and names the account it resolved before the first call.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from chalicelib.settings import region_from

LOCAL_AWS_PORT = 8100
LOCAL_PLACEHOLDER_CREDENTIAL = "local"
"""The local endpoint's administrator (moto enforces IAM: only it and the function users' keys are accepted);
AWS accepts none of these."""


class TargetError(RuntimeError):
    """The command cannot tell, or cannot reach, what it would act on; nothing was touched."""


@dataclass(frozen=True, slots=True)
class CommandTarget:
    name: str
    region: str
    endpoint_url: str | None
    overrides: Mapping[str, str]
    """Environment the command's AWS clients read (the local endpoint and its credentials)."""

    def apply(self, env: MutableMapping[str, str]) -> None:
        """Points this process's AWS clients (boto3 and PynamoDB alike) at the target."""
        if self.endpoint_url is None:
            env.pop("AWS_ENDPOINT_URL", None)
        env.update(self.overrides)

    def describe(self, sts: Any | None = None) -> str:
        """One line naming where the command will act; for AWS, the account the credentials resolve to."""
        if self.endpoint_url is not None:
            return f"target: local endpoint {self.endpoint_url}, region {self.region}"
        try:
            identity = (sts or _sts(self.region)).get_caller_identity()
        except Exception as exc:  # no credentials, expired ones, or AWS unreachable: all stop here
            raise TargetError(
                f"cannot resolve AWS credentials for region {self.region} ({type(exc).__name__}: {exc}); "
                "set AWS_PROFILE or log in (aws sso login), then retry"
            ) from None
        return f"target: AWS account {identity['Account']} as {identity['Arn']}, region {self.region}"


def add_target_argument(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument(
        "--target",
        choices=("local", "aws"),
        required=required,
        help="local: the local stack's endpoint; aws: your credential chain and AWS_REGION (or --region)",
    )
    parser.add_argument("--region", help="AWS region (default: AWS_REGION, else us-east-1)")


def resolve_target(name: str, env: Mapping[str, str], region: str | None = None) -> CommandTarget:
    region = region or region_from(env)
    if name == "local":
        endpoint = env.get("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{env.get('AME_AWS_PORT') or LOCAL_AWS_PORT}"
        overrides = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": env.get("AWS_ACCESS_KEY_ID") or LOCAL_PLACEHOLDER_CREDENTIAL,
            "AWS_SECRET_ACCESS_KEY": env.get("AWS_SECRET_ACCESS_KEY") or LOCAL_PLACEHOLDER_CREDENTIAL,
        }
        return CommandTarget("local", region, endpoint, overrides)
    if name != "aws":
        raise TargetError(f"unknown target {name!r}: use local or aws")
    if env.get("AWS_ENDPOINT_URL"):
        raise TargetError(
            f"AWS_ENDPOINT_URL is set ({env['AWS_ENDPOINT_URL']}): --target aws talks to AWS itself; unset it"
        )
    if env.get("AWS_ACCESS_KEY_ID") == LOCAL_PLACEHOLDER_CREDENTIAL:
        raise TargetError("AWS_ACCESS_KEY_ID holds the local stack's placeholder; unset it or use your AWS profile")
    return CommandTarget("aws", region, None, {"AWS_REGION": region, "AWS_DEFAULT_REGION": region})


def enter_target(args: argparse.Namespace, sts: Any | None = None) -> CommandTarget:
    """Resolves `--target`, says where the command acts (on stderr, beside any JSON it prints), and points
    this process there."""
    target = resolve_target(args.target, os.environ, args.region)
    print(target.describe(sts), file=sys.stderr, flush=True)
    target.apply(os.environ)
    return target


def run_on_target(
    args: argparse.Namespace, action: Callable[[CommandTarget], str], refused: str, stopped: str | None = None
) -> int:
    """Enters `--target`, runs `action` and prints the line it returns. A target that cannot be resolved
    exits 2 (`refused: why`, nothing touched); a call it refuses exits 1 (`stopped: why`); never a traceback."""
    try:
        target = enter_target(args)
    except TargetError as exc:
        print(f"{refused}: {exc}", file=sys.stderr)
        return 2
    try:
        print(action(target))
    except aws_errors() as exc:
        print(f"{stopped or refused}: {exc}", file=sys.stderr)
        return 1
    return 0


def aws_errors() -> tuple[type[Exception], ...]:
    """What a call to the target raises when it is unreachable or refuses: reported, not a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    return (BotoCoreError, ClientError, PynamoDBException)


def _sts(region: str) -> Any:
    import boto3

    return boto3.client("sts", region_name=region)
