"""Starts and stops the whole local stack as real processes on 127.0.0.1.

moto server (local AWS endpoint), partner simulator and token issuer -> tables and queues ->
queue worker -> `chalice local`. `make run` uses it in the foreground; the e2e tests use it on free ports.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol, Self

import requests

from chalicelib.logs import mask
from chalicelib.polling import wait_for
from chalicelib.settings import PARTNER_URL_VARIABLES
from devstack.issuer import DEFAULT_KEY
from devstack.mask import AuditCopy
from devstack.permissions import (
    DRAIN_KIND,
    FunctionUser,
    create_drain_user,
    create_function_users,
    sweeper_kind,
    write_users,
)
from devstack.tokens import ClientsFileError, LocalClients

ROOT = Path(__file__).resolve().parent.parent


def claim_check_bucket(region: str) -> str:
    """The local stand-in for `<bucketPrefix>-claim-check-<region>`: one per region, as in AWS
    (`devstack.aws` creates it; nothing replicates it locally)."""
    return f"ame-local-claim-check-{region}"


BIN = Path(sys.executable).parent


class Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> None: ...


class Terminal:
    """The terminal's share of the children's output, silenced once the stack is stopping: its last lines
    then say why and that every process stopped, and what the children print on the way out (a probe
    interrupted mid-answer, say) goes to their logs only."""

    def __init__(self, stream: Sink) -> None:
        self.stream = stream
        self.muted = False

    def write(self, line: bytes) -> None:
        if not self.muted:
            self.stream.write(line)

    def flush(self) -> None:
        self.stream.flush()


def _masked_copy(source: IO[bytes], sinks: list[Sink], audit: AuditCopy | None = None) -> None:
    """Drains a child's output for as long as it prints: a sink that fails (a closed log while stopping,
    a terminal that went away) is dropped, never the draining, or the child would block on a full pipe.
    An API's audit records are copied to `audit` as printed, before the mask (they hold no clear identifier)."""
    for line in iter(source.readline, b""):
        if audit is not None:
            audit.offer(line)
        masked = mask(line.decode("utf-8", errors="replace")).encode()
        for sink in list(sinks):
            try:
                sink.write(masked)
                sink.flush()
            except (ValueError, OSError):
                sinks.remove(sink)


def sweeper_of(worker: str) -> str:
    """The sweeper process beside a worker: `worker` -> `sweeper`, `worker-us-east-1` -> `sweeper-us-east-1`."""
    return worker.replace("worker", "sweeper", 1)


def free_port() -> int:
    (port,) = free_ports(1)
    return port


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: each socket stays bound until all are chosen, because the kernel hands a
    released port out again (two services of one run were given the same port)."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


class StartupError(RuntimeError):
    """The stack cannot start as configured (a busy port, a bad setting); the message says what to do."""


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Ctrl-C, `kill`, and the terminal closing: each stops every child, also in the middle of start-up."""


class StopRequested(Exception):
    """A stop signal arrived; raised where the main thread is, so start-up stops too."""


class StopSignals:
    """Turns a stop signal into StopRequested in the main thread, except inside `held()`, where it waits for
    the block's end: Popen forks, then waits for the exec, and a stop raised in between (or before the
    child is registered) would leave that child running with nobody to stop it."""

    def __init__(self) -> None:
        self._holding = 0
        self._pending: str | None = None

    def install(self) -> None:
        self._pending = None
        for stop_signal in STOP_SIGNALS:
            signal.signal(stop_signal, self._on_signal)

    def ignore(self) -> None:
        for stop_signal in STOP_SIGNALS:
            signal.signal(stop_signal, signal.SIG_IGN)

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.ignore()  # the first signal wins: stopping must not be interrupted by a second
        name = signal.Signals(signum).name
        if self._holding:
            self._pending = name
            return
        raise StopRequested(name)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
        if self._pending and not self._holding:
            raise StopRequested(self._pending)


STOP = StopSignals()


LOCAL_APP_SECRET = "local-stack-only-never-used-in-aws-0123456789"  # noqa: S105 (a placeholder, as above)
"""The local stack's application secret (cursor signing, audit subject hashes): a fixed placeholder like
the endpoint's `local` credentials, so audit records stay comparable between runs; AWS reads its own from SSM."""


