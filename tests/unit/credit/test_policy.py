from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from chalicelib.credit.errors import PolicyError
from chalicelib.credit.policy import default_policy, load_policy_text, parse_policy


def document() -> dict[str, Any]:
    return copy.deepcopy(default_policy().document)


def test_default_policy_loads_with_a_stable_content_hash() -> None:
    policy = default_policy()
    assert policy.policy_id == "retail-personal-credit"
    assert [b.band for b in policy.bands] == ["A", "B", "C", "D", "E"]
    assert policy.hash.startswith("sha256:") and policy.hash == default_policy().hash


def test_any_change_to_the_document_changes_the_hash() -> None:
    doc = document()
    doc["rules"][0]["when"]["value"] = 301
    assert parse_policy(doc).hash != default_policy().hash


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("policy_id"), "policy_id"),
        (lambda d: d["bands"][1].update(monthly_rate="2.29"), "bands[1].monthly_rate"),
        (lambda d: d["bands"][2].update(income_multiple="-1"), "bands[2].income_multiple"),
        (lambda d: d["bands"][4].update(min_score=10), "bands"),
        (lambda d: d["rules"][2]["when"]["any"][0].update(op="below"), "rules[2].when.any[0].op"),
        (lambda d: d["rules"][0]["when"].update(field="credit_score"), "rules[0].when.field"),
        (lambda d: d["rules"][0]["when"].update(value="low"), "rules[0].when.value"),
        (lambda d: d["rules"][0].update(outcome="APPROVED"), "rules[0].outcome"),
        (lambda d: d["rules"][1]["reason"].update(code="NO_SCORE"), "rules[1].reason.code"),
        (lambda d: d["rules"][1].update(id="R01"), "rules[1].id"),
        (lambda d: d["rules"][6]["when"].update(value_field="band"), "rules[6].when.value_field"),
        (lambda d: d["rules"][0]["when"].update(vaule=1), "rules[0].when.vaule"),
        (lambda d: d["rules"][5]["when"].update(all=[]), "rules[5].when.all"),
        (lambda d: d["score_range"].update(min=2000), "score_range"),
    ],
)
def test_invalid_documents_name_the_bad_field(mutate: Any, field: str) -> None:
    doc = document()
    mutate(doc)
    with pytest.raises(PolicyError) as error:
        parse_policy(doc)
    assert error.value.field == field


def test_json_floats_are_refused_because_they_already_lost_precision() -> None:
    text = json.dumps(document()).replace('"0.0149"', "0.0149")
    with pytest.raises(PolicyError, match="float"):
        load_policy_text(text)


def test_unreadable_json_is_a_policy_error() -> None:
    with pytest.raises(PolicyError) as error:
        load_policy_text("{")
    assert error.value.field == "$"
