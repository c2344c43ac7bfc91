"""How a simulated payer prices a claim's lines: its contract (the fee schedule and the default percent of
charge, lesser of charge), the denials its policies apply line by line, the patient's share, and the plan
book's variance rules that allow some claims' lines below or above that contract on purpose.

The contract is published as the sandbox applies it (:func:`contract`), so a platform can load the same
contract and find, to the cent, the variances the sandbox introduced (:class:`LineVariance`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rcm_shared.x12.sets.common import Adjustment
from rcm_shared.x12.sets.x835 import Procedure, ServicePayment
from rcm_shared.x12.sets.x837 import Claim, ServiceLine

from sandbox.payers import Enrollment, PayerConfig, VarianceRule

CENT = Decimal("0.01")
OFFICE_VISITS = frozenset(f"992{n:02d}" for n in range(2, 16))  # E/M office codes take the office copay
BYPASS_MODIFIERS = frozenset({"59", "XE", "XP", "XS", "XU"})  # distinct-service modifiers that unbundle a pair


def to_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineVariance:
    """A line the payer allowed off its contract by a plan-book rule: what the contract says, what it allowed."""

    line: int  # 1-based position of the line in the claim
    line_control_number: str | None
    code: str
    modifiers: tuple[str, ...]
    units: Decimal
    charge: Decimal
    contract_allowed: Decimal
    allowed: Decimal

    @property
    def kind(self) -> str:
        return "under" if self.allowed < self.contract_allowed else "over"

    @property
    def amount(self) -> Decimal:
        return abs(self.contract_allowed - self.allowed)

    def record(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "line_control_number": self.line_control_number,
            "code": self.code,
            "modifiers": list(self.modifiers),
            "units": str(self.units),
            "charge": str(to_cents(self.charge)),
            "contract_allowed": str(to_cents(self.contract_allowed)),
            "allowed": str(to_cents(self.allowed)),
        }


def service_of(ln: ServiceLine) -> ServicePayment:
    # Institutional lines may carry only a revenue code: SVC01 is then NU:<revenue code>.
    procedure = (
        Procedure("HC", ln.procedure_code, list(ln.modifiers))
        if ln.procedure_code
        else Procedure("NU", ln.revenue_code or "")
    )
    return ServicePayment(
        procedure,
        ln.charge,
        Decimal("0.00"),
        revenue_code=ln.revenue_code if ln.procedure_code else None,
        units=ln.units,
        service_date=ln.service_date,
        line_control_number=ln.line_control_number,
    )


def denied_line(ln: ServiceLine, group: str, carc: str, rarc: str | None) -> ServicePayment:
    s = service_of(ln)
    s.adjustments = [Adjustment(group, carc, ln.charge)]
    s.amounts = {"B6": Decimal("0.00")}
    if rarc:
        s.remarks = [("HE", rarc)]
    return s


def contract_allowed(payer: PayerConfig, ln: ServiceLine, fee_factor: Decimal = Decimal(1)) -> Decimal:
    """The contract's allowed amount for a covered line: rate per unit x units (the procedure code alone,
    modifiers ignored), else the default percent of the charge; rounded half up to the cent; never more
    than the charge. ``fee_factor`` scales the rate (a payer paying at last year's fees by mistake)."""
    fee = payer.fee_schedule.get(ln.procedure_code or "")
    if fee is not None:
        allowed = to_cents(fee * ln.units * fee_factor)
    else:
        allowed = to_cents(ln.charge * Decimal(payer.setting("default_allowed_percent", "60")) / 100)
    return min(allowed, ln.charge)


def _off_contract(rule: VarianceRule | None, ln: ServiceLine, agreed: Decimal) -> Decimal:
    """The allowed amount a variance rule puts on the line: the contract's moved by the rule's percent,
    rounded half up to the cent, never above the charge (lesser of charge holds for an overpayment too)."""
    if rule is None or (ln.procedure_code or "") not in rule.codes:
        return agreed
    return min(to_cents(agreed * rule.factor), ln.charge)


def price_lines(
    claim: Claim,
    payer: PayerConfig,
    member: Enrollment,
    fee_factor: Decimal = Decimal(1),
    rule: VarianceRule | None = None,
) -> tuple[list[ServicePayment], list[LineVariance]]:
    """Each line denied by a policy, or allowed (CO-45 for the rest of the charge) and split between the
    payer and the patient (copay, deductible, coinsurance, in line order); with the lines ``rule`` moved off
    the contract."""
    plan = member.plan
    codes = {ln.procedure_code for ln in claim.lines}
    bundled = {(a, b) for a, b in payer.setting("bundled", [])}
    copay_left = Decimal(plan.get("copay", {}).get("98", "0")) if codes & OFFICE_VISITS else Decimal(0)
    deductible_left = max(
        Decimal(0), Decimal(plan.get("deductible", {}).get("individual", "0")) - member.deductible_met
    )
    coinsurance = Decimal(plan.get("coinsurance", "0"))
    out: list[ServicePayment] = []
    variances: list[LineVariance] = []
    for n, ln in enumerate(claim.lines, start=1):
        code = ln.procedure_code or ""
        if code in payer.setting("non_covered", []):
            out.append(denied_line(ln, "CO", "96", "N130"))
            continue
        if code in payer.setting("prior_authorization", []) and not claim.prior_authorization:
            out.append(denied_line(ln, "CO", "197", "M62"))
            continue
        column1 = [a for a, b in bundled if b == code and a in codes]
        if column1 and not BYPASS_MODIFIERS & set(ln.modifiers):
            out.append(denied_line(ln, "CO", "97", "M15"))
            continue
        agreed = contract_allowed(payer, ln, fee_factor)
        allowed = _off_contract(rule, ln, agreed)
        if allowed != agreed:
            variances.append(
                LineVariance(n, ln.line_control_number, code, tuple(ln.modifiers), ln.units, ln.charge, agreed, allowed)
            )
        s = service_of(ln)
        s.amounts = {"B6": allowed}
        if ln.charge > allowed:
            s.adjustments.append(Adjustment("CO", "45", ln.charge - allowed))
        copay = min(copay_left, allowed) if code in OFFICE_VISITS else Decimal(0)
        copay_left -= copay
        deductible = min(deductible_left, allowed - copay)
        deductible_left -= deductible
        coins = to_cents((allowed - copay - deductible) * coinsurance)
        for carc, amount in (("1", deductible), ("2", coins), ("3", copay)):
            if amount > 0:
                s.adjustments.append(Adjustment("PR", carc, amount))
        s.paid = allowed - copay - deductible - coins
        out.append(s)
    return out, variances


def contract(payer: PayerConfig) -> dict[str, Any]:
    """The payer's contract as :func:`price_lines` applies it, for a platform to load as its own."""
    return {
        "payer_id": payer.payer_id,
        "payer_name": payer.name,
        "fee_schedule": {code: str(rate) for code, rate in sorted(payer.fee_schedule.items())},
        "default_allowed_percent": str(payer.setting("default_allowed_percent", "60")),
        "pricing": {
            "rate_key": "procedure_code",  # the rate is looked up by CPT/HCPCS code alone
            "units": "multiply",  # allowed = rate per unit x units billed (SV104 / SV205)
            "default_basis": "billed_charge",  # codes without a rate: default_allowed_percent of the charge
            "lesser_of_charge": True,  # allowed = min(contract amount, billed charge)
            "rounding": "half_up_to_cent_per_line",
            "revenue_code_only_lines": "default_allowed_percent",  # institutional lines without a CPT/HCPCS
        },
        # no multiple-procedure (51), bilateral (50) or professional/technical (26/TC) adjustment: a line with
        # those modifiers is priced as the same code without them
        "modifier_rules": [],
        "policies": {
            "non_covered": sorted(payer.setting("non_covered", [])),  # CO-96: allowed 0
            "prior_authorization": sorted(payer.setting("prior_authorization", [])),  # CO-197 without REF*G1
            "bundled": [list(pair) for pair in payer.setting("bundled", [])],  # column 2 with column 1: CO-97
            "bundling_bypass_modifiers": sorted(BYPASS_MODIFIERS),
        },
    }
