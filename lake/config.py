"""The lake job's settings: thresholds for quality and monitoring, where things are.

Defaults are the documented ones (README, Data lake); `LakeConfig.from_env` reads the AME_LAKE_*
variables a run may set. None of them is read by the app.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from chalicelib.credit.policy import default_policy


@dataclass(frozen=True, slots=True)
class LakeConfig:
    root: Path = Path(".devstack/lake")
    max_quarantine_rate: float = 0.01
    """A day of a dataset with more of its rows quarantined than this fails the run (exit 3) after writing."""
    psi_alert: float = 0.25
    """Score-distribution drift: a day whose PSI against the reference window exceeds this alerts."""
    approval_rate_band: float = 0.10
    """A band/product's approval rate that day more than this (absolute) away from the reference alerts."""
    min_volume: int = 100
    """Fewer decisions than this in a band/product that day: too few to alert on its rate."""
    reference_days: int = 3
    """The reference window: the first N days of the monitored range (or --reference FROM:TO)."""
    score_bins: tuple[int, ...] = (0, 300, 400, 500, 600, 650, 700, 750, 800, 900, 1001)
    """PSI bins: the policy's band floors and a few more, fixed so that days compare."""
    bureau_batch: int = 50
    bureau_rate_per_second: float = 20.0
    bureau_workers: int = 4
    products: tuple[str, ...] = field(default_factory=lambda: tuple(sorted(default_policy().products)))
    bands: tuple[tuple[str, int], ...] = field(
        default_factory=lambda: tuple((b.band, b.min_score) for b in default_policy().bands)
    )
    """(band, min_score), best first, from the default policy; decisions carry their own policy's band."""
    max_amount: Decimal = Decimal("999999999999.99")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **overrides: object) -> LakeConfig:
        values: dict[str, object] = {}
        if env.get("AME_LAKE_ROOT"):
            values["root"] = Path(env["AME_LAKE_ROOT"])
        for name, kind in (
            ("max_quarantine_rate", float),
            ("psi_alert", float),
            ("approval_rate_band", float),
            ("min_volume", int),
            ("reference_days", int),
        ):
            raw = env.get(f"AME_LAKE_{name.upper()}")
            if raw:
                values[name] = kind(raw)
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
