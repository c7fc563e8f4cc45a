"""`make run` and `make run-dr` as a person uses them: stopped by Ctrl-C, `kill` or a closed terminal,
also halfway through start-up, with nothing left behind; a busy port is an error that names it."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from chalicelib.polling import wait_for
from devstack.stack import free_ports

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc (children run in sessions of their own)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and " Z " not in Path(f"/proc/{pid}/stat").read_text()


def running(stack: Foreground, module: str) -> bool:
    """Whether one of the stack's children runs `python -m <module>`."""
    for pid in stack.children():
        with contextlib.suppress(OSError):
            if module in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0"):
                return True
    return False


def sharing_the_terminal(stack: Foreground, children: set[int]) -> set[int]:
    """The children in the stack's own session: a terminal's signals reach them directly, not through us."""
    shared = set()
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            if os.getsid(pid) == os.getsid(stack.pid):
                shared.add(pid)
    return shared


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def assert_nothing_left(children: set[int], ports: Mapping[str, int]) -> None:
    """Every process the stack was seen with is gone, and every port it used is free."""
    assert not [pid for pid in children if alive(pid)], "processes left running"
    assert not [port for port in ports.values() if listening(port)], "ports still listened on"


class Foreground(subprocess.Popen[str]):
    """`python -m devstack.stack`, remembering the children it was seen with, so a failing test leaves none."""

    seen: set[int]

    def children(self) -> set[int]:
        self.seen |= descendants(self.pid)
        return set(self.seen)


@contextmanager
def foreground_stack(
    ports: Mapping[str, int | str], *args: str, module: str = "devstack.stack"
) -> Iterator[Foreground]:
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "PYTHONUNBUFFERED": "1"}
    process = Foreground(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    process.seen = set()
    try:
        yield process
    finally:
        for pid in process.children():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def local_ports() -> dict[str, int]:
    from devstack.stack import LOCAL_PORTS

    return dict(zip(LOCAL_PORTS, free_ports(len(LOCAL_PORTS)), strict=True))


def clients_file_named_in(banner: str) -> Path:
    return Path(next(line.split()[1] for line in banner.splitlines() if line.strip().startswith("clients ")))


def wait_for_banner(process: Foreground, timeout: float = 60, banner: str = "ame-platform is running") -> str:
    """Everything the stack printed up to its banner, read from the pipe itself rather than through
    Python's buffer, so that `communicate()` later returns every byte after it."""
    assert process.stdout is not None
    pipe, printed = process.stdout.fileno(), b""
    deadline = time.monotonic() + timeout
    while banner.encode() not in printed:
        assert time.monotonic() < deadline, "no banner"
        if select.select([pipe], [], [], 0.5)[0]:
            chunk = os.read(pipe, 65536)
            assert chunk, f"the stack exited: {process.stderr.read() if process.stderr else ''}"
            printed += chunk
    return printed.decode(errors="replace")


@pytest.mark.parametrize("stop_signal", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_stops_every_child_and_frees_every_port(stop_signal: signal.Signals) -> None:
    # GIVEN a running stack and its processes
    ports = local_ports()
    with foreground_stack(ports) as stack:
        started = wait_for_banner(stack)
        children = stack.children()
        assert len(children) >= 5 and all(listening(p) for p in ports.values())
        clients = clients_file_named_in(started)
        assert clients == ROOT / ".devstack" / "clients.json" and clients.stat().st_mode & 0o077 == 0
        # WHEN the terminal closes (SIGHUP), `kill` (SIGTERM) or Ctrl-C (SIGINT) reaches it
        stack.send_signal(stop_signal)
        output, errors = stack.communicate(timeout=60)
    # THEN it stops them all, says why, and exits cleanly without a traceback from it or any child
    assert stack.returncode == 0
    assert f"stopping: {stop_signal.name} received" in errors
    assert "Traceback" not in started + output + errors
    assert_nothing_left(children, ports)
    # AND the clients' secrets went with the issuer
    assert not clients.exists()


def test_a_signal_during_start_up_stops_what_had_started() -> None:
    ports = local_ports()
    with foreground_stack(ports) as stack:
        wait_for(lambda: listening(ports["AME_AWS_PORT"]), 30, every=0.05)  # the endpoint is up; the API is not yet
        children = stack.children()
        stack.send_signal(signal.SIGTERM)
        output, errors = stack.communicate(timeout=60)
    assert children and stack.returncode == 0
    assert "stopping: SIGTERM received" in errors and "Traceback" not in output + errors
    assert_nothing_left(children, ports)


def test_ctrl_c_in_the_terminal_while_tables_are_created_stops_everything_without_a_traceback() -> None:
    # GIVEN a stack creating its tables and queues (endpoint and partners answer, the API is not up yet)
    ports = local_ports()
    with foreground_stack(ports) as stack:
        assert wait_for(lambda: running(stack, "devstack.aws"), 30, every=0.02)
        time.sleep(0.3)  # into its calls to the endpoint
        children = stack.children()
        assert not sharing_the_terminal(stack, children), "a child would get the terminal's Ctrl-C itself"
        # WHEN Ctrl-C reaches the terminal's whole process group, as a real one sends it
        os.killpg(stack.pid, signal.SIGINT)
        output, errors = stack.communicate(timeout=60)
    # THEN nothing is left and no process printed a traceback (the table setup used to print one)
    assert stack.returncode == 0 and "stopping: SIGINT received" in errors
    assert "Traceback" not in output + errors
    assert_nothing_left(children, ports)


def test_a_busy_port_is_an_error_naming_it_and_nothing_starts() -> None:
    # GIVEN something already listening where the API would
    ports = local_ports()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports["AME_API_PORT"]))
        squatter.listen()
        with foreground_stack(ports) as stack:
            output, errors = stack.communicate(timeout=60)
    # THEN the stack refuses, names the port and the variable that moves it, and leaves nothing running
    assert stack.returncode == 1
    assert f"port {ports['AME_API_PORT']} (AME_API_PORT) is in use" in errors
    assert "ame-platform is running" not in output and "Traceback" not in errors
    assert not listening(ports["AME_AWS_PORT"]) and not listening(ports["AME_PARTNERS_PORT"])


