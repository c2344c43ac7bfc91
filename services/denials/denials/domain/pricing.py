"""What a payer contract says a claim's lines are worth: the expected allowed amount per line, and the trail of
rules that produced it (an appeal letter cites the contract line and the steps).

A line is priced in this order, each step a line of the trail:

1. The base: the contract's fee schedule line for the code (a line for the line's own modifier first, e.g. a
   26 or TC rate, then the code's line without modifier) x units; without one, the contract's default rule:
   a percent of the billed charge, or a percent of the Medicare fee schedule amount at the contract's locality
   x units; without either, no rate (``expected_allowed_cents`` None).
2. Professional/technical split (26/TC) of a global rate, when the contract has no rate for the modifier
   itself: in the proportion of Medicare's 26 or TC amount to its global amount at the contract's locality
   (national when it names none; both non-facility, where the global service is priced), else
   ``professional_component_percent`` for 26 and the rest for TC.
3. Bilateral (modifier 50, one line with 1 unit): ``bilateral_percent`` (150 %) of one side, for a code
   Medicare's bilateral indicator is 1 (or unknown); indicators 0 (150 % does not apply), 2 (already
   bilateral) and 9 (the concept does not apply) pay 100 %, indicator 3 (each side priced on its own) 200 %.
4. Multiple procedures (modifier 51 / CMS's multiple procedure payment reduction): on one date of service,
   the lines subject to it are ranked by their amount after steps 1-3; the highest is paid 100 % and each
   other 50 %. A line is subject when Medicare's multiple procedure indicator for its code is 2 - with or
   without modifier 51, as CMS ranks them itself - or, for a code the schedule does not know (or when no
   schedule is given), when it carries modifier 51. Modifier 51 says the line is not the primary procedure:
   when every subject line of a date carries it, the primary is a line outside the rule and each is at 50 %.
   Indicators 0 and 9 (add-on and exempt codes) are never reduced; the special rules 3-7 (endoscopy families,
   imaging, therapy, cardiovascular and ophthalmology reductions) are not modelled: those lines price at 100 %.
   The reduction ranks lines, not units: the units of one line are reduced together.
5. Lesser of charge: the billed charge when it is lower than the amount (``lesser_of_charge``).

Amounts are kept in unrounded Decimal cents through the steps and rounded to whole cents once, ROUND_HALF_UP,
at the end of each line; ranking uses the unrounded amounts. Percent of billed charges is the charge's own
price for what was done: steps 2-4 do not apply to it."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from denials.domain.medicare import MedicareSchedule, is_facility

DefaultRule = Literal["none", "percent_of_charges", "percent_of_medicare"]
SPLIT_MODIFIERS = ("26", "TC")
HUNDRED = Decimal(100)
# A billed line's fields as a payer takes them: CPT (incl. category II/III), HCPCS level II, or an institutional
# revenue code; modifiers of 2 letters or digits, at most 4 (the 837's SV1-3..6); a 2-digit place of service.
CODE = re.compile(r"^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4}|[0-9]{4})$")
MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
MAX_MODIFIERS = 4
UNITS = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")
MAX_UNITS_TEXT = 16
PLACE_OF_SERVICE = re.compile(r"^[0-9]{2}$")


@dataclass(frozen=True)
class FeeLine:
    """One fee schedule line of a contract."""

    code: str  # CPT/HCPCS
    modifier: str  # "" for none; "26"/"TC" rows may carry their own rate
    rate_cents: int  # per unit


@dataclass(frozen=True)
class ContractTerms:
    fee_lines: Mapping[tuple[str, str], FeeLine]  # (code, modifier) -> line
    default_rule: DefaultRule = "none"
    default_percent: Decimal = Decimal(0)  # Decimal("120") = 120 %
    medicare_locality: str | None = None  # MAC number + locality number ("0111205"); None: national
    multiple_procedure: bool = True  # modifier 51 / MPPR: 100/50/50/50/50 by rank
    bilateral_percent: Decimal = Decimal(150)  # modifier 50
    lesser_of_charge: bool = True  # allowed = min(charge, computed)
    professional_component_percent: Decimal = Decimal(40)  # 26 share of a global rate when Medicare can't say


@dataclass(frozen=True)
class LineToPrice:
    line_number: int
    code: str
    modifiers: tuple[str, ...]
    units: Decimal
    charge_cents: int
    service_date: date
    place_of_service: str | None = None
    problem: str | None = None  # why the line cannot be priced as billed (``odd_fields``): priced as an error


@dataclass(frozen=True)
class PricedLine:
    line_number: int
    expected_allowed_cents: int | None  # None: the contract has no rate for it (no default rule)
    rule: str  # "fee_schedule" | "percent_of_charges" | "percent_of_medicare" | "no_rate"
    steps: tuple[str, ...]  # human-readable trail
    fee_line: FeeLine | None  # the contract line applied (an appeal letter cites it)


@dataclass
class _Work:
    """A line being priced: its amount in unrounded cents and the trail so far."""

    line: LineToPrice
    rule: str
    amount: Decimal | None
    steps: list[str]
    fee_line: FeeLine | None = None
    adjustable: bool = True  # steps 2-4 apply (not to a percent of charges)
    priced_modifiers: frozenset[str] = frozenset()  # modifiers whose price the rate already carries


def money(cents: Decimal | int) -> str:
    """Dollars with two decimals, or up to four where a step leaves a fraction of a cent (the trail shows it;
    the line is rounded once, at its end)."""
    dollars = Decimal(cents) / HUNDRED
    if dollars == dollars.quantize(Decimal("0.01")):
        return f"{dollars.quantize(Decimal('0.01')):,}"
    shown = dollars.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP).normalize()
    return f"{shown:,f}" if shown == dollars else f"{shown:,f}..."


def _units(units: Decimal) -> str:
    return f"{units.normalize():f} unit{'' if units == 1 else 's'}"


def odd_fields(code: str, modifiers: Sequence[str], units: str, place_of_service: str | None) -> str | None:
    """Why a billed line's own fields are none a payer prices (as received, before any is stored): a code that
    is no CPT/HCPCS or revenue code, a modifier that is not 2 letters or digits, more than 4 modifiers, units
    that are no number, a place of service that is not 2 digits; None when they are fine."""
    problems = []
    if not CODE.match(code.strip().upper()):
        problems.append(f"procedure code {code[:20]!r} is no CPT/HCPCS or revenue code")
    marked = [m for m in modifiers if m.strip()]
    odd = [m for m in marked if not MODIFIER.match(m.strip().upper())]
    if odd:
        problems.append(f"modifier {odd[0][:20]!r} is not 2 letters or digits")
    if len(marked) > MAX_MODIFIERS:
        problems.append(f"{len(marked)} modifiers, at most {MAX_MODIFIERS}")
    if len(units) > MAX_UNITS_TEXT or not UNITS.match(units.strip()):
        problems.append(f"units {units[:20]!r} are no number")
    if place_of_service is not None and not PLACE_OF_SERVICE.match(place_of_service):
        problems.append(f"place of service {place_of_service[:20]!r} is not 2 digits")
    return "; ".join(problems) or None


def _check(lines: Sequence[LineToPrice], terms: ContractTerms, medicare: MedicareSchedule | None) -> None:
    seen: set[int] = set()
    for line in lines:
        where = f"line {line.line_number} ({line.code})"
        if line.line_number in seen:
            raise ValueError(f"line number {line.line_number} appears twice on the claim")
        seen.add(line.line_number)
        if line.problem:
            raise ValueError(f"line {line.line_number} is not priced as billed: {line.problem}")
        if not line.code.strip():
            raise ValueError(f"line {line.line_number} has no procedure code")
        if not line.units.is_finite() or line.units <= 0:
            raise ValueError(f"{where}: units must be a positive number, not {line.units}")
        if line.charge_cents < 0:
            raise ValueError(f"{where}: the charge must not be negative, not {line.charge_cents} cents")
        if "50" in _mods(line) and line.units != 1:
            raise ValueError(f"{where}: modifier 50 bills both sides on one line with 1 unit, not {line.units}")
        if set(SPLIT_MODIFIERS) <= set(_mods(line)):
            raise ValueError(f"{where}: modifiers 26 and TC together are the global service; bill it without")
    if terms.default_percent < 0:
        raise ValueError(f"the contract's default percent must not be negative, not {terms.default_percent}")
    if terms.default_rule == "percent_of_medicare":
        if medicare is None:
            raise ValueError("the contract pays a percent of Medicare, but no Medicare fee schedule is loaded")
    if medicare is not None:
        medicare.locality(terms.medicare_locality)  # an unknown locality is an error before any line is priced


def _mods(line: LineToPrice) -> tuple[str, ...]:
    return tuple(m.strip().upper() for m in line.modifiers if m.strip())


def _split_modifier(line: LineToPrice) -> str:
    return next((m for m in _mods(line) if m in SPLIT_MODIFIERS), "")


def _fee_line(line: LineToPrice, terms: ContractTerms) -> FeeLine | None:
    code = line.code.strip().upper()
    for modifier in (*_mods(line), ""):
        fee = terms.fee_lines.get((code, modifier))
        if fee is not None:
            return fee
    return None


def _base(line: LineToPrice, terms: ContractTerms, medicare: MedicareSchedule | None) -> _Work:
    code = line.code.strip().upper()
    fee = _fee_line(line, terms)
    if fee is not None:
        amount = fee.rate_cents * line.units
        label = f"{fee.code}-{fee.modifier}" if fee.modifier else fee.code
        steps = [f"fee {label}: {money(fee.rate_cents)} x {_units(line.units)} = {money(amount)}"]
        priced = frozenset({fee.modifier}) if fee.modifier else frozenset()
        work = _Work(line, "fee_schedule", amount, steps, fee, priced_modifiers=priced)
        return _split(work, terms, medicare)
    percent = terms.default_percent
    if terms.default_rule == "percent_of_charges":
        amount = Decimal(line.charge_cents) * percent / HUNDRED
        steps = [
            f"no fee line for {code}: {percent.normalize():f}% of charge {money(line.charge_cents)} = {money(amount)}"
        ]
        return _Work(line, "percent_of_charges", amount, steps, adjustable=False)
    if terms.default_rule == "percent_of_medicare" and medicare is not None:
        return _percent_of_medicare(line, terms, medicare)
    return _Work(line, "no_rate", None, [f"no fee line for {code} and no default rule in the contract"])


def _percent_of_medicare(line: LineToPrice, terms: ContractTerms, medicare: MedicareSchedule) -> _Work:
    code, modifier = line.code.strip().upper(), _split_modifier(line)
    label = f"{code}-{modifier}" if modifier else code
    facility = is_facility(line.place_of_service)
    where = f"{medicare.locality(terms.medicare_locality).name}, {'facility' if facility else 'non-facility'}"
    fee = medicare.amount(code, modifier, terms.medicare_locality, facility)
    if fee is None:
        return _Work(line, "no_rate", None, [f"no fee line for {code}, and Medicare sets no payment for {label}"])
    fee = fee.quantize(Decimal(1), rounding=ROUND_HALF_UP)  # the published fee schedule amount, in cents
    amount = fee * line.units * terms.default_percent / HUNDRED
    steps = [
        f"Medicare {label} ({where}): {money(fee)}",
        f"{terms.default_percent.normalize():f}% of Medicare {money(fee)} x {_units(line.units)} = {money(amount)}",
    ]
    return _Work(line, "percent_of_medicare", amount, steps, priced_modifiers=frozenset({modifier}))


def _split(work: _Work, terms: ContractTerms, medicare: MedicareSchedule | None) -> _Work:
    """A 26 or TC line priced from a global rate gets the component's share of it."""
    modifier = _split_modifier(work.line)
    if not modifier or modifier in work.priced_modifiers or work.amount is None:
        return work
    code = work.line.code.strip().upper()
    share: Decimal | None = None
    if medicare is not None:
        # At the non-facility rate, where the global service is priced (a facility pays no global imaging).
        part = medicare.allowed_cents(code, modifier, terms.medicare_locality, False)
        whole = medicare.allowed_cents(code, "", terms.medicare_locality, False)
        if part is not None and whole:
            share = Decimal(part) / Decimal(whole)
            why = f"Medicare {code}-{modifier} {money(part)} / global {money(whole)}"
    if share is None:
        pc = terms.professional_component_percent
        share = (pc if modifier == "26" else HUNDRED - pc) / HUNDRED
        why = f"the contract's split, professional {pc.normalize():f}%"
    work.amount = work.amount * share
    work.steps.append(f"{modifier} share of the global rate ({why}): {money(work.amount)}")
    work.priced_modifiers |= {modifier}
    return work


