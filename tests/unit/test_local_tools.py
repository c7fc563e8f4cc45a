"""The pieces a newcomer runs `chalice local` with: the `local` stage's settings and the PII mask filter."""

from __future__ import annotations

import io
import json

from chalicelib.settings import PARTNER_URL_VARIABLES
from devstack.mask import copy_masked
from devstack.stack import ROOT, StackConfig


def test_the_local_stage_names_every_setting_at_make_runs_default_ports() -> None:
    stages = json.loads((ROOT / "app" / ".chalice" / "config.json").read_text())["stages"]
    variables = stages["local"]["environment_variables"]
    defaults = StackConfig()
    partners = f"http://127.0.0.1:{defaults.partners_port}"
    assert {v: variables[v] for v in PARTNER_URL_VARIABLES.values()} == dict.fromkeys(
        PARTNER_URL_VARIABLES.values(), partners
    )
    assert variables["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{defaults.aws_port}"
    credentials = (variables["AWS_ACCESS_KEY_ID"], variables["AWS_SECRET_ACCESS_KEY"], variables["AWS_REGION"])
    assert credentials == ("local", "local", "us-east-1")
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
