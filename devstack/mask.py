"""Copies stdin to stdout through the PII mask, line by line: `chalice local ... 2>&1 | python -m devstack.mask`.

`chalice local` prints every request line, and our paths carry CPFs (`/v1/customers/<cpf>`); the
local stack masks its children's output itself, and this does the same for a `chalice local` of your own.

With `--audit FILE`, the API's audit records (the lines that start `{"kind":"audit"`) are also appended
to FILE as printed, before the mask: the local stand-in for the log subscription that carries them to
the audit bucket in AWS. They hold keyed hashes, no clear identifier; `make audit-report` reads FILE.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from pathlib import Path
from typing import TextIO

from chalicelib.logs import mask

AUDIT_LINE_START = b'{"kind":"audit"'
"""How `chalicelib.audit.wire.record_to_line` starts every record."""


def is_audit_line(line: bytes) -> bool:
    """An audit record as the API prints it: one JSON object of kind audit on the line, nothing else."""
    stripped = line.strip()
    if not stripped.startswith(AUDIT_LINE_START):
        return False
    try:
        value = json.loads(stripped)
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("kind") == "audit"


class AuditCopy:
    """Appends audit lines to one file; several children's drain threads may share it (run-dr's two
    APIs). Opened per line, so a stack that is stopping loses no line to a file closed under it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def offer(self, line: bytes) -> None:
        """Copies `line` when it is an audit record; never raises (the drain must go on)."""
        if not is_audit_line(line):
            return
        with self._lock, contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as file:
                file.write(line.strip() + b"\n")


def copy_masked(source: TextIO, sink: TextIO, audit: AuditCopy | None = None) -> None:
    """Flushes every line: what is being served shows at once, not when a buffer fills."""
    for line in source:
        if audit is not None:
            audit.offer(line.encode("utf-8"))
        sink.write(mask(line))
        sink.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audit", type=Path, help="append the audit records among the lines to this file")
    args = parser.parse_args(argv)
    source = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115 - stdin
    # Ctrl-C reaches the whole pipeline; a closed terminal ends the copy too. Neither is worth a traceback.
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        copy_masked(source, sys.stdout, AuditCopy(args.audit) if args.audit else None)


if __name__ == "__main__":
    main()