def _bilateral(work: _Work, terms: ContractTerms, medicare: MedicareSchedule | None) -> None:
    if not work.adjustable or work.amount is None or "50" not in _mods(work.line) or "50" in work.priced_modifiers:
        return
    indicator = medicare.bilateral_indicator(work.line.code.strip()) if medicare is not None else None
    # 0: 150 % does not apply; 2: the code is bilateral already; 9: the concept does not apply; 3: each side paid
    percent = {"0": HUNDRED, "2": HUNDRED, "3": HUNDRED * 2, "9": HUNDRED}.get(indicator or "", terms.bilateral_percent)
    why = f"Medicare bilateral indicator {indicator}" if indicator is not None else "the contract"
    work.amount = work.amount * percent / HUNDRED
    work.steps.append(f"bilateral (50, {why}): {percent.normalize():f}% = {money(work.amount)}")


def _subject_to_reduction(work: _Work, medicare: MedicareSchedule | None) -> bool:
    if not work.adjustable or work.amount is None or "51" in work.priced_modifiers:
        return False
    indicator = medicare.multiple_procedure_indicator(work.line.code.strip()) if medicare is not None else None
    if indicator is not None:
        return indicator == "2"
    return "51" in _mods(work.line)


def _multiple_procedures(works: list[_Work], medicare: MedicareSchedule | None) -> None:
    by_date: dict[date, list[_Work]] = defaultdict(list)
    for work in works:
        if _subject_to_reduction(work, medicare):
            by_date[work.line.service_date].append(work)
    for group in by_date.values():
        ranked = sorted(group, key=lambda w: (-(w.amount or 0), w.line.line_number))
        primary_present = any("51" not in _mods(w.line) for w in ranked)
        for rank, work in enumerate(ranked, start=1 if primary_present else 2):
            assert work.amount is not None
            if rank == 1:
                if len(ranked) > 1:
                    work.steps.append(f"multiple procedures: rank 1 of {len(ranked)} on {work.line.service_date}, 100%")
                continue
            work.amount = work.amount / 2
            of = f"of {len(ranked)}" if primary_present else "after a primary procedure outside the reduction"
            work.steps.append(
                f"multiple procedures: rank {rank} {of} on {work.line.service_date}, 50% = {money(work.amount)}"
            )


