"""`chalice local --stage local` on its own, as the README tells a newcomer to run it beside `make run`.

The stage's variables overwrite the environment (Chalice applies them over it), so they cannot be
pointed elsewhere per run: the test runs a copy of `app/` whose `local` stage names the backing
services' free ports instead of the defaults, and starts Chalice with an environment that has none
of the settings but what `make chalice-local` exports: the two from the clients file (the token issuer
and the area registry) and the API's IAM user's keys, so only the stage can have set the others.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack import demo_data as demo
from devstack import permissions
from devstack.stack import BIN, ROOT, ProcessGroup, StackConfig, free_port, wait_until
from devstack.tokens import LocalClients
from tests.e2e.conftest import CREDIT

pytestmark = pytest.mark.e2e
DEFAULTS = StackConfig()
START_MAKE_RUN = "start make run in another terminal first"


def local_stage_on(config: StackConfig) -> dict[str, Any]:
    """The repository's chalice config with the `local` stage moved from the default ports to `config`'s."""
    chalice_config: dict[str, Any] = json.loads((ROOT / "app" / ".chalice" / "config.json").read_text())
    moves = {
        f"127.0.0.1:{DEFAULTS.aws_port}": config.aws_port,
        f"127.0.0.1:{DEFAULTS.partners_port}": config.partners_port,
    }
    variables = chalice_config["stages"]["local"]["environment_variables"]
    for name in variables:
        for default, port in moves.items():
            variables[name] = variables[name].replace(default, f"127.0.0.1:{port}")
    return chalice_config


@pytest.fixture(scope="module")
def backing_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessGroup]:
    """What `make run` provides besides its API: the AWS endpoint, the partners, the token issuer, tables,
    queues, the worker."""
    logs = tmp_path_factory.mktemp("chalice-local-logs")
    config = StackConfig.on_free_ports(log_dir=logs, aws_users_file=logs / "aws-users.json")
    group = ProcessGroup(config)

    def start(env: dict[str, str]) -> None:
        group.start_shared_services(env)
        group.provision(env)
        group.start_worker("worker", env)

    group.launch(start)
    yield group
    group.stop()


@pytest.fixture(scope="module")
def chalice_local(backing_services: ProcessGroup, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Stopped with the backing services' process group, which spawned it."""
    assert isinstance(backing_services.config, StackConfig)
    project = tmp_path_factory.mktemp("app")
    (project / "app.py").write_text((ROOT / "app" / "app.py").read_text())
    (project / "chalicelib").symlink_to(ROOT / "chalicelib")
    (project / ".chalice").mkdir()
    (project / ".chalice" / "config.json").write_text(json.dumps(local_stage_on(backing_services.config)))
    port = free_port()
    # No AWS_* and no AME_* but what `make chalice-local` exports from the files `make run` wrote
    identity = LocalClients.load(backing_services.clients_file).api_env()
    assert backing_services.config.aws_users_file is not None
    api_user = permissions.read_user(backing_services.config.aws_users_file, "api").env()
    # No bytecode written into the project: Chalice's reloader watches it and starts importing `app.py` while
    # it lists the files, so an `__pycache__/app.*.pyc` written after the listing restarted the server a
    # second later, resetting the requests in flight (seen on a loaded CI machine).
    bare = {
        "PATH": os.environ["PATH"],
        "HOME": str(project),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        **identity,
        **api_user,
    }
    argv = [str(BIN / "chalice"), "local", "--stage", "local", "--port", str(port)]
    api = backing_services.spawn("chalice-local", argv, bare, cwd=project)
    wait_until(f"http://127.0.0.1:{port}/v1/health", 30, api)
    return f"http://127.0.0.1:{port}"


def test_the_local_stage_serves_health_from_its_own_settings(chalice_local: str) -> None:
    response = requests.get(f"{chalice_local}/v1/health", timeout=10)
    assert (response.status_code, response.json()) == (200, {"status": "ok", "region": "us-east-1", "role": "primary"})


def test_a_demo_order_reaches_quorum_met_through_the_local_stage(
    chalice_local: str, backing_services: ProcessGroup
) -> None:
    # GIVEN the API of `chalice local --stage local` and the backing services' worker, called with a token
    headers = backing_services.clients.bearer(CREDIT)
    body = demo.order_body(demo.ACME.cnpj)
    response = requests.post(f"{chalice_local}/v1/orders", json=body, headers=headers, timeout=10)
    assert response.status_code == 202, response.text
    # WHEN the worker decides it THEN the order shows QUORUM_MET
    url = f"{chalice_local}/v1/orders/{response.json()['order_key']}"
    deadline = time.monotonic() + 20
    while (status := requests.get(url, headers=headers, timeout=5).json()["status"]) == "PROCESSING" and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert status == "QUORUM_MET"


def test_the_local_stage_refuses_a_call_without_a_token(chalice_local: str) -> None:
    response = requests.get(f"{chalice_local}/v1/credit/policies/active", timeout=5)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "UNAUTHENTICATED")


def refusal_of_make_chalice_local(*variables: str) -> str:
    """`make chalice-local` with these overrides must fail with one line; returns it."""
    done = subprocess.run(
        ["make", "--no-print-directory", "chalice-local", *variables],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    (line,) = done.stdout.splitlines()
    return line


def test_make_chalice_local_without_make_run_says_to_start_it() -> None:
    # GIVEN nothing listening where the local AWS endpoint should be
    unused = f"http://127.0.0.1:{free_port()}"
    # WHEN the target is run THEN it says, in one line, to start `make run` first, and fails
    line = refusal_of_make_chalice_local(f"LOCAL_AWS={unused}")
    assert line == f"chalice-local: nothing answers at {unused} (the local AWS endpoint): {START_MAKE_RUN}"


def test_make_chalice_local_without_the_clients_file_says_to_start_make_run(backing_services: ProcessGroup) -> None:
    # GIVEN a local AWS endpoint answering, but no clients file where the target looks for it
    missing = backing_services.config.log_dir / "no-clients.json"
    # WHEN the target is run THEN it names the file and says to start `make run` first, in one line
    line = refusal_of_make_chalice_local(f"LOCAL_AWS={backing_services.aws_url}", f"CLIENTS={missing}")
    assert line == f"chalice-local: no {missing} (the clients make run registers): {START_MAKE_RUN}"


def test_make_chalice_local_without_the_users_file_says_to_start_make_run(backing_services: ProcessGroup) -> None:
    # GIVEN an endpoint answering and a clients file, but no IAM users file where the target looks for it
    missing = backing_services.config.log_dir / "no-aws-users.json"
    line = refusal_of_make_chalice_local(
        f"LOCAL_AWS={backing_services.aws_url}", f"CLIENTS={backing_services.clients_file}", f"AWS_USERS={missing}"
    )
    # THEN it names the file and says to start `make run` first, in one line
    assert line == f"chalice-local: no {missing} (the IAM users make run creates): {START_MAKE_RUN}"
