"""The local stack's OAuth clients as data: the demo clients, `AME_LOCAL_CLIENTS` instead of them, the
file `make run` writes, and what the APIs are told to trust. No process is started."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from chalicelib.identity.model import Scope
from chalicelib.settings import IdentitySettings
from devstack.stack import ProcessGroup, RuntimeConfig, StartupError, local_clients_from_env
from devstack.tokens import ClientsFileError, LocalClients, export_lines


def custom_clients(**first: Any) -> dict[str, Any]:
    return {
        "clients": [
            {
                "client_id": "ops-batch",
                "client_secret": "s3cret-ops",
                "area_id": "AREA-OPS",
                "scopes": ["orders.read"],
                **first,
            },
            {"client_id": "risk", "client_secret": "s3cret-risk", "area_id": "AREA-RISK", "scopes": ["credit.decide"]},
        ]
    }


def group(tmp_path: Path, local_clients: Path | None = None) -> ProcessGroup:
    clients_file = tmp_path / ".devstack" / "clients.json"
    config = RuntimeConfig(
        issuer_port=18103, clients_file=clients_file, local_clients=local_clients, log_dir=tmp_path / "logs"
    )
    return ProcessGroup(config)


def written(group: ProcessGroup) -> tuple[dict[str, Any], int, dict[str, str]]:
    """What a start writes (the clients file and its mode) and the environment its processes get."""
    seen: dict[str, Any] = {}

    def steps(env: dict[str, str]) -> None:
        seen["file"] = json.loads(group.clients_file.read_text())
        seen["mode"] = stat.S_IMODE(group.clients_file.stat().st_mode)
        seen["env"] = env

    group.launch(steps)
    return seen["file"], seen["mode"], seen["env"]


def test_make_run_writes_the_demo_clients_in_the_contracts_shape(tmp_path: Path) -> None:
    # GIVEN a stack without AME_LOCAL_CLIENTS WHEN it starts
    document, mode, env = written(group(tmp_path))
    # THEN the file holds the token URL, the issuer and every client, readable by its owner only
    assert mode == 0o600
    assert document["token_url"] == "http://127.0.0.1:18103/oauth2/token"
    assert document["issuer"] == "http://127.0.0.1:18103"
    assert all(set(c) == {"client_id", "client_secret", "area_id", "scopes"} for c in document["clients"])
    by_id = {c["client_id"]: c for c in document["clients"]}
    # AND the credit area's system holds every scope, a second area only orders, and one client only reads
    assert by_id["ame-demo-credit"]["area_id"] == "AREA-CREDIT"
    assert set(by_id["ame-demo-credit"]["scopes"]) == {s.value for s in Scope}
    assert (by_id["ame-demo-consortium"]["area_id"], by_id["ame-demo-consortium"]["scopes"]) == (
        "AREA-CONSORTIUM",
        ["orders.write", "orders.read"],
    )
    assert not any(s.endswith((".write", ".decide")) for s in by_id["ame-demo-readonly"]["scopes"])
    # AND the APIs trust exactly this issuer and these clients, in the settings they read
    identity = IdentitySettings.from_env(env)
    assert identity.issuers == ("http://127.0.0.1:18103",)
    assert dict(identity.area_clients) == {c["client_id"]: c["area_id"] for c in document["clients"]}


def test_every_run_draws_new_secrets(tmp_path: Path) -> None:
    first, second = (LocalClients.demo("http://127.0.0.1:1") for _ in range(2))
    pairs = zip(first.clients, second.clients, strict=True)
    assert all(a.client_id == b.client_id and a.client_secret != b.client_secret for a, b in pairs)
    assert all(len(c.client_secret) >= 40 for c in first.clients)


def test_ame_local_clients_replaces_the_demo_clients(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN AME_LOCAL_CLIENTS naming a file of clients for areas of our own (its issuer is elsewhere)
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"token_url": "https://elsewhere/oauth2/token", **custom_clients()}))
    monkeypatch.setenv("AME_LOCAL_CLIENTS", str(mine))
    # WHEN the stack starts with it
    document, _, env = written(group(tmp_path, local_clients_from_env()))
    # THEN only those clients are registered, with the local issuer, and the APIs' area registry is theirs
    assert [(c["client_id"], c["client_secret"], c["area_id"]) for c in document["clients"]] == [
        ("ops-batch", "s3cret-ops", "AREA-OPS"),
        ("risk", "s3cret-risk", "AREA-RISK"),
    ]
    assert document["token_url"] == "http://127.0.0.1:18103/oauth2/token"
    assert json.loads(env["AME_AREA_CLIENTS"]) == {"ops-batch": "AREA-OPS", "risk": "AREA-RISK"}


@pytest.mark.parametrize(
    ("first", "complaint"),
    [
        ({"scopes": ["orders.delete"]}, "unknown scope 'orders.delete'"),
        ({"scopes": "orders.read"}, "scopes must be a list"),
        ({"client_secret": ""}, "client_secret must be a non-empty string"),
        ({"area_id": None}, "area_id must be a non-empty string"),
        ({"client_id": "a:b"}, "must not contain ':'"),
        ({"client_id": "risk"}, "client_id 'risk' is listed more than once"),
    ],
)
def test_a_bad_clients_file_stops_the_start_naming_the_problem_not_the_secret(
    tmp_path: Path, first: dict[str, Any], complaint: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(custom_clients(**first)))
    stack = group(tmp_path, bad)
    with pytest.raises(StartupError, match="AME_LOCAL_CLIENTS") as refused:
        stack.launch(lambda env: None)
    assert complaint in str(refused.value) and "s3cret" not in str(refused.value)
    assert not stack.clients_file.exists()


@pytest.mark.parametrize("content", ["not json", "[]", '{"clients": []}', '{"clients": {}}'])
def test_a_file_that_is_not_a_clients_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "clients.json"
    path.write_text(content)
    with pytest.raises(ClientsFileError, match=str(path)):
        LocalClients.load(path, issuer="http://127.0.0.1:1")


def test_a_stack_that_did_not_start_leaves_another_stacks_clients_file_alone(tmp_path: Path) -> None:
    # GIVEN `make run` running, and a second one that stops before starting (its ports are busy)
    first = group(tmp_path)
    first.launch(lambda env: None)
    second = group(tmp_path)
    second.stop()
    # THEN the first one's clients file is still there; its own stop removes it (the secrets die with it)
    assert first.clients_file.exists()
    first.stop()
    assert not first.clients_file.exists()


def test_a_stack_of_its_own_keeps_its_clients_in_a_temporary_file(tmp_path: Path) -> None:
    stack = ProcessGroup(RuntimeConfig(issuer_port=18103, log_dir=tmp_path / "logs"))
    stack.launch(lambda env: None)
    path = stack.clients_file
    assert path.exists() and not path.is_relative_to(Path(__file__).resolve().parents[2])
    stack.stop()
    assert not path.exists() and not path.parent.exists()


def test_the_exports_for_chalice_local_survive_a_shell(tmp_path: Path) -> None:
    # GIVEN clients whose ids a shell would split or expand
    clients = LocalClients.from_document(
        custom_clients(client_id="it's $HOME `x`"), "test", issuer="http://127.0.0.1:18103"
    )
    # WHEN `make chalice-local` evaluates the exports
    shell = f'{export_lines(clients)}printf "%s\\n%s" "$AME_TOKEN_ISSUERS" "$AME_AREA_CLIENTS"'
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=True)
    # THEN the API reads back exactly this issuer and registry
    issuers, registry = done.stdout.split("\n")
    assert issuers == "http://127.0.0.1:18103"
    assert json.loads(registry) == {"it's $HOME `x`": "AREA-OPS", "risk": "AREA-RISK"}