def _finish(work: _Work, terms: ContractTerms) -> PricedLine:
    if work.amount is None:
        return PricedLine(work.line.line_number, None, work.rule, tuple(work.steps), work.fee_line)
    amount = work.amount
    if terms.lesser_of_charge:
        charge = Decimal(work.line.charge_cents)
        amount = min(amount, charge)
        work.steps.append(f"lesser of charge {money(charge)}: {money(amount)}")
    cents = int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if cents != amount:
        work.steps.append(f"rounded half up to the cent: {money(cents)}")
    return PricedLine(work.line.line_number, cents, work.rule, tuple(work.steps), work.fee_line)


def price_claim(
    lines: Sequence[LineToPrice], terms: ContractTerms, medicare: MedicareSchedule | None = None
) -> list[PricedLine]:
    """The expected allowed amount of each line under the contract, in the lines' order. Raises ValueError for
    a line no payer would price (units not positive, a negative charge, modifier 50 with other than 1 unit,
    a line number twice, a ``problem`` found in its fields) and for a contract that cannot be applied (percent
    of Medicare without a schedule, a locality the schedule does not have)."""
    _check(lines, terms, medicare)
    works = [_base(line, terms, medicare) for line in lines]
    for work in works:
        _bilateral(work, terms, medicare)
    if terms.multiple_procedure:
        _multiple_procedures(works, medicare)
    return [_finish(work, terms) for work in works]
