"""The active policy: loaded at cold start, refreshed on a short TTL, compiled once per content hash."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from chalicelib.credit.engine import CompiledPolicy
from chalicelib.credit.errors import PolicyUnavailable
from chalicelib.credit.policy import default_policy, load_policy_text
from chalicelib.credit.ports import CreditStore

log = logging.getLogger(__name__)
DEFAULT_TTL_SECONDS = 300.0


class PolicyProvider:
    """A bad or unreachable published policy never replaces a good one already in use."""

    def __init__(
        self, store: CreditStore, ttl_seconds: float = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._current: CompiledPolicy | None = None
        self._loaded_at = float("-inf")

    def active(self) -> CompiledPolicy:
        if self._current is None or self._clock() - self._loaded_at >= self._ttl:
            with self._lock:
                if self._current is None or self._clock() - self._loaded_at >= self._ttl:
                    self._refresh()
        assert self._current is not None
        return self._current

    def _refresh(self) -> None:
        try:
            text = self._store.active_policy_text()
            policy = load_policy_text(text) if text is not None else default_policy()
        except Exception as exc:  # an unreachable store or an invalid document alike
            if self._current is None:
                raise PolicyUnavailable(f"no valid credit policy could be loaded ({type(exc).__name__})") from exc
            log.error("policy refresh failed; keeping %s %s", self._current.ref.policy_id, self._current.ref.version)
            self._loaded_at = self._clock()
            return
        if self._current is None or self._current.ref.hash != policy.hash:
            self._current = CompiledPolicy(policy)
            log.info("credit policy active", extra={"policy": policy.policy_id, "version": policy.version})
        self._loaded_at = self._clock()