def test_a_busy_issuer_port_is_named_with_its_variable() -> None:
    # GIVEN something already listening where the token issuer would
    ports = local_ports()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports["AME_ISSUER_PORT"]))
        squatter.listen()
        with foreground_stack(ports) as stack:
            output, errors = stack.communicate(timeout=60)
    # THEN `make run` refuses, naming the port and AME_ISSUER_PORT, and starts nothing
    assert stack.returncode == 1
    assert f"port {ports['AME_ISSUER_PORT']} (AME_ISSUER_PORT) is in use" in errors
    assert f"AME_ISSUER_PORT={ports['AME_ISSUER_PORT'] + 1000}" in errors
    assert "ame-platform is running" not in output and "Traceback" not in errors
    assert not listening(ports["AME_AWS_PORT"]) and not listening(ports["AME_API_PORT"])


def test_unreadable_local_clients_stop_the_start_naming_the_file(tmp_path: Path) -> None:
    # GIVEN AME_LOCAL_CLIENTS naming a file that lists a scope the platform does not have
    mine = tmp_path / "clients.json"
    client = {"client_id": "ops", "client_secret": "never-printed", "area_id": "AREA-OPS", "scopes": ["orders.all"]}
    mine.write_text(json.dumps({"clients": [client]}))
    ports = local_ports()
    with foreground_stack({**ports, "AME_LOCAL_CLIENTS": str(mine)}) as stack:
        output, errors = stack.communicate(timeout=60)
    # THEN make run stops before starting anything, saying what is wrong and where, never the secret
    assert stack.returncode == 1
    assert f"could not start: AME_LOCAL_CLIENTS: {mine}: clients[0]: unknown scope 'orders.all'" in errors
    assert "never-printed" not in output + errors and "Traceback" not in errors
    assert not any(listening(port) for port in ports.values())


def test_every_busy_port_is_named_at_once() -> None:
    # GIVEN a first stack's ports taken, as when you start a second one
    ports = local_ports()
    with socket.socket() as api, socket.socket() as aws:
        for squatter, port in ((api, ports["AME_API_PORT"]), (aws, ports["AME_AWS_PORT"])):
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
        with foreground_stack(ports) as stack:
            _, errors = stack.communicate(timeout=60)
    # THEN one message names both and how to move them, rather than one per attempt
    api_port, aws_port = ports["AME_API_PORT"], ports["AME_AWS_PORT"]
    assert stack.returncode == 1
    assert f"ports {api_port} (AME_API_PORT) and {aws_port} (AME_AWS_PORT) are in use" in errors
    assert f"AME_API_PORT={api_port + 1000} AME_AWS_PORT={aws_port + 1000}" in errors
    assert not listening(ports["AME_PARTNERS_PORT"])


def test_a_port_that_is_not_a_number_is_refused_on_screen() -> None:
    with foreground_stack({**local_ports(), "AME_AWS_PORT": "eighty"}) as stack:
        _, errors = stack.communicate(timeout=60)
    assert stack.returncode == 1 and "AME_AWS_PORT='eighty' is not a port number" in errors


def test_closing_the_terminal_of_make_run_stops_everything() -> None:
    # GIVEN `make run` in a terminal of its own (its own process group), on free ports
    ports = local_ports()
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "PYTHONUNBUFFERED": "1"}
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert make.stdout is not None
        deadline = time.monotonic() + 120
        while "ame-platform is running" not in make.stdout.readline() and time.monotonic() < deadline:
            assert make.poll() is None, "make run exited during start-up"
        children = descendants(make.pid)
        # WHEN the terminal closes: SIGHUP to its whole process group
        os.killpg(make.pid, signal.SIGHUP)
        make.wait(timeout=60)
        # THEN make and every process it started are gone, and every port is free
        assert_nothing_left(children, ports)
    finally:
        for pid in descendants(make.pid):
            os.kill(pid, signal.SIGKILL)
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)


