"""The local runtime's own logic, without starting it: stop signals, the terminal's share of the
children's output, and health waits that only trust the child they started."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from devstack.stack import STOP_SIGNALS, StopRequested, StopSignals, Terminal, wait_until


@pytest.fixture
def stop_signals() -> Iterator[StopSignals]:
    """Installed for the test; the process's own handlers come back after it."""
    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    signals = StopSignals()
    signals.install()
    yield signals
    for s, handler in before.items():
        signal.signal(s, handler)


def test_a_stop_signal_outside_a_held_block_stops_at_once(stop_signals: StopSignals) -> None:
    with pytest.raises(StopRequested, match="SIGTERM"):
        signal.raise_signal(signal.SIGTERM)


def test_a_stop_signal_inside_a_held_block_waits_for_its_end(stop_signals: StopSignals) -> None:
    # GIVEN a block that starts a child and registers it
    registered = []

    def start_and_register() -> None:
        with stop_signals.held():
            signal.raise_signal(signal.SIGHUP)  # WHEN the terminal closes in the middle of it
            registered.append("child")

    with pytest.raises(StopRequested, match="SIGHUP"):
        start_and_register()
    # THEN the block finished (the child can be stopped) before the stop was raised, and a second
    # signal is ignored while stopping
    assert registered == ["child"]
    assert all(signal.getsignal(s) == signal.SIG_IGN for s in STOP_SIGNALS)


def test_nothing_a_child_prints_while_the_stack_stops_reaches_the_terminal() -> None:
    screen = io.BytesIO()
    terminal = Terminal(screen)
    terminal.write(b'127.0.0.1 - - [23/Nov/2026 21:38:06] "POST /v1/orders HTTP/1.1" 202 -\n')
    terminal.muted = True  # what stop() does first
    terminal.write(b"BrokenPipeError: [Errno 32] Broken pipe\n")
    assert screen.getvalue() == b'127.0.0.1 - - [23/Nov/2026 21:38:06] "POST /v1/orders HTTP/1.1" 202 -\n'


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_a_health_answer_does_not_count_once_the_child_we_started_is_gone() -> None:
    # GIVEN another program answering on the port, and our child that died (it found the port taken)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    child = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    child.wait()
    # WHEN the stack waits for it THEN the other program's answer is not taken for our child's
    try:
        with pytest.raises(RuntimeError, match="exited with 3"):
            wait_until(f"http://127.0.0.1:{server.server_address[1]}/v1/health", 5, child)
    finally:
        server.shutdown()
        server.server_close()


def test_the_local_lambda_context_counts_down_from_the_timeout() -> None:
    # GIVEN a context made at t=100 s for a 60 s function
    from devstack.worker import LocalLambdaContext

    now = [100.0]
    context = LocalLambdaContext("assemble_envelopes", timeout_seconds=60, clock=lambda: now[0])
    # WHEN time passes THEN the remaining time falls as Lambda's does, and stops at 0
    assert context.get_remaining_time_in_millis() == 60_000
    now[0] = 142.5
    assert context.get_remaining_time_in_millis() == 17_500
    now[0] = 200.0
    assert context.get_remaining_time_in_millis() == 0
