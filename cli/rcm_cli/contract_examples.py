"""One example message per event type, built from the payload classes (so pydantic checks them), written
to contracts/examples by `rcm contracts` and validated against the published schemas in the tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from rcm_shared.events import EventPayload
from rcm_shared.payloads.claims import BilledLine, ClaimStatusChangedV1
from rcm_shared.payloads.denials import (
    AppealSentV1,
    ClaimCorrection,
    DeadlineApproachingV1,
    DenialMoveUndoneV1,
    DenialOpenedV1,
    DenialResolvedV1,
    ResubmissionRequestedV1,
)
from rcm_shared.payloads.eligibility import EligibilityCheckCompletedV1
from rcm_shared.payloads.remittance import (
    AdjustmentOut,
    ClaimAdjudicatedV1,
    ClaimReversedV1,
    LinePaymentOut,
    PatientBalanceChangedV1,
    ProviderAdjustedV1,
    StatementIssuedV1,
)

DOS = date(2026, 11, 27)
CLAIM = "C6F3A9D2B1E04A7C"


def examples() -> list[EventPayload]:
    return [
        EligibilityCheckCompletedV1(
            check_id="3f1c2a9e-5b7d-4c1e-9a0b-6d2e8f4a1b3c",
            payer_id="ACME01",
            member_id="ACM0001234",
            status="active",
            service_date=DOS,
            coverage_start=date(2026, 1, 1),
            coverage_end=None,
            plan="GOLD PPO",
            error_codes=[],
        ),
        ClaimStatusChangedV1(
            patient_account="A3F9C21B7D04",
            claim_id=CLAIM,
            old_state="accepted",
            new_state="paid",
            changed_at=datetime(2026, 11, 28, 9, 30, tzinfo=UTC),
            reason="835 b490fc66: status 1, paid 48.59",
            reason_codes=["CO-45", "PR-2", "PR-3"],
            payer_id="ACME01",
            charge_cents=17000,
            paid_cents=4859,
            patient_responsibility_cents=4341,
            frequency="1",
            original_claim_id=None,
            payer_claim_control_number="ACM218239241470",
            lines=[
                BilledLine(
                    line_number=1,
                    line_control_number=f"{CLAIM}-1",
                    procedure_code="99213",
                    service_date=DOS,
                    units="1",
                    charge_cents=15000,
                ),
                BilledLine(
                    line_number=2,
                    line_control_number=f"{CLAIM}-2",
                    procedure_code="36415",
                    service_date=DOS,
                    units="1",
                    charge_cents=2000,
                ),
            ],
        ),
        ClaimAdjudicatedV1(
            remittance_id="b490fc66-ecab-4266-8f8c-21a47cc7d9ca",
            claim_id=CLAIM,
            payer_id="ACME01",
            payer_claim_control_number="ACM218239241470",
            status_code="1",
            charge_cents=17000,
            paid_cents=4859,
            patient_responsibility_cents=4341,
            contractual_cents=7800,
            adjustments=[
                AdjustmentOut(group="CO", reason="45", amount_cents=5800, line_number=1),
                AdjustmentOut(group="PR", reason="3", amount_cents=2500, line_number=1),
                AdjustmentOut(group="PR", reason="2", amount_cents=1341, line_number=1),
                AdjustmentOut(group="CO", reason="45", amount_cents=1700, line_number=2),
                AdjustmentOut(group="PR", reason="1", amount_cents=300, line_number=2),
            ],
            remarks=[],
            lines=[
                LinePaymentOut(
                    line_number=1,
                    line_control_number=f"{CLAIM}-1",
                    procedure_code="99213",
                    charge_cents=15000,
                    paid_cents=4859,
                    allowed_cents=9200,
                ),
                LinePaymentOut(
                    line_number=2,
                    line_control_number=f"{CLAIM}-2",
                    procedure_code="36415",
                    charge_cents=2000,
                    paid_cents=0,
                    allowed_cents=300,
                ),
            ],
            payment_date=date(2026, 11, 28),
            matched=True,
        ),
        ClaimReversedV1(
            remittance_id="cd1707e4-13ad-4970-8169-b3afbb2aa7f5",
            claim_id=CLAIM,
            payer_id="ACME01",
            payer_claim_control_number="ACM218239241470",
            reversed_paid_cents=-4859,
            reversed_charge_cents=-17000,
            original_remittance_id="b490fc66-ecab-4266-8f8c-21a47cc7d9ca",
        ),
        ProviderAdjustedV1(
            remittance_id="b490fc66-ecab-4266-8f8c-21a47cc7d9ca",
            provider_id="1234567893",
            reason="L6",
            reference="225197156849956",
            amount_cents=-412,
            claim_id=None,
        ),
        PatientBalanceChangedV1(
            account_id="A3F9C21B7D04",
            balance_cents=4500,
            change_cents=4500,
            cause="insurance",
            claim_ids=[CLAIM],
        ),
        StatementIssuedV1(
            statement_id="5e2d8c1a-7b3f-4e9d-a6c0-2f1b8d7e9c3a",
            run_id="0c9b8a7f-6e5d-4c3b-2a19-0f8e7d6c5b4a",
            account_id="A3F9C21B7D04",
            statement_date=date(2026, 12, 1),
            amount_due_cents=4500,
            due_date=date(2026, 12, 22),
            visits=1,
        ),
        DenialOpenedV1(
            denial_id="9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
            claim_id=CLAIM,
            line_number=None,
            payer_id="ACME01",
            category="authorization",
            action="correct_and_resubmit",
            amount_cents=120000,
            deadline=date(2027, 2, 26),
        ),
        ResubmissionRequestedV1(
            denial_id="9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
            claim_id=CLAIM,
            reason="authorization number missing or invalid",
            correction=ClaimCorrection(prior_authorization="AUTH000123"),
        ),
        DenialResolvedV1(
            denial_id="9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
            claim_id=CLAIM,
            outcome="billed_patient",
            recovered_cents=0,
            days_to_resolve=3,
            claim_settled=True,
            line_number=None,
            patient_transfer_cents=15000,
            written_off_cents=0,
            source_remittance_id="b490fc66-ecab-4266-8f8c-21a47cc7d9ca",
        ),
        DenialMoveUndoneV1(
            denial_id="9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
            claim_id=CLAIM,
            line_number=None,
            outcome="recovered",
            patient_transfer_cents=15000,
            written_off_cents=0,
            source_remittance_id="b490fc66-ecab-4266-8f8c-21a47cc7d9ca",
            answered_by_remittance_id="5f0c2d7e-2b1a-4c3d-9e8f-7a6b5c4d3e2f",
        ),
        AppealSentV1(
            denial_id="9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
            claim_id=CLAIM,
            line_number=None,
            payer_id="ACME01",
            amount_cents=120000,
            sent_on=date(2026, 12, 1),
            answer_by=date(2027, 1, 30),
        ),
        DeadlineApproachingV1(
            denial_id="9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
            claim_id=CLAIM,
            deadline=date(2027, 2, 26),
            days_left=14,
            amount_cents=120000,
            kind="filing",
        ),
    ]
