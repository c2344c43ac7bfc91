"""The claim scrubber: every rule runs, every finding names its rule, severity, field and fix.

Pure: what needs I/O (duplicates, the eligibility on record) is looked up by the handler and passed in.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from claims.domain import codesets
from claims.domain.encounter import ClaimCreate, ProviderIn
from claims.domain.ncci import PTP_MODIFIERS, NcciTables


@dataclass(frozen=True)
class Edit:
    rule: str
    severity: str  # error | warning
    field: str
    message: str


@dataclass(frozen=True)
class Unresolved:
    """A reference of the claim to the practice's master data that resolved to nothing on the date of service:
    the rule it breaks and the values its message names."""

    rule: str
    values: dict[str, str]


@dataclass(frozen=True)
class RuleText:
    severity: str
    field: str
    message: str


@cache
def rule_texts() -> dict[str, RuleText]:
    data = tomllib.loads(resources.files("claims.data").joinpath("rules.toml").read_text())
    return {rule_id: RuleText(**values) for rule_id, values in data.items()}


@dataclass(frozen=True)
class PayerRules:
    timely_filing_days: int = 365
    warn_days_before_limit: int = 30
    # insurance follow-up: days after submission by which each answer is expected, and between 276s
    ack_days: int = 2  # the clearinghouse's 999
    payer_ack_days: int = 7  # the payer's 277CA
    payment_days: int = 30  # the 835
    inquiry_every_days: int = 14
    require_eligibility: bool = False
    prior_authorization_codes: frozenset[str] = frozenset()
    non_covered_codes: frozenset[str] = frozenset()


@dataclass
class PayerRuleBook:
    default: PayerRules = field(default_factory=PayerRules)
    payers: dict[str, PayerRules] = field(default_factory=dict)

    def for_payer(self, payer_id: str) -> PayerRules:
        return self.payers.get(payer_id, self.default)


def load_payer_rules(path: Path | None = None) -> PayerRuleBook:
    text = path.read_text() if path else resources.files("claims.data").joinpath("payer_rules.toml").read_text()
    data = tomllib.loads(text)

    def build(values: dict[str, Any], base: dict[str, Any]) -> PayerRules:
        merged = {**base, **values}
        for key in ("prior_authorization_codes", "non_covered_codes"):
            merged[key] = frozenset(merged.get(key, ()))
        return PayerRules(**merged)

    base = data.get("default", {})
    return PayerRuleBook(
        default=build({}, base),
        payers={payer: build(values, base) for payer, values in data.get("payers", {}).items()},
    )


@dataclass(frozen=True)
class Eligibility:
    status: str  # active | inactive | error
    check_id: str
    coverage_start: date | None
    coverage_end: date | None


@dataclass
class ScrubContext:
    today: date
    ncci: NcciTables = field(default_factory=NcciTables)
    payer_rules: PayerRuleBook = field(default_factory=PayerRuleBook)
    duplicates: list[str] = field(default_factory=list)  # claim numbers of possible duplicates
    eligibility: Eligibility | None = None
    # units of each (procedure code, date of service) with a per-day MUE that the same patient's other
    # claims from the same provider to the same payer already bill (``day_units`` of each)
    units_billed: dict[tuple[str, date], Decimal] = field(default_factory=dict)
    # the claim's references to the practice's master data that resolved to nothing (``use_cases.references``)
    unresolved: list[Unresolved] = field(default_factory=list)


class _Findings:
    def __init__(self) -> None:
        self.edits: list[Edit] = []

    def add(self, rule: str, **values: Any) -> None:
        text = rule_texts()[rule]
        self.edits.append(Edit(rule, text.severity, text.field.format(**values), text.message.format(**values)))


def scrub(claim: ClaimCreate, ctx: ScrubContext) -> list[Edit]:
    f = _Findings()
    for problem in ctx.unresolved:
        f.add(problem.rule, **problem.values)
    _providers(claim, ctx, f)
    _diagnoses(claim, ctx, f)
    _lines(claim, ctx, f)
    _ncci(claim, ctx, f)
    _payer(claim, ctx, f)
    for other in ctx.duplicates:
        f.add("DUP001", other=other)
    return f.edits


def _providers(claim: ClaimCreate, ctx: ScrubContext, f: _Findings) -> None:
    roles: list[tuple[str, ProviderIn | None]] = [
        ("billing_provider", claim.billing_provider),
        ("rendering_provider", claim.rendering_provider),
        ("referring_provider", claim.referring_provider),
        ("attending_provider", claim.attending_provider),
    ]
    for role, provider in roles:
        if provider is None:
            continue
        if not codesets.npi_valid(provider.npi):
            f.add("NPI001", field=f"{role}.npi", npi=provider.npi)
        if provider.taxonomy and not codesets.TAXONOMY.match(provider.taxonomy):
            f.add("TAXO001", field=f"{role}.taxonomy", code=provider.taxonomy)
        if provider.is_person and not provider.first_name:
            f.add("NAME001", field=f"{role}.first_name", what=f"{role.replace('_', ' ')} first name")
    bp = claim.billing_provider
    if bp is None:
        if not any(p.rule == "PM001" for p in ctx.unresolved):  # else the reference's finding says it
            f.add("PM002", date=claim.service_from.isoformat())
    else:
        if not bp.tax_id or not codesets.EIN.match(bp.tax_id):
            f.add("TAX001")
        if bp.address is None:
            f.add("NAME001", field="billing_provider.address", what="billing provider address")
        elif bp.address.line1.upper().replace(".", "").replace(" ", "").startswith(("POBOX", "PMB")):
            f.add("ADDR001")
    facility_unresolved = any(p.rule == "PM004" for p in ctx.unresolved)  # its place of service is unknown
    if claim.facility_code is None and not (claim.kind == "professional" and facility_unresolved):
        f.add("PM005")
    if claim.kind == "institutional" and claim.attending_provider is None:
        f.add("NAME001", field="attending_provider", what="the attending provider (institutional claims)")
    sub = claim.subscriber
    if not sub.first_name:
        f.add("NAME001", field="subscriber.first_name", what="subscriber first name")
    # The patient's birth date and address are required (2010BA when the subscriber is the patient, else
    # 2010CA): each one missing is its own finding, naming its own field.
    role, person = ("patient", claim.patient) if claim.patient is not None else ("subscriber", sub)
    if person.birth_date is None:
        f.add("NAME001", field=f"{role}.birth_date", what=f"the patient's birth date ({role}.birth_date)")
    if person.address is None:
        f.add("NAME001", field=f"{role}.address", what=f"the patient's address ({role}.address)")


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _diagnoses(claim: ClaimCreate, ctx: ScrubContext, f: _Findings) -> None:
    person = claim.patient_person
    seen: set[str] = set()
    for i, code in enumerate(claim.diagnoses):
        if code in seen:
            f.add("DX007", code=code)
        seen.add(code)
        status = codesets.icd_status(code)
        if status == "malformed":
            f.add("DX001", index=i, code=code)
            continue
        if status == "unknown":
            f.add("DX003", index=i, code=code, release=codesets.ICD_RELEASE)
            continue
        if status == "not_billable":
            f.add("DX002", index=i, code=code)
        if i == 0 and codesets.icd_code_first(code):
            f.add("DX004", code=code)
        expected = codesets.icd_sex(code)
        if expected and person.sex in ("F", "M") and person.sex != expected:
            f.add("DX005", index=i, code=code, expected=expected, actual=person.sex)
        if person.birth_date is not None:
            age = _age(person.birth_date, claim.service_from)
            if codesets.icd_newborn(code) and age > 0:
                f.add("DX006", index=i, code=code, kind="perinatal (newborn)", age=age)
            elif codesets.icd_maternity(code) and not 9 <= age <= 64:
                f.add("DX006", index=i, code=code, kind="maternity", age=age)


def _lines(claim: ClaimCreate, ctx: ScrubContext, f: _Findings) -> None:
    born = claim.patient_person.birth_date
    for i, line in enumerate(claim.lines):
        code = line.procedure_code
        if claim.kind == "professional" or code:
            if not code or not (codesets.CPT.match(code) or codesets.HCPCS.match(code)):
                f.add("PROC001", index=i, code=code or "(none)")
        if claim.kind == "institutional" and not (line.revenue_code and codesets.REVENUE.match(line.revenue_code)):
            f.add("PROC002", index=i)
        for m in line.modifiers:
            if not codesets.MODIFIER.match(m):
                f.add("MOD001", index=i, modifier=m)
        for p in line.diagnosis_pointers:
            if not 1 <= p <= len(claim.diagnoses):
                f.add("PTR001", index=i, pointer=p, count=len(claim.diagnoses))
        if line.units <= 0:
            f.add("UNIT001", index=i)
        if line.charge is None:
            code = line.procedure_code or line.revenue_code or "(none)"
            mods = " ".join(line.modifiers) or "(none)"
            f.add("CM001", index=i, code=code, modifiers=mods, date=line.service_date.isoformat())
        elif line.charge <= 0:
            f.add("CHG001", index=i)
        if line.service_date > ctx.today or (line.service_date_end and line.service_date_end > ctx.today):
            f.add("DATE001", index=i, date=line.service_date.isoformat())
        if born and line.service_date < born:
            f.add("DATE002", index=i, date=line.service_date.isoformat())
        pos = line.place_of_service or (claim.facility_code if claim.kind == "professional" else None)
        if pos and pos not in codesets.places_of_service():
            field_name = f"lines[{i}].place_of_service" if line.place_of_service else "facility_code"
            f.add("POS001", field=field_name, code=pos)
    if claim.kind == "institutional" and (
        claim.statement_from is None
        or claim.statement_from > claim.service_from
        or (claim.statement_to or claim.statement_from) < claim.service_to
    ):
        f.add("DATE003")


def _ncci(claim: ClaimCreate, ctx: ScrubContext, f: _Findings) -> None:
    lines = [(i, line) for i, line in enumerate(claim.lines) if line.procedure_code]
    _mue(claim, ctx, f)
    for i, line in lines:
        for _j, other in lines:
            if other is line or other.service_date != line.service_date:
                continue
            assert line.procedure_code is not None and other.procedure_code is not None
            edit = ctx.ncci.pair(other.procedure_code, line.procedure_code, line.service_date)
            if edit is None or edit.modifier_indicator == "9":
                continue
            values = {
                "index": i,
                "column1": other.procedure_code,
                "column2": line.procedure_code,
                "date": line.service_date.isoformat(),
            }
            if edit.modifier_indicator == "0":
                f.add("NCCI001", **values)
            elif not PTP_MODIFIERS.intersection(line.modifiers):
                f.add("NCCI002", **values)


def day_units(claim: ClaimCreate, tables: NcciTables) -> dict[tuple[str, date], Decimal]:
    """The units the claim bills of each code with a per-day MUE (MAI 2 or 3), by date of service."""
    out: dict[tuple[str, date], Decimal] = {}
    for line in claim.lines:
        mue = tables.mue.get(line.procedure_code or "")
        if mue is not None and mue.per_day:
            key = (line.procedure_code or "", line.service_date)
            out[key] = out.get(key, Decimal(0)) + line.units
    return out


def _units(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _mue(claim: ClaimCreate, ctx: ScrubContext, f: _Findings) -> None:
    """MAI 1 limits each line; MAI 2 and 3 limit the day: this claim's lines plus the units the patient's
    other claims from the provider bill that day. A day over its limit is reported once, on the line that
    takes it over, with the day's total."""
    totals = day_units(claim, ctx.ncci)
    running = {key: ctx.units_billed.get(key, Decimal(0)) for key in totals}
    reported: set[tuple[str, date]] = set()
    for i, line in enumerate(claim.lines):
        mue = ctx.ncci.mue.get(line.procedure_code or "")
        if mue is None:
            continue
        values = {"index": i, "code": line.procedure_code, "date": line.service_date.isoformat(), "limit": mue.value}
        if not mue.per_day:
            if line.units > mue.value:
                f.add("MUE001", **values, units=_units(line.units), scope="per line (MAI 1)")
            continue
        key = (line.procedure_code or "", line.service_date)
        running[key] += line.units
        if running[key] > mue.value and key not in reported:
            reported.add(key)
            prior = ctx.units_billed.get(key, Decimal(0))
            total = totals[key] + prior
            scope = f"per date of service (MAI {mue.indicator}"
            scope += f"; {_units(prior)} of them on other claims from this provider)" if prior else ")"
            f.add("MUE001", **values, units=_units(total), scope=scope)


