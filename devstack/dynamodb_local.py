"""DynamoDB Local (AWS's DynamoDB engine with real, atomic transactions) for the idempotency contention test.

moto's transactions are not atomic, so only a real engine can show what concurrent claims of one
Idempotency-Key do. The engine is found, in this order:

1. `AME_DYNAMODB_LOCAL_ENDPOINT`: one already running (e.g. `docker run -p 8000:8000 amazon/dynamodb-local`);
2. `AME_DYNAMODB_LOCAL_JAR`: a `DynamoDBLocal.jar` (its `DynamoDBLocal_lib/` beside it), started with `java`;
3. `.devstack/dynamodb-local/DynamoDBLocal.jar` (git-ignored), started with `java`.

`make setup` runs `python -m devstack.dynamodb_local install`, which never fails: it says what it found, or why
there is nothing to install and how a developer gets it. The package registries this project installs from
carry no usable copy: PyPI has only downloaders that fetch the jar from AWS at run time, Debian has none, and
the npm packages that bundle the jar pass on AWS's own DynamoDB Local licence (not an open-source licence),
which this project does not accept on a developer's behalf — so nothing is installed automatically.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALL_DIR = ROOT / ".devstack" / "dynamodb-local"
JAR_VARIABLE = "AME_DYNAMODB_LOCAL_JAR"
ENDPOINT_VARIABLE = "AME_DYNAMODB_LOCAL_ENDPOINT"
DOWNLOAD_URL = "https://d1ni2b6xgvw0s0.cloudfront.net/v2.x/dynamodb_local_latest.tar.gz"
HOW_TO_GET_IT = (
    f"with internet access, download {DOWNLOAD_URL} (AWS's DynamoDB Local, under AWS's licence), unpack it into "
    f"{INSTALL_DIR.relative_to(ROOT)}/ or anywhere and set {JAR_VARIABLE}=/path/to/DynamoDBLocal.jar "
    f"(needs Java 17+), or run `docker run -p 8000:8000 amazon/dynamodb-local` and set "
    f"{ENDPOINT_VARIABLE}=http://127.0.0.1:8000"
)
WHY_NOT_INSTALLED = (
    "DynamoDB Local is not installed: PyPI offers only downloaders that fetch it from AWS at run time "
    "(unreachable here), Debian has no package, and the npm packages that bundle the jar carry AWS's own "
    "DynamoDB Local licence (not open source), which setup does not accept on your behalf"
)


@dataclass(frozen=True, slots=True)
class Engine:
    """Where DynamoDB Local is: an endpoint already running, or a jar to start with `java`."""

    endpoint: str | None = None
    jar: Path | None = None
    java: str | None = None


def locate(env: Mapping[str, str] = os.environ) -> Engine | str:
    """The engine to use, or the precise reason there is none (a skip reason)."""
    endpoint = env.get(ENDPOINT_VARIABLE, "").strip()
    if endpoint:
        return Engine(endpoint=endpoint)
    named = env.get(JAR_VARIABLE, "").strip()
    jar = Path(named) if named else INSTALL_DIR / "DynamoDBLocal.jar"
    if not jar.is_file():
        where = f"{JAR_VARIABLE}={named} names no file" if named else f"no {jar.relative_to(ROOT)}"
        return f"{WHY_NOT_INSTALLED} ({where}); {HOW_TO_GET_IT}"
    if not (jar.parent / "DynamoDBLocal_lib").is_dir():
        return f"{jar} has no DynamoDBLocal_lib/ beside it (the sqlite4java native libraries); {HOW_TO_GET_IT}"
    java = shutil.which("java", path=env.get("PATH"))
    if java is None:
        return (
            f"DynamoDB Local is at {jar} but no `java` is on PATH (Java 17+ is needed: apt-get install openjdk-17-jre)"
        )
    return Engine(jar=jar, java=java)


def command(engine: Engine, port: int) -> list[str]:
    """In memory, on 127.0.0.1 only; one database whatever the credentials (`-sharedDb`)."""
    assert engine.jar is not None and engine.java is not None
    native = engine.jar.parent / "DynamoDBLocal_lib"
    return [
        engine.java,
        f"-Djava.library.path={native}",
        "-Djava.net.preferIPv4Stack=true",
        "-Xmx512m",
        "-jar",
        str(engine.jar),
        "-inMemory",
        "-sharedDb",
        "-port",
        str(port),
    ]


@contextmanager
def running(engine: Engine, log: Path) -> Iterator[str]:
    """The endpoint URL of `engine`, started on a free 127.0.0.1 port if it is a jar, stopped afterwards."""
    if engine.endpoint is not None:
        yield engine.endpoint
        return
    from devstack.stack import free_port, wait_until  # the stack module is heavy; only a started engine needs it

    port = free_port()
    # DynamoDB Local binds every interface unless told otherwise; the loopback-only flag exists only on newer
    # versions, so the port is a fresh one chosen on 127.0.0.1 and only 127.0.0.1 is ever addressed.
    with log.open("wb") as out:
        process = subprocess.Popen(
            command(engine, port), stdout=out, stderr=out, cwd=engine.jar.parent if engine.jar else None
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(url, 60, process)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def install() -> int:
    """`make setup`'s step: one line on what is there; never fails the setup (the test skips without it)."""
    found = locate()
    if isinstance(found, Engine):
        print(f"DynamoDB Local: {found.endpoint or found.jar} (the idempotency contention test runs against it)")
    else:
        print(
            "DynamoDB Local: unavailable, not installable from this project's registries (AWS licence); "
            f"the idempotency contention test is skipped: set {JAR_VARIABLE} or {ENDPOINT_VARIABLE} (README)"
        )
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        sys.exit("usage: python -m devstack.dynamodb_local install")
    sys.exit(install())
