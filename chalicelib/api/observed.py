"""What the routes note about their outcome, at the API boundary: the order key on the log lines, metrics."""

from __future__ import annotations

from chalicelib import correlation, telemetry
from chalicelib.api.gatekeeper import current_caller
from chalicelib.credit.model import CreditDecision
from chalicelib.orders.services import Accepted


def order_accepted(accepted: Accepted) -> Accepted:
    """Binds the order key for the rest of the request's lines; counts `OrdersAccepted` by the caller's area,
    once per order (a replayed Idempotency-Key is the same order)."""
    correlation.bind_order_key(accepted.order_key)
    if not accepted.replayed:
        telemetry.count("OrdersAccepted", area=current_caller().area_id)
    return accepted


def credit_decided(decision: CreditDecision) -> CreditDecision:
    """Counts `CreditDecisions` by outcome and risk band (`none` when no score gave one)."""
    evaluation = decision.evaluation
    telemetry.count("CreditDecisions", outcome=evaluation.outcome.value, band=evaluation.risk_band or "none")
    return decision
