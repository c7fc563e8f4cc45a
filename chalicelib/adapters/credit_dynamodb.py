"""Single-table DynamoDB design for credit data (seed 001 §4.1.3), via PynamoDB.

    pk                      sk                     entity     what
    CUSTOMER#<cpf>          PROFILE                PROFILE    income and debts
    CUSTOMER#<cpf>          SCORE                  SCORE      last bureau score (fallback when the bureau is down)
    DECISION#<id>           DECISION               DECISION   the full decision (strongly consistent get by id)
    POLICY                  ACTIVE                 POLICY     the published policy document
    POLICY                  VERSION#<id>#<ver>     POLICY     every policy ever published

GSIs: by-type (entity, last_updated) "by type, latest first"; by-status (status, created_at)
"decisions by outcome, by date"; by-customer (customer, created_at) "a customer's decisions".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pynamodb.attributes import JSONAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.adapters.dynamodb import bind_model
from chalicelib.credit.model import BureauScore, CreditDecision, CustomerProfile, DecisionPosition, DecisionSlice
from chalicelib.credit.ports import CreditStore
from chalicelib.credit.wire import decision_from_wire, decision_to_wire


class ByType(GlobalSecondaryIndex["CreditItem"]):
    class Meta:
        index_name = "by-type"
        projection = AllProjection()

    entity = UnicodeAttribute(hash_key=True)
    last_updated = UTCDateTimeAttribute(range_key=True)


class ByStatus(GlobalSecondaryIndex["CreditItem"]):
    class Meta:
        index_name = "by-status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ByCustomer(GlobalSecondaryIndex["CreditItem"]):
    class Meta:
        index_name = "by-customer"
        projection = AllProjection()

    customer = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class CreditItem(Model):
    class Meta:
        table_name = "ame-credit"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entity = UnicodeAttribute()
    last_updated = UTCDateTimeAttribute()
    status = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    customer = UnicodeAttribute(null=True)
    data = JSONAttribute()
    by_type = ByType()
    by_status = ByStatus()
    by_customer = ByCustomer()


def credit_table(table_name: str, region: str, host: str | None) -> Any:
    """The credit model bound to one table (PynamoDB copies the indexes onto each binding)."""
    return bind_model(CreditItem, table_name, region, host)


def _customer(cpf: str) -> str:
    return f"CUSTOMER#{cpf}"


def _decision(decision_id: str) -> str:
    return f"DECISION#{decision_id}"


DECISION_SK = "DECISION"


def decision_item_key(decision_id: str) -> dict[str, dict[str, str]]:
    """The low-level key of a decision item, for tools that read items raw (DR drills)."""
    return {"pk": {"S": _decision(decision_id)}, "sk": {"S": DECISION_SK}}


class PynamoCreditStore(CreditStore):
    def __init__(self, model: Any) -> None:
        self._m = model

    def _get(self, pk: str, sk: str) -> Any | None:
        try:
            return self._m.get(pk, sk, consistent_read=True)
        except self._m.DoesNotExist:
            return None

    def put_profile(self, profile: CustomerProfile) -> None:
        data = {"monthly_income": str(profile.monthly_income), "existing_debts": str(profile.existing_debts)}
        self._m(_customer(profile.cpf), "PROFILE", entity="PROFILE", last_updated=profile.updated_at, data=data).save()

    def get_profile(self, cpf: str) -> CustomerProfile | None:
        item = self._get(_customer(cpf), "PROFILE")
        if item is None:
            return None
        data = item.data
        return CustomerProfile(cpf, Decimal(data["monthly_income"]), Decimal(data["existing_debts"]), item.last_updated)

    def save_score(self, cpf: str, score: BureauScore) -> None:
        data = {"score": score.score, "as_of": score.as_of.isoformat()}
        self._m(_customer(cpf), "SCORE", entity="SCORE", last_updated=datetime.now(UTC), data=data).save()

    def last_score(self, cpf: str) -> BureauScore | None:
        item = self._get(_customer(cpf), "SCORE")
        return BureauScore(int(item.data["score"]), date.fromisoformat(item.data["as_of"])) if item else None

    def add_decision(self, decision: CreditDecision) -> None:
        self._m(
            _decision(decision.decision_id),
            DECISION_SK,
            entity="DECISION",
            last_updated=decision.created_at,
            status=decision.evaluation.outcome.value,
            created_at=decision.created_at,
            customer=_customer(decision.cpf),
            data=decision_to_wire(decision),
        ).save(condition=self._m.pk.does_not_exist())

    def get_decision(self, decision_id: str) -> CreditDecision | None:
        item = self._get(_decision(decision_id), DECISION_SK)
        return decision_from_wire(item.data) if item else None

    def customer_decisions(self, cpf: str, limit: int, after: DecisionPosition | None) -> DecisionSlice:
        results = self._m.by_customer.query(
            _customer(cpf),
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            last_evaluated_key=_start_key(cpf, after) if after else None,
        )
        items = tuple(decision_from_wire(item.data) for item in results)
        last = results.last_evaluated_key
        return DecisionSlice(items, _position(last) if last else None)

    def all_decisions(self) -> Iterator[CreditDecision]:
        for item in self._m.by_type.query("DECISION", scan_index_forward=False):
            yield decision_from_wire(item.data)

    def active_policy_text(self) -> str | None:
        item = self._get("POLICY", "ACTIVE")
        return str(item.data["document"]) if item else None

    def publish_policy(self, text: str, policy_id: str, version: str, content_hash: str) -> None:
        now = datetime.now(UTC)
        data = {"document": text, "policy_id": policy_id, "version": version, "hash": content_hash}
        self._m("POLICY", f"VERSION#{policy_id}#{version}", entity="POLICY", last_updated=now, data=data).save()
        self._m("POLICY", "ACTIVE", entity="POLICY_ACTIVE", last_updated=now, data=data).save()


_CREATED_AT = UTCDateTimeAttribute()


def _position(last_evaluated_key: dict[str, dict[str, str]]) -> DecisionPosition:
    """The by-customer index's LastEvaluatedKey, minus what the query already knows (the customer)."""
    decision_id = last_evaluated_key["pk"]["S"].removeprefix(_decision(""))
    return DecisionPosition(_CREATED_AT.deserialize(last_evaluated_key["created_at"]["S"]), decision_id)


def _start_key(cpf: str, after: DecisionPosition) -> dict[str, dict[str, str]]:
    """The ExclusiveStartKey that resumes the customer's listing after `after` (table and index keys)."""
    return {
        "pk": {"S": _decision(after.decision_id)},
        "sk": {"S": DECISION_SK},
        "customer": {"S": _customer(cpf)},
        "created_at": {"S": _CREATED_AT.serialize(after.created_at)},
    }