def _payer(claim: ClaimCreate, ctx: ScrubContext, f: _Findings) -> None:
    rules = ctx.payer_rules.for_payer(claim.payer.payer_id)
    payer = claim.payer.payer_id
    earliest = min(range(len(claim.lines)), key=lambda k: claim.lines[k].service_date)
    deadline = claim.lines[earliest].service_date + timedelta(days=rules.timely_filing_days)
    left = (deadline - ctx.today).days
    if left < 0:
        f.add("TF001", index=earliest, limit=rules.timely_filing_days, payer=payer, deadline=deadline.isoformat())
    elif left <= rules.warn_days_before_limit:
        f.add(
            "TF002",
            index=earliest,
            limit=rules.timely_filing_days,
            payer=payer,
            deadline=deadline.isoformat(),
            left=left,
        )
    for i, line in enumerate(claim.lines):
        code = line.procedure_code or ""
        if code in rules.prior_authorization_codes and not claim.prior_authorization:
            f.add("AUTH001", payer=payer, code=code)
        if code in rules.non_covered_codes:
            f.add("PAYER001", index=i, payer=payer, code=code)
    e = ctx.eligibility
    dos = claim.service_from.isoformat()
    if e is None:
        if rules.require_eligibility:
            f.add("ELIG002", payer=payer, date=dos)
    elif (
        e.status != "active"
        or (e.coverage_start and e.coverage_start > claim.service_from)
        or (e.coverage_end and e.coverage_end < claim.service_to)
    ):
        status = e.status if e.status != "active" else "not in force"
        f.add("ELIG001", status=status, payer=payer, date=dos, check=e.check_id)


def has_errors(edits: list[Edit]) -> bool:
    return any(e.severity == "error" for e in edits)