def ports_from_env(defaults: Mapping[str, int], env: Mapping[str, str] = os.environ) -> dict[str, int]:
    """Each local port from its variable (e.g. AME_AWS_PORT), else its default."""
    ports = {}
    for variable, default in defaults.items():
        raw = env.get(variable) or str(default)
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise StartupError(f"{variable}={raw!r} is not a port number (1-65535)")
        ports[variable] = int(raw)
    return ports


def check_ports_free(ports: Mapping[str, int]) -> None:
    """Before anything starts: every port something already listens on, named with the variable that moves it.

    Without this a second stack's health checks were answered by the first one, and it said it was running.
    """
    busy = {variable: port for variable, port in ports.items() if _listened_on(port)}
    if busy:
        named = [f"{port} ({variable})" for variable, port in busy.items()]
        listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
        moves = " ".join(f"{variable}={port + 1000}" for variable, port in busy.items())
        raise StartupError(
            f"{'port' if len(busy) == 1 else 'ports'} {listed} {'is' if len(busy) == 1 else 'are'} in use: "
            f"another ame-platform stack, or another program, listens there. "
            f"Stop it, or move {'it to a free port' if len(busy) == 1 else 'them to free ports'}, e.g. {moves}"
        )
    if len(set(ports.values())) < len(ports):
        raise StartupError(f"two local services would share a port: {dict(ports)}")


