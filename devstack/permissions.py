"""The local AWS endpoint under the deployed permissions: moto enforcing IAM, one user per function.

`python -m devstack.permissions serve -H HOST -p PORT` runs moto server with IAM enforced from its
first request (`INITIAL_NO_AUTH_ACTION_COUNT=0`). The stack's placeholder credentials (`local`/`local`)
are an administrator seeded before the server listens, so provisioning, tests, drills and
`--target local` commands work as before. `create_function_users` then creates, through the IAM API,
one user per Lambda function kind (API, worker, sweeper, and the dr region's sweeper, which alone may set
the failover switch) with the policy `infra/ame_infra/grants.py`
builds for the Pulumi roles; each process runs with its own user's keys, so a call its role lacks is
denied here as in AWS. `python -m devstack.permissions env api FILE` prints the exports of one user.

moto matches actions only (a resource ARN other than `*` never matches), so the local copy widens
resources to `*`: resource scoping stays under tests/infra.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "infra") not in sys.path:  # ame_infra.grants is the Pulumi program's; it imports no pulumi
    sys.path.insert(0, str(ROOT / "infra"))

from ame_infra import grants  # noqa: E402
from ame_infra.contract import app_secret_parameter  # noqa: E402

ADMIN_KEY = "local"
"""The local stack's placeholder credential, as before: the endpoint's administrator; never valid in AWS."""
ADMIN_USER = "ame-local-admin"
POLICY_NAME = "deployed-grants"
"""The inline policy each function user holds (the one `revoke`/`grant` replace)."""

MOTO_ACTION_NAMES = {
    # AWS authorizes a transaction item by item (PutItem, UpdateItem, DeleteItem, ConditionCheckItem) and
    # a batch by its single action; moto checks the operation's own name. These go into the local copy only.
    "dynamodb:PutItem": ("dynamodb:TransactWriteItems",),
    "dynamodb:UpdateItem": ("dynamodb:TransactWriteItems",),
    "dynamodb:DeleteItem": ("dynamodb:TransactWriteItems",),
    "dynamodb:GetItem": ("dynamodb:TransactGetItems",),
    "sqs:SendMessage": ("sqs:SendMessageBatch",),
    "sqs:DeleteMessage": ("sqs:DeleteMessageBatch",),
    "sqs:ChangeMessageVisibility": ("sqs:ChangeMessageVisibilityBatch",),
}
MOTO_SERVICE_PREFIXES = {
    # moto prefixes an action with the service's signing name: CloudWatch signs as `monitoring`, so it
    # checks monitoring:DescribeAlarms where AWS checks cloudwatch:DescribeAlarms.
    "cloudwatch": "monitoring",
}


def moto_names(action: str) -> set[str]:
    """The names moto checks for what AWS authorizes as `action` (besides `action` itself)."""
    names = set(MOTO_ACTION_NAMES.get(action, ()))
    service, _, operation = action.partition(":")
    if service in MOTO_SERVICE_PREFIXES:
        names.add(f"{MOTO_SERVICE_PREFIXES[service]}:{operation}")
    return names


@dataclass(frozen=True)
class FunctionUser:
    kind: str
    user_name: str
    access_key_id: str
    secret_access_key: str

    def env(self) -> dict[str, str]:
        """What a process needs to call AWS as this user."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}


DRAIN_KIND = "local-drain"
"""A local-only user, no Lambda role: `devstack.drain` consumes the results and notification queues as it."""
DRAIN_ACTIONS = frozenset({"sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage"})


def user_name(kind: str) -> str:
    return f"ame-platform-{kind}"


def sweeper_kind(role: str) -> str:
    """`sweeper`, or `standby-sweeper` in the dr region: the one that may set the failover switch."""
    return grants.kind_of(grants.SWEEPER, role)


def deployed_actions(kind: str) -> set[str]:
    """The actions the Pulumi role of this function kind allows (grants.statements, as the program calls it)."""
    handler = grants.KINDS[kind]
    found = grants.statements(
        handler,
        user_name(kind),
        grants.CONSUMES.get(handler),
        grants.everything(),
        app_secret_parameter("local"),
        grants.role_of(kind),
    )
    return grants.actions(found)


def local_policy(actions: set[str]) -> dict[str, Any]:
    """One statement on `*`: moto matches actions only. No Condition either: moto cannot evaluate the role's
    (kms:EncryptionContext) and turns a statement whose condition fails into an explicit deny."""
    local = set(actions)
    for action in actions:
        local.update(moto_names(action))
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": sorted(local), "Resource": "*"}]}