def test_closing_a_terminal_that_make_leads_stops_everything() -> None:
    # GIVEN `make run` as the terminal's own command (`xterm -e make run`, `script -c 'make run'`): make
    # leads the terminal's session, so on hang-up the kernel sends SIGHUP to make alone, which then waits
    ports = local_ports()
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "PYTHONUNBUFFERED": "1"}
    make, terminal = os.forkpty()
    if make == 0:  # the child: exec at once
        os.chdir(ROOT)
        os.execvpe("make", ["make", "--no-print-directory", "run"], env)
    children: set[int] = set()
    try:
        printed, deadline = b"", time.monotonic() + 120
        while b"ame-platform is running" not in printed:
            assert time.monotonic() < deadline, "no banner"
            if select.select([terminal], [], [], 0.5)[0]:
                printed += os.read(terminal, 65536)
        children = descendants(make)
        # WHEN the terminal closes
        os.close(terminal)
        # THEN make and every process it started are gone, and every port is free
        assert wait_for(lambda: os.waitpid(make, os.WNOHANG)[0] == make, 30), "make run is still waiting"
        assert_nothing_left(children, ports)
    finally:
        for pid in children | descendants(make):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(make, signal.SIGKILL)
            os.waitpid(make, 0)


def test_run_dr_names_its_busy_port_too() -> None:
    from devstack.regions import TWO_REGION_PORTS

    ports = dict(zip(TWO_REGION_PORTS, free_ports(len(TWO_REGION_PORTS)), strict=True))
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}}
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports["AME_REPLICATOR_PORT"]))
        squatter.listen()
        result = subprocess.run(
            [sys.executable, "-m", "devstack.regions"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert f"port {ports['AME_REPLICATOR_PORT']} (AME_REPLICATOR_PORT) is in use" in result.stderr
    assert not listening(ports["AME_AWS_PORT"])


def test_run_dr_starts_cleanly_and_its_banners_switch_command_fails_the_primary_over() -> None:
    # GIVEN `make run-dr` on free ports (the local AWS endpoint moved off 8100 too)
    from devstack.regions import TWO_REGION_PORTS

    ports = dict(zip(TWO_REGION_PORTS, free_ports(len(TWO_REGION_PORTS)), strict=True))
    with foreground_stack(ports, module="devstack.regions") as stack:
        started = wait_for_banner(stack, timeout=90, banner="/__router/status")
        children = stack.children()
        # WHEN the banner's command to take the primary out is pasted, from the repository's root
        switch_out = next(line.strip() for line in started.splitlines() if "devstack.switch us-east-1 out" in line)
        flipped = subprocess.run(["bash", "-c", switch_out], cwd=ROOT, capture_output=True, text=True, timeout=60)
        status = f"http://127.0.0.1:{ports['AME_API_PORT']}/__router/status"
        failed_over = wait_for(lambda: requests.get(status, timeout=5).json()["active"] == "us-west-2", 30)
        stack.send_signal(signal.SIGINT)
        output, errors = stack.communicate(timeout=60)
    # THEN it named this endpoint, the router failed over, and start-up printed no traceback (the early
    # health probes used to hang up on `chalice local`) nor any warning (the sweepers asked the router
    # who serves before it was up); Ctrl-C stopped everything
    assert f"AME_AWS_PORT={ports['AME_AWS_PORT']} .venv/bin/python -m devstack.switch us-east-1 out" == switch_out
    assert flipped.returncode == 0 and failed_over, flipped.stdout + flipped.stderr
    printed = started + output + errors
    assert (
        "Traceback" not in printed
        and "BrokenPipe" not in printed
        and '"level": "WARNING", "logger": "urllib3' not in printed
    )
    assert stack.returncode == 0 and "stopping: SIGINT received" in errors
    assert_nothing_left(children, ports)


def test_the_banners_example_pastes_as_is() -> None:
    # GIVEN `make run`'s banner, WHEN its "Try it" lines are pasted into a shell
    with foreground_stack(local_ports()) as stack:
        assert stack.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while not (lines and lines[-1].strip() == "") and time.monotonic() < deadline:
            line = stack.stdout.readline()
            if lines or line.startswith("Try it"):
                lines.append(line)
        script = "".join(lines[1:])
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script], capture_output=True, text=True, timeout=60
        )
        stack.send_signal(signal.SIGINT)
        stack.communicate(timeout=60)
    # THEN the order it created is there to read
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('{"order_key":"ord_') and '"status":"' in result.stdout
