"""The region-out-of-service switch, an SSM parameter per region that `/v1/health` reads.

Route 53 health checks call `/v1/health` every few seconds per checker; the value is cached for
a few seconds so the checks cost one SSM read per interval, not one per call. If SSM cannot be
read the last known value stands: a blip in SSM must not fail a healthy region over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.orders.ports import RegionSwitch

log = logging.getLogger(__name__)
OUT_OF_SERVICE_VALUES = frozenset({"true", "out-of-service", "1"})


class SsmRegionSwitch(RegionSwitch):
    def __init__(
        self, client: Any, parameter: str, ttl_seconds: float = 5.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._parameter = parameter
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._serving = True
        self._read_at: float | None = None

    def in_service(self) -> bool:
        with self._lock:
            now = self._monotonic()
            if self._read_at is None or now - self._read_at >= self._ttl:
                self._serving = self._read(default=self._serving)
                self._read_at = now
            return self._serving

    def _read(self, default: bool) -> bool:
        try:
            value = self._client.get_parameter(Name=self._parameter)["Parameter"]["Value"]
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
                return True  # no switch set: the region serves
            log.warning("region switch unreadable; keeping the last value", extra={"error": type(exc).__name__})
            return default
        return str(value).strip().lower() not in OUT_OF_SERVICE_VALUES


def set_out_of_service(client: Any, parameter: str, out_of_service: bool) -> str:
    """Writes the switch `SsmRegionSwitch` reads (a DR drill, an operator, `devstack.switch`); returns the value."""
    value = "true" if out_of_service else "false"
    client.put_parameter(Name=parameter, Value=value, Type="String", Overwrite=True)
    return value
