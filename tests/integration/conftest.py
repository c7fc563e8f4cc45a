"""A real moto server process and the partner simulator on free local ports."""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Iterator

import pytest

from chalicelib.settings import PARTNER_URL_VARIABLES, Settings
from devstack.simulator import make_server
from devstack.stack import BIN, LOCAL_APP_SECRET, free_port, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def aws_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(f"{url}/moto-api/", 30, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def partners_url() -> Iterator[str]:
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")


@pytest.fixture
def settings(aws_endpoint: str, partners_url: str) -> Settings:
    """Fresh table and queue names per test, so tests never see each other's data."""
    suffix = uuid.uuid4().hex[:8]
    env = dict.fromkeys(PARTNER_URL_VARIABLES.values(), partners_url)
    env.update(
        {
            "AWS_ENDPOINT_URL": aws_endpoint,
            "AWS_REGION": "us-east-1",
            "AME_ORDERS_TABLE": f"orders-{suffix}",
            "AME_IDEMPOTENCY_TABLE": f"idem-{suffix}",
            "AME_ENVELOPE_REQUESTS_QUEUE": f"requests-{suffix}",
            "AME_ENVELOPE_RESULTS_QUEUE": f"results-{suffix}",
            "AME_NOTIFICATIONS_QUEUE": f"notifications-{suffix}",
            "AME_CLAIM_CHECK_BUCKET": f"claim-check-{suffix}",
            "AME_MAX_RECEIVE_COUNT": "2",
            "AME_PARTNER_READ_TIMEOUT": "0.5",
            "AME_APP_SECRET": LOCAL_APP_SECRET,
        }
    )
    return Settings.from_env(env)
