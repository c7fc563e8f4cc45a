"""The local stack runs under the deployed permissions: moto enforces IAM, each function runs as its own user.

A grant missing from `infra/ame_infra/grants.py` (the Pulumi roles' source) is denied here as in AWS,
so the e2e and drill suites fail on it instead of the first deploy.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from ame_infra import grants
from chalicelib.polling import wait_for
from devstack import demo_data as demo
from devstack import permissions
from devstack.stack import ROOT, LocalStack
from tests.e2e.conftest import auth_for_order
from tests.e2e.test_readme_examples import readme_sh_blocks

pytestmark = pytest.mark.e2e


def process_environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().split("=", 1) for entry in raw if b"=" in entry)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads a process's environment from /proc")
def test_the_api_the_worker_and_the_sweeper_each_run_as_their_own_user(stack: LocalStack) -> None:
    running = {name: process.pid for name, process in stack.processes}
    pairs = (("api", "api"), ("worker", "worker"), ("sweeper", "sweeper"), ("drain", permissions.DRAIN_KIND))
    for process, kind in pairs:
        key = process_environment(running[process])["AWS_ACCESS_KEY_ID"]
        assert key == stack.aws_users[kind].access_key_id, process
    # one per Lambda function kind, plus the local-only drain's
    assert len({user.access_key_id for user in stack.aws_users.values()}) == len(grants.KINDS) + 1


def client_as(stack: LocalStack, kind: str, service: str) -> object:
    user = stack.aws_users[kind]
    return boto3.client(
        service,
        region_name=stack.config.region,
        endpoint_url=stack.aws_url,
        aws_access_key_id=user.access_key_id,
        aws_secret_access_key=user.secret_access_key,
    )


def test_the_endpoint_denies_what_a_functions_role_does_not_grant(stack: LocalStack) -> None:
    # GIVEN the API's user, whose role sends to the request queue but never consumes it
    sqs = client_as(stack, "api", "sqs")
    url = sqs.get_queue_url(QueueName="ame-envelope-requests")["QueueUrl"]  # type: ignore[attr-defined]
    # WHEN it tries to receive from it THEN moto refuses, naming the user and the action
    with pytest.raises(ClientError) as denied:
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)  # type: ignore[attr-defined]
    # (moto answers IAM's XML error to SQS's JSON client: botocore reads only the status as the code)
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "<Code>AccessDenied</Code>" in str(denied.value)
    assert "user/ame-platform-api is not authorized to perform: sqs:ReceiveMessage" in str(denied.value)
    # AND an unknown key is refused outright: only the stack's users and its administrator exist
    stranger = boto3.client(
        "sqs", region_name="us-east-1", endpoint_url=stack.aws_url, aws_access_key_id="AKIA0", aws_secret_access_key="x"
    )
    with pytest.raises(ClientError, match="InvalidClientTokenId"):
        stranger.list_queues()


@pytest.fixture
def api_without_send(stack: LocalStack) -> Iterator[None]:
    """The API's user with its deployed grants but sqs:SendMessage, restored after the test."""
    granted = permissions.deployed_actions("api")
    permissions.grant(stack.aws_url, "api", granted - {"sqs:SendMessage"})
    try:
        yield
    finally:
        permissions.grant(stack.aws_url, "api", granted)


def place_order(stack: LocalStack, key: str) -> requests.Response:
    body = demo.order_body(demo.ACME.cnpj)
    headers = {**auth_for_order(stack, body), "Idempotency-Key": key}
    return requests.post(f"{stack.api_url}/v1/orders", json=body, headers=headers, timeout=15)


def test_an_order_fails_without_the_send_grant_and_heals_when_it_is_back(
    stack: LocalStack, api_without_send: None
) -> None:
    # GIVEN the API's role without sqs:SendMessage WHEN an order is placed
    refused = place_order(stack, "permissions-revoked")
    # THEN it is refused as a queue outage, in the app's error shape
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "QUEUE_UNAVAILABLE"
    # WHEN the grant is back THEN the same call is accepted
    permissions.grant(stack.aws_url, "api", permissions.deployed_actions("api"))
    accepted = place_order(stack, "permissions-restored")
    assert accepted.status_code == 202, accepted.text


def place_decided_order(stack: LocalStack, key: str) -> None:
    """An order the API accepted (202) and the worker decided (no longer PROCESSING)."""
    accepted = place_order(stack, key)
    assert accepted.status_code == 202, accepted.text
    url = f"{stack.api_url}/v1/orders/{accepted.json()['order_key']}"
    headers = auth_for_order(stack, demo.order_body(demo.ACME.cnpj))
    assert wait_for(lambda: requests.get(url, headers=headers, timeout=5).json()["status"] != "PROCESSING", 20)


def test_the_endpoint_saw_the_api_and_the_worker_call_with_their_own_keys(stack: LocalStack) -> None:
    # GIVEN an order the API accepted and the worker decided
    place_decided_order(stack, "permissions-last-used")
    # THEN the endpoint recorded each function's own key as used (its calls were authorized as that user)
    iam = permissions.iam_client(stack.aws_url)
    for kind in ("api", "worker"):
        used = iam.get_access_key_last_used(AccessKeyId=stack.aws_users[kind].access_key_id)["AccessKeyLastUsed"]
        assert used.get("LastUsedDate") is not None, kind


def test_the_drain_keeps_the_results_and_notification_queues_short(stack: LocalStack) -> None:
    """moto scans a whole FIFO queue to deduplicate each send: undrained, they slowed every later order."""
    # GIVEN an order the worker decided, which publishes a result and notices
    place_decided_order(stack, "drained-outputs")
    # THEN the drain empties both queues (nothing waiting, nothing in flight)
    sqs = boto3.client(
        "sqs",
        region_name=stack.config.region,
        endpoint_url=stack.aws_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )

    def queued(name: str) -> int:
        queue_url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
        return sum(int(attributes[n]) for n in names)

    assert wait_for(lambda: queued("ame-envelope-results.fifo") + queued("ame-notifications.fifo") == 0, 20)
    # AND the drain's user may receive and delete, but not send
    drain = client_as(stack, permissions.DRAIN_KIND, "sqs")
    results_url = sqs.get_queue_url(QueueName="ame-envelope-results.fifo")["QueueUrl"]
    with pytest.raises(ClientError):
        drain.send_message(  # type: ignore[attr-defined]
            QueueUrl=results_url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="d"
        )


def test_the_readmes_denial_example_names_the_user_and_the_action(stack: LocalStack, tmp_path: Path) -> None:
    # GIVEN the README's block, on this stack's endpoint and with its users written where make run writes them
    (block,) = [b for b in readme_sh_blocks() if "devstack.permissions env api" in b and "scan" in b]
    users = tmp_path / "aws-users.json"
    permissions.write_users(users, stack.aws_url, stack.aws_users)
    script = block.replace(".devstack/aws-users.json", str(users)).replace("http://127.0.0.1:8100", stack.aws_url)
    if not (ROOT / ".venv" / "bin" / "python").exists():  # the suite may run from another interpreter
        script = script.replace(".venv/bin/python", sys.executable)
    # WHEN it is pasted into a shell at the repository's root
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    # THEN its one line says the API's user may not scan
    (line,) = done.stdout.splitlines()
    assert "user/ame-platform-api is not authorized to perform: dynamodb:Scan" in line