def _listened_on(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # only a listener makes it busy
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def wait_until(check_url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Until `check_url` answers below 500; a process that exits meanwhile fails now, not at the timeout."""
    if not wait_for(lambda: _answers(check_url, process), timeout):
        raise TimeoutError(f"{check_url} did not come up within {timeout}s")


def _answers(check_url: str, process: subprocess.Popen[bytes] | None) -> bool:
    """The port was free before `process` started, so an answer while it still runs is its own."""
    _still_running(check_url, process)
    try:
        # A refused connection fails at once; an accepted one is waited for. An API's first request builds
        # its clients (1-2 s): a probe that gave up sooner left `chalice local` a BrokenPipe traceback each.
        answered = requests.get(check_url, timeout=(0.5, 10)).status_code < 500
    except requests.RequestException:
        return False
    _still_running(check_url, process)
    return answered


def _still_running(check_url: str, process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is not None:
        raise RuntimeError(f"{check_url}: process exited with {process.returncode}")


LOCAL_PORTS = {"AME_API_PORT": 8000, "AME_AWS_PORT": 8100, "AME_PARTNERS_PORT": 8101, "AME_ISSUER_PORT": 8103}
"""`make run`'s ports by the variable that moves each."""

CLIENTS_FILE = ROOT / ".devstack" / "clients.json"
"""Where `make run` and `make run-dr` write the clients they registered with the issuer."""
AWS_USERS_FILE = ROOT / ".devstack" / "aws-users.json"
"""Where `make run` and `make run-dr` write the function users' keys (`make chalice-local` runs as the API's)."""


def local_clients_from_env(env: Mapping[str, str] = os.environ) -> Path | None:
    """`AME_LOCAL_CLIENTS`: a clients file whose clients the issuer registers instead of the demo ones."""
    named = env.get("AME_LOCAL_CLIENTS", "").strip()
    return Path(named) if named else None


@dataclass
class RuntimeConfig:
    """What every process of the local runtime shares: the AWS endpoint, the partners, the token issuer,
    queues, logs."""

    aws_port: int = LOCAL_PORTS["AME_AWS_PORT"]
    partners_port: int = LOCAL_PORTS["AME_PARTNERS_PORT"]
    issuer_port: int = LOCAL_PORTS["AME_ISSUER_PORT"]
    clients_file: Path | None = None
    """Where the registered clients are written (0600) while the stack runs; None: a temporary file of its own."""
    local_clients: Path | None = None
    """A clients file whose clients are registered instead of the demo ones (`AME_LOCAL_CLIENTS`)."""
    issuer_key: Path = DEFAULT_KEY
    region: str = "us-east-1"
    role: str = "primary"
    visibility_timeout: int = 10
    max_receive_count: int = 5
    log_dir: Path = ROOT / ".devstack" / "logs"
    quiet: bool = True
    audit_dir: Path | None = None
    """Where the APIs' audit records are copied (`audit.jsonl`); None: `audit/` beside `log_dir`."""
    aws_users_file: Path | None = None
    """Where the function users' keys are written (0600) while the stack runs; None: nowhere."""
    partner_latency_ms: float = 0.0
    """How long every simulated partner answer waits (`make bench-envelope`); 0 for everything else."""

    @property
    def audit_file(self) -> Path:
        """`.devstack/audit/audit.jsonl` for `make run` and `make run-dr`: what `make audit-report` reads."""
        return (self.audit_dir or self.log_dir.parent / "audit") / "audit.jsonl"


@dataclass
class StackConfig(RuntimeConfig):
    """One region: the runtime and the port its API listens on."""

    api_port: int = LOCAL_PORTS["AME_API_PORT"]
    drain_outputs: bool = True
    """Consume the results and notification queues (devstack/drain.py) so they stay short; False keeps every
    message for a test that reads them."""

    @classmethod
    def on_free_ports(cls, **overrides: Any) -> StackConfig:
        api, aws, partners, issuer = free_ports(4)
        return cls(api_port=api, aws_port=aws, partners_port=partners, issuer_port=issuer, **overrides)


class ProcessGroup:
    """The local runtime's processes (endpoint, partners, APIs, workers): started, logged and stopped together."""

    def __init__(self, config: RuntimeConfig) -> None:
        self.config = config
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._logs: list[IO[bytes]] = []
        self.terminal = Terminal(sys.stdout.buffer)
        self.audit = AuditCopy(config.audit_file)
        self._scratch: Path | None = None
        self._wrote_clients = False
        self.aws_users: dict[str, FunctionUser] = {}
        """The IAM user of each function kind (api, worker, sweeper) on the local endpoint, once it is up."""

    @property
    def aws_url(self) -> str:
        return f"http://127.0.0.1:{self.config.aws_port}"

    @property
    def partners_url(self) -> str:
        return f"http://127.0.0.1:{self.config.partners_port}"

    @property
    def issuer_url(self) -> str:
        return f"http://127.0.0.1:{self.config.issuer_port}"

    @functools.cached_property
    def clients(self) -> LocalClients:
        """The OAuth clients the issuer registers: the demo ones with secrets of this run, or AME_LOCAL_CLIENTS's."""
        if self.config.local_clients is None:
            return LocalClients.demo(self.issuer_url)
        try:
            return LocalClients.load(self.config.local_clients, issuer=self.issuer_url)
        except ClientsFileError as bad:
            raise StartupError(f"AME_LOCAL_CLIENTS: {bad}") from None

    @property
    def clients_file(self) -> Path:
        if self.config.clients_file is not None:
            return self.config.clients_file
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="ame-clients-"))
        return self._scratch / "clients.json"

    def env(self) -> dict[str, str]:
        """The environment every process shares (the APIs trust this stack's issuer and clients);
        AME_*_URL already set by the caller win."""
        env = dict(os.environ)
        env.update(
            {
                "AWS_ENDPOINT_URL": self.aws_url,
                "AWS_REGION": self.config.region,
                "AWS_DEFAULT_REGION": self.config.region,
                # The local endpoint's administrator (devstack.permissions); each function's process runs
                # as its own user instead (`as_function`). Placeholders, never valid in AWS.
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AME_ROLE": self.config.role,
                "AME_MAX_RECEIVE_COUNT": str(self.config.max_receive_count),
                "AME_APP_SECRET": LOCAL_APP_SECRET,
                "AME_CLAIM_CHECK_BUCKET": claim_check_bucket(self.config.region),
                **self.clients.api_env(),
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
            }
        )
        for variable in PARTNER_URL_VARIABLES.values():
            env[variable] = os.environ.get(variable) or self.partners_url
        return env

    def launch(self, steps: Callable[[dict[str, str]], None]) -> None:
        """Runs `steps` with the shared environment; when one fails, stops whatever they had started."""
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        self.terminal.muted = False
        try:
            self.clients.write(self.clients_file)
            self._wrote_clients = True
            steps(self.env())
        except BaseException:
            self.stop()
            raise

    def provision(self, env: dict[str, str]) -> None:
        """Tables and queues in the region `env` names (`python -m devstack.aws`): a child like the others,
        in a session of its own, so a Ctrl-C in the middle reaches only us and it stops without a traceback."""
        name = f"provision-{env['AWS_REGION']}"
        argv = [sys.executable, "-m", "devstack.aws"]
        setup_env = {**env, "AME_VISIBILITY_TIMEOUT": str(self.config.visibility_timeout)}
        process = self.spawn(name, argv, setup_env, quiet=self.config.quiet)
        try:
            returncode = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"creating tables and queues took over 60 s (see {name}.log)") from None
        self.processes.remove((name, process))  # it was meant to exit: not a dead child
        if returncode != 0:
            raise RuntimeError(f"creating tables and queues failed with exit {returncode} (see {name}.log)")

    def start_api(self, name: str, port: int, env: dict[str, str], quiet: bool | None = None) -> None:
        """`chalice local` on `port`, answering before this returns; `quiet` keeps its lines in its log only."""
        local = [sys.executable, "-m", "devstack.chalice_local", "local"]  # chalice local, API Gateway's 404s
        argv = [*local, "--host", "127.0.0.1", "--port", str(port), "--no-autoreload"]
        quiet = self.config.quiet if quiet is None else quiet
        api = self.spawn(name, argv, self.as_function("api", env), cwd=ROOT / "app", quiet=quiet, audit=True)
        wait_until(f"http://127.0.0.1:{port}/v1/health", 30, api)

    def start_worker(self, name: str, env: dict[str, str], sweeper_env: Mapping[str, str] | None = None) -> None:
        """The queue consumer as `name` and the scheduled sweeper as `sweeper_of(name)`: two functions, two users
        (the dr region's sweeper is the user that may set the failover switch). `sweeper_env`: its own settings."""
        worker = [sys.executable, "-m", "devstack.worker"]
        self.spawn(name, [*worker, "--queue-only"], self.as_function("worker", env), quiet=self.config.quiet)
        sweeper = self.as_function(sweeper_kind(env.get("AME_ROLE", "primary")), {**env, **(sweeper_env or {})})
        self.spawn(sweeper_of(name), [*worker, "--schedule-only"], sweeper, quiet=self.config.quiet)

    def start_drain(self, name: str, env: dict[str, str]) -> None:
        """The results and notification queues' consumer (devstack/drain.py), as the local-only drain user."""
        argv = [sys.executable, "-m", "devstack.drain"]
        self.spawn(name, argv, self.as_function(DRAIN_KIND, env), quiet=self.config.quiet)

    def as_function(self, kind: str, env: dict[str, str]) -> dict[str, str]:
        """`env` with the keys of that function's IAM user: the process may do what its deployed role may."""
        if kind not in self.aws_users:
            raise RuntimeError(f"no IAM user for the {kind} yet: start the shared services first")
        return {**env, **self.aws_users[kind].env()}

    def start_shared_services(self, env: dict[str, str]) -> None:
        """The local AWS endpoint (every region, enforcing IAM, with one user per function), the partner
        simulator and the token issuer, up and answering."""
        endpoint = [sys.executable, "-m", "devstack.permissions", "serve"]
        moto = self.spawn("aws", [*endpoint, "-H", "127.0.0.1", "-p", str(self.config.aws_port)], env)
        sim = self.spawn(
            "partners",
            [
                *[sys.executable, "-m", "devstack.simulator", "--port", str(self.config.partners_port)],
                *["--latency-ms", str(self.config.partner_latency_ms)],
            ],
            env,
        )
        issuer = self.spawn("issuer", self._issuer_argv(), env)
        wait_until(f"{self.aws_url}/moto-api/", 30, moto)
        self.aws_users = {**create_function_users(self.aws_url), DRAIN_KIND: create_drain_user(self.aws_url)}
        if self.config.aws_users_file is not None:
            write_users(self.config.aws_users_file, self.aws_url, self.aws_users)
        wait_until(f"{self.partners_url}/areas/health-probe", 15, sim)
        wait_until(f"{self.issuer_url}/.well-known/jwks.json", 15, issuer)

    def _issuer_argv(self) -> list[str]:
        options = {"--port": self.config.issuer_port, "--clients": self.clients_file, "--key": self.config.issuer_key}
        return [sys.executable, "-m", "devstack.issuer", *(str(part) for pair in options.items() for part in pair)]

    def spawn(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        cwd: Path = ROOT,
        quiet: bool = True,
        audit: bool = False,
    ) -> subprocess.Popen[bytes]:
        """Every line a child prints passes through the PII mask before it reaches a file or the terminal.

        Our own loggers mask already; this catches what third-party code prints itself, such as
        the request lines of `chalice local` (whose paths may carry a CPF). An API child (`audit`) also
        has its audit records copied to `config.audit_file`, the local stand-in for the audit bucket.
        """
        log = open(self.config.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        with STOP.held():
            process = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
            )
            self.processes.append((name, process))
        assert process.stdout is not None
        sinks: list[Sink] = [log] if quiet else [log, self.terminal]
        copy = self.audit if audit else None
        threading.Thread(target=_masked_copy, args=(process.stdout, sinks, copy), daemon=True).start()
        return process

    def kill(self, name: str) -> None:
        """SIGKILL, not a graceful stop: what losing its machine does to a process."""
        for entry in [e for e in self.processes if e[0] == name]:
            _, process = entry
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            self.processes.remove(entry)

    def exited(self) -> list[str]:
        """The processes that have died; in the foreground, one dead process stops them all."""
        return [name for name, process in self.processes if process.poll() is not None]

    def stop(self) -> None:
        """One at a time, last started first, so the worker never outlives the endpoint it polls."""
        self.terminal.muted = True
        for _, process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
        self._remove_clients_file()
        if self.aws_users and self.config.aws_users_file is not None:
            self.config.aws_users_file.unlink(missing_ok=True)  # the keys die with the endpoint
        self.aws_users = {}

    def _remove_clients_file(self) -> None:
        """The secrets in it die with the issuer; a stack that never started leaves another one's file alone."""
        if self._wrote_clients:
            self.clients_file.unlink(missing_ok=True)
            self._wrote_clients = False
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


