"""Fixtures shared by the unit tests of both areas."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib import bootstrap
from chalicelib.credit.cursors import DecisionCursors
from chalicelib.credit.policy_provider import PolicyProvider
from chalicelib.credit.services import CreditService
from chalicelib.health import DeepHealth
from chalicelib.keys import AppKeys
from chalicelib.orders.services import OrderService
from chalicelib.quorum.model import OperatorAccess
from chalicelib.settings import PARTNER_URL_VARIABLES, Settings
from tests.unit import fakes
from tests.unit.builders import cnpj, cpf, grant, group, rep, rule
from tests.unit.credit.fakes import FakeBureau, FakeCreditStore
from tests.unit.tokens import TestIssuer, test_issuer

CO = cnpj(1)


@pytest.fixture(scope="session")
def issuer() -> TestIssuer:
    return test_issuer()


@pytest.fixture
def container(issuer: TestIssuer) -> Iterator[bootstrap.Container]:
    """Every port faked, installed as the process container for the duration of a test."""
    env = dict.fromkeys(PARTNER_URL_VARIABLES.values(), "http://partners.invalid")
    g = grant([rep(1, "D")], [rule("ONE", group("D"))])
    store = FakeCreditStore()
    clock = fakes.FixedClock()
    keys = AppKeys.from_secret(b"unit-test-secret-of-at-least-32-bytes")
    region_switch = fakes.FakeSwitch()
    c = bootstrap.Container(
        settings=Settings.from_env({**env, "AWS_REGION": "sa-east-1", "AME_ROLE": "dr", "AME_MAX_RECEIVE_COUNT": "2"}),
        orders=OrderService(
            partners=fakes.partners(grants={CO: g}, accesses={(CO, cpf(1)): OperatorAccess(True, True)}),
            repository=fakes.FakeRepository(),
            queue=fakes.FakeQueue(),
            publisher=fakes.FakePublisher(),
            executor=fakes.InlineExecutor(),
            region_switch=region_switch,
            clock=clock,
        ),
        credit=CreditService(
            store=store,
            bureau=FakeBureau(),
            policies=PolicyProvider(store),
            clock=clock,
            cursors=DecisionCursors.with_key(keys.cursor),
        ),
        region_switch=region_switch,
        keys=keys,
        health=DeepHealth([fakes.FakeDependency("dynamodb"), fakes.FakeDependency("sqs")], ttl_seconds=0),
    )
    bootstrap.use_container(c)
    bootstrap.use_token_verifier(issuer.verifier())
    yield c
    bootstrap.use_container(None)
    bootstrap.use_token_verifier(None)
