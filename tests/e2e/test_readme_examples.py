"""Every README example for the local API, pasted as is into a shell, against the test stack.

The examples name `make run`'s default ports and clients file; the test stack runs on free ports with
a clients file of its own, so only the host:port (the API's 8000, the simulator's 8101, the issuer's
8103) and the path of `.devstack/clients.json` are rewritten, and nothing else. Each runs in a shell
where the README's token step ran first, as a person pastes them.
"""

from __future__ import annotations

import re
import subprocess

import jwt
import pytest

from devstack.stack import ROOT, LocalStack, StackConfig

pytestmark = pytest.mark.e2e
DEFAULTS = StackConfig()
API, PARTNERS = f"127.0.0.1:{DEFAULTS.api_port}", f"127.0.0.1:{DEFAULTS.partners_port}"
ISSUER, CLIENTS = f"127.0.0.1:{DEFAULTS.issuer_port}", ".devstack/clients.json"
BEARER = '-H "Authorization: Bearer $token"'


def readme_sh_blocks() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", (ROOT / "README.md").read_text(), flags=re.MULTILINE | re.DOTALL)


def local_api_examples() -> list[str]:
    """The README's `sh` blocks that call `make run`'s API or simulator (`make run-dr`'s are the drill tests')."""
    calls = [block for block in readme_sh_blocks() if "curl" in block and (API in block or PARTNERS in block)]
    return [block for block in calls if "devstack.switch" not in block]


def token_step() -> str:
    """The README's block that gets `$token` from the local issuer."""
    (block,) = [block for block in readme_sh_blocks() if f"{ISSUER}/oauth2/token" in block]
    return block


def on(stack: LocalStack, example: str) -> str:
    return (
        example.replace(API, f"127.0.0.1:{stack.config.api_port}")
        .replace(PARTNERS, f"127.0.0.1:{stack.config.partners_port}")
        .replace(ISSUER, f"127.0.0.1:{stack.config.issuer_port}")
        .replace(CLIENTS, str(stack.clients_file))
    )


def test_the_readme_has_the_order_credit_and_bureau_examples() -> None:
    examples = local_api_examples()
    assert len(examples) == 3
    assert all("…" not in example and "{partners}" not in example for example in examples)
    blocks = [token_step(), *examples]
    assert all("#" not in block for block in blocks), "zsh, without interactivecomments, runs a comment"
    # AND every call to the API carries the token (the simulator's need none)
    assert all(example.count(f"http://{API}/") == example.count(BEARER) > 0 for example in examples)
    assert CLIENTS in token_step() and "client_secret" in token_step()


def test_the_readmes_token_step_gets_a_token_of_the_first_demo_client(stack: LocalStack) -> None:
    script = on(stack, f'{token_step()}printf "%s" "$token"')
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    claims = jwt.decode(done.stdout, options={"verify_signature": False})
    assert claims["client_id"] == stack.clients.clients[0].client_id == "ame-demo-credit"


def test_every_local_api_example_in_the_readme_works_as_written(stack: LocalStack) -> None:
    outputs = []
    for example in local_api_examples():  # in order: the bureau example relies on the credit one before it
        # GIVEN a README example WHEN it runs in a shell that stops at the first failing command
        script = on(stack, f"{token_step()}{example}")
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script], capture_output=True, text=True, timeout=60
        )
        # THEN every command succeeds and no answer is an error
        assert done.returncode == 0, f"{example}\n{done.stdout}\n{done.stderr}"
        assert '"error"' not in done.stdout, f"{example}\n{done.stdout}"
        outputs.append(done.stdout)
    orders, credit, bureau = outputs
    assert "HTTP/1.1 202 Accepted" in orders and '"status":"QUORUM_MET"' in orders
    assert '"outcome":"APPROVED"' in credit and '"score_source":"BUREAU"' in credit
    assert '"mode": "down"' in bureau and '"score_source":"STORED"' in bureau and '"mode": "up"' in bureau