class LocalStack(ProcessGroup):
    """One region on one machine: `make run`, the e2e tests and the benchmarks."""

    config: StackConfig

    def __init__(self, config: StackConfig) -> None:
        super().__init__(config)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.config.api_port}"

    def ports(self) -> dict[str, int]:
        """Each port this stack listens on, by the variable that sets it."""
        return {
            "AME_API_PORT": self.config.api_port,
            "AME_AWS_PORT": self.config.aws_port,
            "AME_PARTNERS_PORT": self.config.partners_port,
            "AME_ISSUER_PORT": self.config.issuer_port,
        }

    def start(self) -> Self:
        self.launch(self._start_every_process)
        return self

    def _start_every_process(self, env: dict[str, str]) -> None:
        self.start_shared_services(env)
        self.provision(env)
        self.start_worker("worker", env)
        if self.config.drain_outputs:
            self.start_drain("drain", env)
        self.start_api("api", self.config.api_port, env)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


BANNER = """
ame-platform is running (Ctrl-C stops everything)

  API              {api}
  local AWS        {aws}   (moto server: DynamoDB + SQS)
  partners         {partners}   (simulator with demo data)
  token issuer     {issuer}   (OAuth 2.0 client credentials: Cognito stand-in)
  clients          {clients_file}   (ids, secrets, areas, scopes; removed at stop)
  logs             {logs}
  audit records    {audit}   (make audit-report CPF=...)

Try it (paste as is; README.md has every verdict and error): a token for {client_id} ({area_id}), then an order
  creds=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["clients"][{index}]; print(c["client_id"]+":"+c["client_secret"])' {clients_arg})
  token=$(curl -s -u "$creds" -d grant_type=client_credentials {token_url} \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  key=$(curl -s -X POST {api}/v1/orders -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \\
    -H 'Idempotency-Key: demo-1' -d '{body}' \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["order_key"])')
  curl -s -w '\\n' -H "Authorization: Bearer $token" {api}/v1/orders/$key
"""  # noqa: E501 (pasted as is: the credentials line stays one line)