def iam_client(endpoint_url: str) -> Any:
    import boto3

    return boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=ADMIN_KEY,
        aws_secret_access_key=ADMIN_KEY,
    )


def create_function_users(endpoint_url: str) -> dict[str, FunctionUser]:
    """One IAM user per function kind on the endpoint, holding its deployed grants; returns their keys."""
    iam = iam_client(endpoint_url)
    users = {}
    for kind in grants.KINDS:
        name = user_name(kind)
        iam.create_user(UserName=name)
        grant(endpoint_url, kind, deployed_actions(kind))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        users[kind] = FunctionUser(kind, name, key["AccessKeyId"], key["SecretAccessKey"])
    return users


def create_drain_user(endpoint_url: str) -> FunctionUser:
    """The local drain's user: receive and delete on SQS, nothing else (it stands in for other teams)."""
    name = user_name(DRAIN_KIND)
    iam = iam_client(endpoint_url)
    iam.create_user(UserName=name)
    grant(endpoint_url, DRAIN_KIND, set(DRAIN_ACTIONS))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return FunctionUser(DRAIN_KIND, name, key["AccessKeyId"], key["SecretAccessKey"])


def grant(endpoint_url: str, kind: str, actions: set[str]) -> None:
    """Replaces the function user's policy with `actions` (what a test revokes and restores)."""
    document = json.dumps(local_policy(actions))
    iam_client(endpoint_url).put_user_policy(UserName=user_name(kind), PolicyName=POLICY_NAME, PolicyDocument=document)


def write_users(path: Path, endpoint_url: str, users: Mapping[str, FunctionUser]) -> None:
    """0600, as the clients file: `make chalice-local` reads the API user's keys from it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    body = {"endpoint": endpoint_url, "users": {kind: vars(user) for kind, user in users.items()}}
    path.write_text(json.dumps(body, indent=2) + "\n")


def read_user(path: Path, kind: str) -> FunctionUser:
    return FunctionUser(**json.loads(path.read_text())["users"][kind])


def serve(argv: list[str]) -> None:
    """moto server enforcing IAM from its first request, the placeholder credentials an administrator."""
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"  # read when moto's settings are imported
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends
    from moto.server import main as moto_main

    # Seeded in process: through the API, moto gives every new key a random id, and the placeholder's
    # callers (operators' `--target local`, the drill, the tests) would all need to learn another one.
    backend = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    backend.create_user("us-east-1", ADMIN_USER)
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    backend.put_user_policy(ADMIN_USER, "administrator", json.dumps(admin))
    key = backend.create_access_key(ADMIN_USER)
    del backend.access_keys[key.physical_resource_id]
    key.access_key_id = key.secret_access_key = ADMIN_KEY
    backend.access_keys[key.physical_resource_id] = key
    _sign_bodyless_requests_over_an_empty_payload()
    _fifo_deduplication_interval(os.environ.get("AME_LOCAL_FIFO_DEDUP_SECONDS"))
    moto_main(argv)


def _fifo_deduplication_interval(seconds: str | None) -> None:
    """`AME_LOCAL_FIFO_DEDUP_SECONDS`: the local FIFO queues' deduplication interval (SQS's 300 s by default),
    shortened so the soak (tests/soak) can make a redelivery arrive later than it without waiting 5 minutes."""
    if seconds:
        import moto.sqs.models

        moto.sqs.models.DEDUPLICATION_TIME_IN_SECONDS = int(seconds)


def _sign_bodyless_requests_over_an_empty_payload() -> None:
    """moto 5.2.5 checks the signature of a GET (HEAD, DELETE) without a body over its parsed form instead
    (for Route 53's, the headers), so every such call failed with SignatureDoesNotMatch although the client
    had signed an empty payload, as SigV4 says. This checks what the client signed. (A form POST's body is
    its parsed form, which moto signs right.)"""
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase._create_aws_request

    def create_aws_request(self: IAMRequestBase) -> Any:
        request = original(self)
        if self._method in ("GET", "HEAD", "DELETE") and not self._body:
            request.data = b""
        return request

    IAMRequestBase._create_aws_request = create_aws_request  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="moto server enforcing IAM (moto_server's own arguments follow)")
    exports = commands.add_parser("env", help="the shell exports of one function user's keys")
    exports.add_argument("kind", choices=sorted(grants.KINDS))
    exports.add_argument("users_file", type=Path)
    args, rest = parser.parse_known_args()
    if args.command == "serve":
        serve(rest)
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    user = read_user(args.users_file, args.kind)
    print("\n".join(f"export {name}={shlex.quote(value)}" for name, value in user.env().items()))


if __name__ == "__main__":
    main()
