"""The pieces a newcomer runs `chalice local` with: the `local` stage's settings and the PII mask filter."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from chalicelib.settings import PARTNER_URL_VARIABLES
from devstack.mask import AuditCopy, copy_masked
from devstack.stack import ROOT, StackConfig, _masked_copy


def test_the_local_stage_names_every_setting_at_make_runs_default_ports() -> None:
    stages = json.loads((ROOT / "app" / ".chalice" / "config.json").read_text())["stages"]
    variables = stages["local"]["environment_variables"]
    defaults = StackConfig()
    partners = f"http://127.0.0.1:{defaults.partners_port}"
    assert {v: variables[v] for v in PARTNER_URL_VARIABLES.values()} == dict.fromkeys(
        PARTNER_URL_VARIABLES.values(), partners
    )
    assert variables["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{defaults.aws_port}"
    assert variables["AWS_REGION"] == "us-east-1"
    # No credentials: Chalice would apply them over the API's IAM user's keys `make chalice-local` exports
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & set(variables)
    assert "environment_variables" not in stages["dev"], "the deployed stage gets its settings from Pulumi"


def test_the_mask_filter_masks_every_line_as_it_comes() -> None:
    # GIVEN request lines as `chalice local` prints them
    lines = '127.0.0.1 - - "GET /v1/customers/70000000230 HTTP/1.1" 200 -\nServing on http://127.0.0.1:8001\n'
    sink = io.StringIO()
    # WHEN they pass through the filter THEN the CPF is masked and everything else is kept
    copy_masked(io.StringIO(lines), sink)
    assert (
        sink.getvalue() == '127.0.0.1 - - "GET /v1/customers/[CPF] HTTP/1.1" 200 -\nServing on http://127.0.0.1:8001\n'
    )


def test_the_run_dr_banner_gives_the_readmes_switch_commands() -> None:
    from devstack.regions import BANNER, PRIMARY

    readme = (ROOT / "README.md").read_text()
    for state in ("out", "in"):
        command = f".venv/bin/python -m devstack.switch {PRIMARY} {state}"
        assert f"\n{command}\n" in readme
        assert command in BANNER.replace("{primary}", PRIMARY)


AUDIT_LINE = (
    '{"kind":"audit","version":1,"at":"2026-11-22T12:00:00.000+00:00","request_id":"r","client_id":"c",'
    '"area_id":"A","method":"GET","route":"/v1/customers/{cpf}","operation":"getCustomer","action":"read",'
    '"subjects":["Xw3-0_hEv2PgmTLr3Q9rZA"],"resource":null,"status":200,"outcome":"allowed","region":"us-east-1"}\n'
)


def api_output() -> str:
    """What an API prints: request lines with CPFs, app logs, audit records, and lookalikes that are none."""
    return (
        '127.0.0.1 - - "GET /v1/customers/70000000230 HTTP/1.1" 200 -\n'
        + AUDIT_LINE
        + '{"time": "t", "level": "INFO", "message": "credit decided", "kind": "audit"}\n'
        + '{"kind":"audit","cpf":"70000000230"\n'
        + AUDIT_LINE.replace('"r"', '"r2"')
    )


def test_the_mask_filter_copies_audit_records_as_printed(tmp_path: Path) -> None:
    # GIVEN an API's output piped through `python -m devstack.mask --audit FILE`
    audit_file = tmp_path / "audit" / "audit.jsonl"
    sink = io.StringIO()
    # WHEN it is copied
    copy_masked(io.StringIO(api_output()), sink, AuditCopy(audit_file))
    # THEN FILE holds the two records exactly, and nothing else; the terminal still gets every line, masked
    assert audit_file.read_text() == AUDIT_LINE + AUDIT_LINE.replace('"r"', '"r2"')
    assert "70000000230" not in sink.getvalue() and sink.getvalue().count("\n") == 5


def test_the_stack_copies_an_apis_audit_records_and_no_one_elses(tmp_path: Path) -> None:
    # GIVEN the stack draining an API child (with the copy) and a worker (without)
    audit = AuditCopy(tmp_path / "audit.jsonl")
    api_log, worker_log = io.BytesIO(), io.BytesIO()
    # WHEN both print the same lines
    _masked_copy(io.BytesIO(api_output().encode()), [api_log], audit)
    _masked_copy(io.BytesIO(api_output().encode()), [worker_log])
    # THEN the audit file has the API's two records once each, and the logs are masked as before
    assert (tmp_path / "audit.jsonl").read_text() == AUDIT_LINE + AUDIT_LINE.replace('"r"', '"r2"')
    assert b"70000000230" not in api_log.getvalue() and api_log.getvalue() == worker_log.getvalue()


def test_make_run_make_chalice_local_and_the_report_agree_on_where_audit_records_are() -> None:
    from chalicelib.commands.audit_report import LOCAL_AUDIT_DIR
    from devstack.stack import BANNER

    audit_file = StackConfig().audit_file
    assert audit_file == ROOT / ".devstack" / "audit" / "audit.jsonl" == LOCAL_AUDIT_DIR / "audit.jsonl"
    assert f"-m devstack.mask --audit {audit_file.relative_to(ROOT)}" in (ROOT / "Makefile").read_text()
    assert "audit records    {audit}" in BANNER


def test_the_local_worker_polls_with_as_many_loops_as_asked_and_refuses_nonsense() -> None:
    from devstack.worker import pollers

    assert pollers({}) == 2
    assert pollers({"AME_LOCAL_POLLERS": "1"}) == 1
    for bad in ("0", "-1", "two", ""):
        with pytest.raises(SystemExit, match="AME_LOCAL_POLLERS must be a whole number of at least 1"):
            pollers({"AME_LOCAL_POLLERS": bad})
