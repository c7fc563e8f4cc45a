from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from chalicelib.quorum.engine import evaluate_company, evaluate_person, operator_reasons, screen
from chalicelib.quorum.model import (
    Contact,
    DisabledReason,
    OperatorAccess,
    OrderVerdict,
    PartyReason,
    Reservation,
    Role,
)
from tests.unit.builders import TODAY, cnpj, cpf, grant, group, person, rep, rule, terms

OK = OperatorAccess(True, True)
CO = cnpj(1)


def everyone_operates(*ns: int) -> dict[str, OperatorAccess | None]:
    return {cpf(n): OK for n in ns}


def test_company_without_representatives_has_no_quorum() -> None:
    verdict = evaluate_company(Role.REQUESTER, CO, None, terms(), {}, {})
    assert (verdict.quorum, verdict.reason, verdict.participants) == (False, PartyReason.NO_REPRESENTATIVES, ())


@pytest.mark.parametrize(
    ("reservation", "expected"),
    [
        (Reservation("AMOUNT_LIMIT", max_amount=Decimal("999.99")), DisabledReason.AMOUNT_LIMIT),
        (Reservation("VALIDITY", valid_until=date(2026, 11, 21)), DisabledReason.VALIDITY),
        (Reservation("SIGNATURE_METHOD", allowed_methods=frozenset({"PHYSICAL"})), DisabledReason.SIGNATURE_METHOD),
        (Reservation("COURT_ORDER"), DisabledReason.UNKNOWN_RESERVATION),
        (Reservation("AMOUNT_LIMIT"), DisabledReason.AMOUNT_LIMIT),  # malformed: applies
    ],
)
def test_each_reservation_type_disables_and_is_reported(reservation: Reservation, expected: DisabledReason) -> None:
    g = grant([rep(1, "A", reservation)], [rule("R", group("A"))])
    verdict = evaluate_company(Role.REQUESTER, CO, g, terms("1000.00"), {}, everyone_operates(1))
    assert verdict.reason is PartyReason.NO_ENABLED_REPRESENTATIVES
    (p,) = verdict.participants
    assert (p.enabled, p.reservation, p.disabled_reasons) == (False, True, (expected,))


def test_reservations_that_do_not_bite_leave_the_signer_enabled() -> None:
    g = grant(
        [
            rep(
                1,
                "A",
                Reservation("AMOUNT_LIMIT", max_amount=Decimal("1000.00")),
                Reservation("VALIDITY", valid_until=TODAY),
                Reservation("SIGNATURE_METHOD", allowed_methods=frozenset({"DIGITAL"})),
            )
        ],
        [rule("R", group("A"))],
    )
    verdict = evaluate_company(Role.REQUESTER, CO, g, terms("1000.00"), {}, everyone_operates(1))
    assert verdict.quorum and verdict.participants[0].reservation is False


def test_reserved_people_keep_their_contact_data_and_skip_the_operator_check() -> None:
    g = grant([rep(1, "A", Reservation("COURT_ORDER")), rep(2, "A")], [rule("R", group("A"))])
    contacts: dict[str, Contact | None] = {cpf(1): Contact("Ana", "ana@x.com", "+55 11 90000-0000")}
    assert screen(g, terms()).unreserved == [cpf(2)]
    verdict = evaluate_company(Role.REQUESTER, CO, g, terms(), contacts, everyone_operates(2))
    reserved = next(p for p in verdict.participants if p.cpf == cpf(1))
    assert reserved.contact.name == "Ana" and reserved.reservation


@pytest.mark.parametrize(
    ("access", "reasons"),
    [
        (None, (DisabledReason.NO_OPERATOR,)),
        (OperatorAccess(False, True), (DisabledReason.NO_OPERATOR,)),
        (OperatorAccess(True, False), (DisabledReason.NO_ACCOUNT_ACCESS,)),
        (OperatorAccess(False, False), (DisabledReason.NO_OPERATOR, DisabledReason.NO_ACCOUNT_ACCESS)),
    ],
)
def test_operator_problems_disable_with_their_own_codes(
    access: OperatorAccess | None, reasons: tuple[DisabledReason, ...]
) -> None:
    g = grant([rep(1, "A")], [rule("R", group("A"))])
    verdict = evaluate_company(Role.REQUESTER, CO, g, terms(), {}, {cpf(1): access})
    assert verdict.reason is PartyReason.NO_ACTIVE_OPERATOR
    assert verdict.participants[0].disabled_reasons == reasons
    assert tuple(operator_reasons(access)) == reasons


