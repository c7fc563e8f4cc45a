"""Copies stdin to stdout through the PII mask, line by line: `chalice local ... 2>&1 | python -m devstack.mask`.

`chalice local` prints every request line, and our paths carry CPFs (`/v1/customers/<cpf>`); the
local stack masks its children's output itself, and this does the same for a `chalice local` of your own.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TextIO

from chalicelib.logs import mask


def copy_masked(source: TextIO, sink: TextIO) -> None:
    """Flushes every line: what is being served shows at once, not when a buffer fills."""
    for line in source:
        sink.write(mask(line))
        sink.flush()


def main() -> None:
    source = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115 - stdin
    # Ctrl-C reaches the whole pipeline; a closed terminal ends the copy too. Neither is worth a traceback.
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        copy_masked(source, sys.stdout)


if __name__ == "__main__":
    main()
