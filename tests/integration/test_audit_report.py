"""The audit trail from the API's stdout to a data subject's report: locally through the stack's copy to
`.devstack/audit/`, in AWS from the audit bucket as CloudWatch Logs -> Firehose writes it."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.app import Request, Response
from moto import mock_aws

from chalicelib.adapters.audit_log import S3AuditLog, StdoutAuditTrail
from chalicelib.api.catalog import ROUTES
from chalicelib.audit.services import audit_request
from chalicelib.audit.subjects import subject_hash
from chalicelib.audit.wire import record_to_line
from chalicelib.commands import audit_report
from chalicelib.identity.model import Caller, Scope
from chalicelib.keys import AppKeys
from devstack.mask import AuditCopy
from devstack.stack import LOCAL_APP_SECRET, ROOT, _masked_copy

ME, NEIGHBOUR, STRANGER = "70000000230", "70000000400", "70000000310"
COMPANY = "11222333000181"
LOCAL_KEY = AppKeys.from_secret(LOCAL_APP_SECRET.encode()).audit_subject
CREDIT = Caller("credit-analysis", "AREA-CREDIT", frozenset(Scope))
CONSORTIUM = Caller("consortium-app", "AREA-CONSORTIUM", frozenset({Scope.ORDERS_READ}))
ORDER_KEY = "ord_" + "7" * 32


def spec(operation_id: str) -> Any:
    return next(s for s in ROUTES if s.operation_id == operation_id)


def request(operation_id: str, path: dict[str, str] | None = None, body: Any = None) -> Request:
    route = spec(operation_id)
    return Request(
        {
            "multiValueQueryStringParameters": None,
            "headers": {},
            "pathParameters": path,
            "requestContext": {"httpMethod": route.method, "resourcePath": route.path},
            "body": json.dumps(body) if body is not None else None,
            "stageVariables": None,
        }
    )


def decided_order() -> dict[str, Any]:
    participant = {"cpf": ME, "name": "Ana", "email": "ana@example.com", "phone": "+55 11 91234-5678"}
    other = {**participant, "cpf": NEIGHBOUR, "name": "Bia", "email": "bia@example.com"}
    return {"order_key": ORDER_KEY, "parties": [{"document": COMPANY, "participants": [participant, other]}]}


def serve(trail: StdoutAuditTrail, key: bytes) -> None:
    """Four requests as the gatekeeper would audit them; three touch ME."""
    at = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    served = [
        ("getCustomer", CREDIT, request("getCustomer", {"cpf": ME}), Response({"cpf": ME}), 9),
        ("getOrder", CREDIT, request("getOrder", {"order_key": ORDER_KEY}), Response(decided_order()), 10),
        ("getCustomer", CREDIT, request("getCustomer", {"cpf": STRANGER}), Response({"cpf": STRANGER}), 11),
        ("getCustomer", CONSORTIUM, request("getCustomer", {"cpf": ME}), Response({}, status_code=403), 12),
    ]
    for operation, caller, req, resp, hour in served:
        audit_request(trail, key, spec(operation), caller, req, resp, f"req-{hour}", at.replace(hour=hour), "us-east-1")


def run_report(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "chalicelib.commands.audit_report", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_locally_the_report_reads_what_the_api_printed_through_the_stacks_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an API process printing audit records among its other lines, drained by the local stack
    serve(StdoutAuditTrail(), LOCAL_KEY)
    printed = capsys.readouterr().out
    output = f'127.0.0.1 - - "GET /v1/customers/{ME} HTTP/1.1" 200 -\n{printed}'
    _masked_copy(io.BytesIO(output.encode()), [io.BytesIO()], AuditCopy(tmp_path / "audit" / "audit.jsonl"))
    # WHEN the data subject asks, as `make audit-report CPF=...` does
    result = run_report(ME, "--target", "local", "--audit-dir", str(tmp_path / "audit"))
    # THEN three accesses are listed newest first, the refused one included, and no one else is named
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"target: local audit log {tmp_path / 'audit'}/*.jsonl")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("subject: CPF ***.000.002-** (hash ")
    assert lines[0].endswith("from the first record until now")
    assert [[cell.strip() for cell in line.split(" | ")[:4]] for line in lines[2:5]] == [
        ["2026-11-22 12:00:00", "AREA-CONSORTIUM", "consortium-app", "getCustomer"],
        ["2026-11-22 10:00:00", "AREA-CREDIT", "credit-analysis", "getOrder"],
        ["2026-11-22 09:00:00", "AREA-CREDIT", "credit-analysis", "getCustomer"],
    ]
    assert lines[2].endswith("403 denied") and ORDER_KEY in lines[3] and lines[4].endswith("200 allowed")
    assert lines[5] == "3 accesses by 2 clients of 2 areas"
    for other in (NEIGHBOUR, STRANGER, COMPANY):
        assert other not in result.stdout and subject_hash(other, LOCAL_KEY)[:6] not in result.stdout
    assert ME not in result.stdout + result.stderr


def test_locally_json_a_period_and_an_invalid_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve(StdoutAuditTrail(), LOCAL_KEY)
    (tmp_path / "audit.jsonl").write_text(capsys.readouterr().out + '{"kind":"audit","torn\n')
    formatted = f"{ME[:3]}.{ME[3:6]}.{ME[6:9]}-{ME[9:]}"
    as_json = run_report(formatted, "--target", "local", "--json", "--audit-dir", str(tmp_path))
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert [r["operation"] for r in report["records"]] == ["getCustomer", "getOrder", "getCustomer"]
    assert report["subject"]["document"] == "CPF ***.000.002-**" and "note: 1 unreadable" in as_json.stderr
    later = run_report(ME, "--target", "local", "--since", "2026-11-23", "--audit-dir", str(tmp_path))
    assert later.returncode == 0 and later.stdout.splitlines()[-1] == "0 accesses recorded"
    invalid = run_report("70000000231", "--target", "local", "--audit-dir", str(tmp_path))
    assert (invalid.returncode, invalid.stdout) == (2, "")
    assert invalid.stderr == "nothing read: invalid document: CPF check digits do not match\n"


def envelope(*messages: str, kind: str = "DATA_MESSAGE") -> bytes:
    """What a CloudWatch Logs subscription hands Firehose: one gzipped JSON envelope."""
    events = [{"id": str(n), "timestamp": 1795000000000 + n, "message": m} for n, m in enumerate(messages)]
    body = {
        "messageType": kind,
        "owner": "123456789012",
        "logGroup": "/aws/lambda/ame-platform",
        "logStream": "2026/11/22/[$LATEST]abc",
        "subscriptionFilters": ["audit"],
        "logEvents": events,
    }
    return gzip.compress(json.dumps(body).encode())


def lines_for(key: bytes, capsys: pytest.CaptureFixture[str]) -> list[str]:
    serve(StdoutAuditTrail(), key)
    return capsys.readouterr().out.splitlines()


def fill_bucket(s3: Any, bucket: str, lines: list[str]) -> None:
    """The shapes Firehose may leave under `audit/`, and what must be ignored beside them."""
    s3.create_bucket(Bucket=bucket)
    first, second, third, fourth = lines
    objects = {
        # several gzipped envelopes joined in one object, a control message among them
        "audit/2026/11/22/12/ame-audit-1-2026-11-22-12-00-00-a": envelope(first, second)
        + envelope("CWL CONTROL MESSAGE: Checking health of destination Firehose.", kind="CONTROL_MESSAGE")
        + envelope("START RequestId: 1 Version: $LATEST", f"2026-11-22T12:00:00Z\treq\t{third}\n"),
        # envelopes decompressed by Firehose and joined without a separator
        "audit/2026/11/22/13/ame-audit-1-2026-11-22-13-00-00-b": gzip.decompress(envelope(fourth))
        + gzip.decompress(envelope('{"kind":"audit","torn')),
        # plain lines (Firehose's message extraction), one of another app's logs among them
        "audit/2026/11/22/14/plain": f'{first}\n{{"level": "INFO", "message": "x"}}\n'.encode(),
        # a broken object, and a record outside the prefix
        "audit/2026/11/22/15/broken.gz": b"\x1f\x8b not gzip",
        "elsewhere/x.jsonl": f"{first}\n".encode(),
    }
    for key, data in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=data)


def test_the_bucket_reader_finds_records_in_every_shape_firehose_leaves(
    aws_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the audit bucket as the log subscription fills it
    key = AppKeys.from_secret(b"the application secret in SSM, 32+ bytes").audit_subject
    lines = lines_for(key, capsys)
    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name="us-east-1")
    fill_bucket(s3, "audit-bucket-reader", lines)
    log = S3AuditLog(s3, "audit-bucket-reader")
    # WHEN the subject's records are read
    found = list(log.records_for(subject_hash(ME, key), None, None))
    # THEN each record is found wherever it lay (the first twice: two objects hold it), nothing outside audit/
    assert sorted(record_to_line(r) for r in found) == sorted([lines[0], lines[0], lines[1], lines[3]])
    assert log.unreadable == 2  # the torn line and the broken object
    stranger = list(log.records_for(subject_hash(STRANGER, key), None, None))
    assert [record_to_line(r) for r in stranger] == [lines[2]]
    assert list(log.records_for(subject_hash(ME, key), datetime(2026, 11, 22, 11, tzinfo=UTC), None)) != []
    assert list(log.records_for(subject_hash(ME, key), None, datetime(2026, 11, 22, 9, tzinfo=UTC))) == []


@pytest.fixture
def aws_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """AWS as moto mocks it in this process: `--target aws` refuses the local endpoint and its credentials."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AME_AUDIT_BUCKET", raising=False)
    monkeypatch.delenv("AME_APP_SECRET_PARAMETER", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with mock_aws():
        yield


@pytest.mark.usefixtures("aws_account")
def test_against_aws_the_report_hashes_with_the_secret_in_ssm_and_reads_the_bucket(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the application secret in SSM and the audit bucket the API's records reached
    secret = "the application secret in SSM, 32+ bytes"
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/ame/app-secret", Value=secret, Type="SecureString")
    lines = lines_for(AppKeys.from_secret(secret.encode()).audit_subject, capsys)
    fill_bucket(boto3.client("s3", region_name="us-east-1"), "ame-audit", lines)
    monkeypatch.setenv("AME_AUDIT_BUCKET", "ame-audit")
    # WHEN the operator asks for the subject's report against AWS
    args = ["--secret-parameter", "/ame/app-secret", "--since", "2026-11-22"]
    status = audit_report.main([ME, "--target", "aws", *args])
    out, err = capsys.readouterr()
    # THEN it names the account, the bucket and the parameter first, and lists the subject's accesses
    assert status == 0, err
    assert err.startswith("target: AWS account 123456789012 as arn:aws:")
    assert "region us-east-1; audit log s3://ame-audit/audit/, secret from SSM /ame/app-secret\n" in err
    rows = out.splitlines()[2:-1]  # the record Firehose delivered twice is listed once
    assert [row[:19] for row in rows] == ["2026-11-22 12:00:00", "2026-11-22 10:00:00", "2026-11-22 09:00:00"]
    assert out.splitlines()[-1] == "3 accesses by 2 clients of 2 areas" and ME not in out


@pytest.mark.usefixtures("aws_account")
@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        ([], 2, "nothing read: no audit bucket: give --audit-bucket or set AME_AUDIT_BUCKET"),
        (["--audit-bucket", "b"], 2, "nothing read: no application secret: give --secret-parameter"),
        (
            ["--audit-bucket", "b", "--secret-parameter", "/no"],
            1,
            "report stopped: An error occurred (ParameterNotFound)",
        ),
    ],
)
def test_against_aws_what_is_missing_is_said_in_one_line(
    args: list[str], status: int, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert audit_report.main([ME, "--target", "aws", *args]) == status
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith(says) and "Traceback" not in err


def test_against_aws_a_local_endpoint_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8100")
    assert audit_report.main([ME, "--target", "aws", "--audit-bucket", "b", "--secret-parameter", "p"]) == 2
    assert capsys.readouterr().err.startswith("nothing read: AWS_ENDPOINT_URL is set")