def test_one_signer_left_without_a_solo_rule_has_no_rule_satisfied() -> None:
    g = grant([rep(1, "DIRECTOR"), rep(2, "DIRECTOR")], [rule("TWO", group("DIRECTOR", 2))])
    verdict = evaluate_company(Role.REQUESTER, CO, g, terms(), {}, everyone_operates(1))
    assert verdict.reason is PartyReason.NO_RULE_SATISFIED
    assert verdict.signer_sets == () and verdict.signer_sets_total == 0


def test_quorum_reports_rules_sets_and_signers() -> None:
    g = grant(
        [rep(1, "ADMIN"), rep(2, "DIRECTOR"), rep(3, "DIRECTOR")],
        [rule("SOLO", group("ADMIN"), max_amount="500.00"), rule("TWO", group("DIRECTOR", 2))],
    )
    verdict = evaluate_company(Role.GUARANTOR, CO, g, terms("1000.00"), {}, everyone_operates(1, 2, 3))
    assert verdict.quorum and verdict.reason is None
    assert verdict.satisfied_rules == ("TWO",)
    assert verdict.signer_sets == ((cpf(2), cpf(3)),)
    assert verdict.signers == (cpf(2), cpf(3))
    assert [p.cpf for p in verdict.participants] == sorted(p.cpf for p in verdict.participants)


def test_person_party_needs_only_their_own_operator() -> None:
    ok = evaluate_person(Role.GUARANTOR, cpf(5), Contact("Helena"), OK)
    missing = evaluate_person(Role.GUARANTOR, cpf(5), None, None)
    assert (ok.quorum, ok.signer_sets, ok.signer_sets_total) == (True, ((cpf(5),),), 1)
    assert (missing.quorum, missing.reason) == (False, PartyReason.NO_ACTIVE_OPERATOR)


def test_order_reason_is_the_first_failing_party() -> None:
    ok = evaluate_person(Role.REQUESTER, cpf(1), None, OK)
    bad1 = evaluate_person(Role.GUARANTOR, cpf(2), None, None)
    bad2 = evaluate_company(Role.GUARANTOR, CO, None, terms(), {}, {})
    verdict = OrderVerdict((ok, bad1, bad2))
    assert (verdict.quorum, verdict.reason) == (False, PartyReason.NO_ACTIVE_OPERATOR)
    assert OrderVerdict((ok,)).quorum and OrderVerdict((ok,)).reason is None


def test_representatives_no_applicable_rule_uses_are_screened_out_of_the_lookups() -> None:
    g = grant(
        [rep(1, "D"), rep(2, "AUDIT"), rep(3, "AUDIT"), rep(4, "X", Reservation("COURT_ORDER"))],
        [rule("ONE", group("D")), rule("NAMED", person(3)), rule("CAPPED", group("X"), max_amount="10.00")],
    )
    screening = screen(g, terms("1000.00"))
    assert screening.unused == {cpf(2), cpf(4)}
    assert screening.to_contact == [cpf(1), cpf(3)] and screening.unreserved == [cpf(1), cpf(3)]
    verdict = evaluate_company(Role.REQUESTER, CO, g, terms("1000.00"), {}, everyone_operates(1, 2, 3, 4))
    reasons = {p.cpf: p.disabled_reasons for p in verdict.participants}
    assert reasons[cpf(2)] == (DisabledReason.NOT_IN_APPLICABLE_RULE,)
    assert reasons[cpf(4)] == (DisabledReason.UNKNOWN_RESERVATION, DisabledReason.NOT_IN_APPLICABLE_RULE)
    assert verdict.quorum and set(verdict.signers) == {cpf(1), cpf(3)}


def test_with_only_unused_representatives_unreserved_the_reason_is_no_rule_satisfied() -> None:
    g = grant([rep(1, "D", Reservation("COURT_ORDER")), rep(2, "AUDIT")], [rule("ONE", group("D"))])
    verdict = evaluate_company(Role.REQUESTER, CO, g, terms(), {}, everyone_operates(1, 2))
    assert (verdict.quorum, verdict.reason) == (False, PartyReason.NO_RULE_SATISFIED)
    only_reserved = grant([rep(1, "D", Reservation("COURT_ORDER")), rep(2, "AUDIT", Reservation("X"))], [])
    verdict = evaluate_company(Role.REQUESTER, CO, only_reserved, terms(), {}, {})
    assert verdict.reason == PartyReason.NO_ENABLED_REPRESENTATIVES