def banner(stack: LocalStack) -> str:
    """The banner for `stack`, its example calling as the first client that may place orders (its own area's)."""
    from devstack import demo_data

    clients = stack.clients.clients
    index = next((n for n, c in enumerate(clients) if c.may("orders.write") and c.may("orders.read")), 0)
    client = clients[index]
    body = json.dumps(demo_data.order_body(demo_data.ACME.cnpj, area_id=client.area_id))
    return BANNER.format(
        api=stack.api_url,
        aws=stack.aws_url,
        partners=stack.partners_url,
        issuer=stack.issuer_url,
        clients_file=stack.clients_file,
        clients_arg=shlex.quote(str(stack.clients_file)),
        logs=stack.config.log_dir,
        audit=stack.config.audit_file,
        client_id=client.client_id,
        area_id=client.area_id,
        index=index,
        token_url=stack.clients.token_url,
        body=body,
    )


class Foreground(Protocol):
    """A stack `make run` or `make run-dr` keeps in the foreground."""

    def ports(self) -> Mapping[str, int]: ...

    def start(self) -> object: ...

    def exited(self) -> list[str]: ...

    def stop(self) -> None: ...


def _say(text: str, error: bool = False) -> None:
    """Prints unless the terminal is gone (a closed terminal is why we may be stopping)."""
    with contextlib.suppress(OSError):
        print(text, file=sys.stderr if error else sys.stdout, flush=True)


