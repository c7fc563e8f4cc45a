"""The local queue worker (`devstack.worker`) that dies by SIGKILL right after its Nth publish reaches SQS.

`AME_SOAK_CRASH_AFTER_PUBLISHES=N`: after the Nth successful send of a result or a batch of notices (counted in
this process), the worker kills itself before the outbox records what it sent: the crash the outbox must
survive without publishing twice, however late the request is redelivered. Local only (the soak starts it).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from chalicelib.adapters import sqs
from devstack import worker

CRASH_AFTER = "AME_SOAK_CRASH_AFTER_PUBLISHES"


def crash_after(publishes: int) -> None:
    lock = threading.Lock()
    sent = [0]

    def counted(send: Callable[..., None]) -> Callable[..., None]:
        def wrapper(*args: Any) -> None:
            send(*args)
            with lock:
                sent[0] += 1
                if sent[0] >= publishes:
                    os.kill(os.getpid(), signal.SIGKILL)

        return wrapper

    publisher: Any = sqs.SqsEnvelopePublisher
    publisher.publish_result = counted(publisher.publish_result)
    publisher.notify_signers = counted(publisher.notify_signers)


if __name__ == "__main__":
    if os.environ.get(CRASH_AFTER):
        crash_after(int(os.environ[CRASH_AFTER]))
    worker.main()