def _hung_up(terminal: list[int]) -> bool:
    """A terminal we started on is no longer one. Its SIGHUP usually reaches us, but when `make` leads the
    terminal's session (`script -c 'make run'`, `xterm -e make run`, a tmux command) only make gets it,
    and make then waits for its recipe, us, to finish."""
    return any(not os.isatty(fd) for fd in terminal)


def run_in_foreground(stack: Foreground, banner: Callable[[], str]) -> int:
    """Starts the stack, prints the banner, and stops every child on a stop signal, when a child dies, or
    when the `make` that started it goes away. Returns the exit status: 0 when asked to stop, 1 otherwise."""
    STOP.install()
    parent, under_make = os.getppid(), "MAKELEVEL" in os.environ
    terminal = [fd for fd in (0, 1, 2) if os.isatty(fd)]
    status, reason = 1, ""
    try:
        check_ports_free(stack.ports())
        stack.start()
        _say(banner())
        while not stack.exited() and not (under_make and os.getppid() != parent) and not _hung_up(terminal):
            time.sleep(0.5)
        reason = f"{', '.join(stack.exited())} exited" if stack.exited() else "make exited"
        if _hung_up(terminal):
            status, reason = 0, "the terminal closed"
    except StopRequested as stopped:
        status, reason = 0, f"{stopped} received"
    except (StartupError, TimeoutError, RuntimeError) as failed:
        reason = f"could not start: {failed}"
    finally:
        STOP.ignore()
        stack.stop()
    _say(f"stopping: {reason}", error=True)
    _say("stopped every process")
    return status


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the local stack in the foreground.")
    parser.add_argument("--port", type=int, help="the API's port (default: AME_API_PORT, else 8000)")
    args = parser.parse_args()
    try:
        ports = ports_from_env(LOCAL_PORTS)
    except StartupError as bad:
        _say(f"stopping: could not start: {bad}", error=True)
        raise SystemExit(1) from None
    config = StackConfig(
        api_port=args.port or ports["AME_API_PORT"],
        aws_port=ports["AME_AWS_PORT"],
        partners_port=ports["AME_PARTNERS_PORT"],
        issuer_port=ports["AME_ISSUER_PORT"],
        clients_file=CLIENTS_FILE,
        local_clients=local_clients_from_env(),
        quiet=False,
        aws_users_file=AWS_USERS_FILE,
    )
    stack = LocalStack(config)
    raise SystemExit(run_in_foreground(stack, lambda: banner(stack)))


if __name__ == "__main__":
    main()
