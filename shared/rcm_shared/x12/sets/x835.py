"""835 Health Care Claim Payment/Advice (005010X221A1): a streaming reader to typed models.

``iter_835`` yields a :class:`PaymentHeader` per transaction set, then each :class:`ClaimPayment` as
soon as its loop (2100 + 2110s) ends, then the transaction's :class:`ProviderAdjustment` (PLB) items and
a :class:`PaymentTrailer`. Memory stays bounded by one claim, whatever the file size. Money is Decimal,
dates are dates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import Segment, TransactionHeader, X12Reader
from rcm_shared.x12.sets.common import Adjustment, cas_segments
from rcm_shared.x12.values import ccyymmdd, located, money, x12_amount
from rcm_shared.x12.writer import Composite, TransactionSet

IMPLEMENTATION = "005010X221A1"
FORWARDED = frozenset({"19", "20", "21"})  # CLP02: processed as primary/secondary/tertiary, forwarded on


@dataclass(slots=True)
class Procedure:
    qualifier: str  # HC (CPT/HCPCS), NU (revenue), ...
    code: str
    modifiers: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ServicePayment:
    procedure: Procedure
    charge: Decimal
    paid: Decimal
    revenue_code: str | None = None
    units: Decimal | None = None
    original_procedure: Procedure | None = None  # SVC06: the code as billed, when the payer restated it
    original_units: Decimal | None = None
    service_date: date | None = None
    service_date_end: date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    line_control_number: str | None = None  # REF*6R
    references: list[tuple[str, str]] = field(default_factory=list)
    amounts: dict[str, Decimal] = field(default_factory=dict)  # AMT: B6 allowed, ...
    remarks: list[tuple[str, str]] = field(default_factory=list)  # LQ: (HE, RARC)


@dataclass(slots=True)
class ClaimPayment:
    patient_control_number: str  # CLP01: our claim id as sent in CLM01
    status: str  # CLP02: 1 primary, 2 secondary, 3 tertiary, 4 denied, 19-23 ..., 22 reversal
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal | None
    filing_indicator: str
    payer_claim_control_number: str
    facility_type: str | None = None
    frequency: str | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    patient: dict[str, str] = field(default_factory=dict)  # NM1*QC: last, first, id qualifier, id
    insured: dict[str, str] = field(default_factory=dict)  # NM1*IL
    corrected_insured: dict[str, str] = field(default_factory=dict)  # NM1*74
    rendering_provider: dict[str, str] = field(default_factory=dict)  # NM1*82
    dates: dict[str, date] = field(default_factory=dict)  # DTM qualifier -> date (232, 233, 050, 036 ...)
    amounts: dict[str, Decimal] = field(default_factory=dict)  # AMT qualifier -> amount (AU, D8, ...)
    quantities: dict[str, Decimal] = field(default_factory=dict)
    references: list[tuple[str, str]] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)  # MIA/MOA remark codes (RARC)
    services: list[ServicePayment] = field(default_factory=list)
    header_number: str | None = None  # LX01 of the 2000 loop
    transaction: str = ""  # ST02, so items stay traceable in a stream
    # NM1*TT, the crossover carrier: with CLP02 19-21 the payer forwarded the claim to this payer itself
    # (name, id_qualifier PI payer id / XV CMS plan id, id)
    crossover_carrier: dict[str, str] = field(default_factory=dict)

    @property
    def forwarded(self) -> bool:
        """CLP02 19/20/21: processed, and forwarded by the payer to the next payer (a crossover): that payer
        adjudicates without a claim from the provider, and sends its own 835."""
        return self.status in FORWARDED

    def adjustment_total(self) -> Decimal:
        return sum((a.amount for a in self.adjustments), Decimal(0)) + sum(
            (a.amount for s in self.services for a in s.adjustments), Decimal(0)
        )


@dataclass(slots=True)
class PaymentHeader:
    transaction: str
    handling_code: str  # BPR01: I remittance + payment, H notification only, ...
    total_paid: Decimal  # BPR02
    credit_debit: str  # BPR03
    payment_method: str  # BPR04: ACH, CHK, NON, ...
    payment_date: date | None  # BPR16
    trace_number: str  # TRN02 (EFT trace / check number)
    trace_originator: str  # TRN03
    payer_name: str = ""
    payer_id: str = ""  # N1*PR 04 or REF*2U
    payee_name: str = ""
    payee_id_qualifier: str = ""
    payee_id: str = ""  # N1*PE 04 (NPI with XX)
    production_date: date | None = None  # DTM*405
    interchange: str = ""
    sender_id: str = ""


@dataclass(slots=True)
class ProviderAdjustment:
    transaction: str
    provider_id: str  # PLB01
    fiscal_period_end: date | None  # PLB02
    reason: str  # WO, L6, FB, 72, J1 ...
    reference: str  # the identifier after the reason (often a payer claim control number)
    amount: Decimal  # positive reduces the payment


@dataclass(slots=True)
class PaymentTrailer:
    transaction: str
    claims: int
    segments: int


Item835 = PaymentHeader | ClaimPayment | ProviderAdjustment | PaymentTrailer


_PAD = [""] * 24
_GROUPS = frozenset(("CO", "OA", "PI", "PR", "CR"))


class _Parser:
    """State machine over one 835 stream; one method per segment id (a dict dispatch, no if-chains)."""

    def __init__(self) -> None:
        self.out: list[Item835] = []  # items ready to hand out
        self.th: TransactionHeader | None = None
        self.item: tuple[TransactionHeader, list[str], int] | None = None  # the segment being read
        self.header: PaymentHeader | None = None
        self.claim: ClaimPayment | None = None
        self.service: ServicePayment | None = None
        self.claims = 0
        self.header_sent = False
        self.n1 = ""
        self.lx: str | None = None
        self.plbs: list[ProviderAdjustment] = []
        self.comp = ":"
        self._money: dict[str, Decimal] = {}
        self._dates: dict[str, date] = {}
        # segment id -> (handler, how many elements it reads: shorter segments are padded with '')
        self.dispatch = {
            "ST": (self.st, 2),
            "BPR": (self.bpr, 17),
            "TRN": (self.trn, 4),
            "DTM": (self.dtm, 3),
            "N1": (self.n1_, 5),
            "REF": (self.ref, 3),
            "LX": (self.lx_, 2),
            "CLP": (self.clp, 10),
            "SVC": (self.svc, 8),
            "CAS": (self.cas, 20),
            "NM1": (self.nm1, 10),
            "MIA": (self.mia, 24),
            "MOA": (self.moa, 8),
            "AMT": (self.amt, 3),
            "QTY": (self.qty, 3),
            "LQ": (self.lq, 3),
            "PLB": (self.plb, 15),
            "SE": (self.se, 1),
        }
        self.before_bpr = (self.st, self.bpr, self.se)

    # -- values ---------------------------------------------------------------------------------------
    def money(self, e: list[str], i: int) -> Decimal:
        text = e[i]
        value = self._money.get(text)
        if value is None:
            assert self.th is not None
            value = money(self.th, self.segment(), i)
            assert value is not None
            if len(self._money) < 4096:
                self._money[text] = value
        return value

    def date(self, e: list[str], i: int) -> date | None:
        text = e[i]
        value = self._dates.get(text)
        if value is None:
            assert self.th is not None
            value = ccyymmdd(self.th, self.segment(), i)
            if value is None:  # empty, or white space only: no date
                return None
            if len(self._dates) < 4096:
                self._dates[text] = value
        return value

    def segment(self) -> Segment:
        assert self.item is not None
        _th, elements, position = self.item
        return Segment(elements[0], elements, position)

    def error(self, element: int, message: str, code: str) -> X12Error:
        assert self.th is not None
        return located(self.th, self.segment(), element, message, code)

    def procedure(self, e: list[str], i: int) -> Procedure:
        parts = e[i].split(self.comp)
        n = len(parts)
        if n < 2 or not parts[1]:
            raise self.error(i, "composite procedure needs a qualifier and a code", "missing")
        return Procedure(parts[0], parts[1], [m for m in parts[2:6] if m] if n > 2 else [])

    # -- flow -----------------------------------------------------------------------------------------
    def close_claim(self) -> None:
        if self.claim is not None:
            self.claims += 1
            self.out.append(self.claim)
            self.claim, self.service = None, None

    def send_header(self) -> None:
        if not self.header_sent and self.header is not None:
            self.out.append(self.header)
            self.header_sent = True

    # -- segments -------------------------------------------------------------------------------------
    def st(self, e: list[str]) -> None:
        if e[1] != "835":
            raise self.error(1, f"transaction set {e[1]!r} is not an 835", "wrong_set")
        assert self.th is not None
        self.comp = self.th.interchange.delimiters.component
        self.header, self.claim, self.service, self.claims = None, None, None, 0
        self.header_sent, self.n1, self.lx, self.plbs = False, "", None, []

    def bpr(self, e: list[str]) -> None:
        th = self.th
        assert th is not None
        self.header = PaymentHeader(
            transaction=th.control_number,
            handling_code=e[1],
            total_paid=self.money(e, 2),
            credit_debit=e[3],
            payment_method=e[4],
            payment_date=self.date(e, 16),
            trace_number="",
            trace_originator="",
            interchange=th.interchange.control_number,
            sender_id=th.interchange.sender_id,
        )

    def trn(self, e: list[str]) -> None:
        if self.claim is None and self.header is not None:
            self.header.trace_number, self.header.trace_originator = e[2], e[3]

    def dtm(self, e: list[str]) -> None:
        claim = self.claim
        if claim is None:
            if e[1] == "405" and self.header is not None:
                self.header.production_date = self.date(e, 2)
            return
        d = self._dates.get(e[2]) or self.date(e, 2)
        if d is None:
            return
        service = self.service
        if service is not None:
            if e[1] in ("472", "150"):
                service.service_date = d
            elif e[1] == "151":
                service.service_date_end = d
        else:
            claim.dates[e[1]] = d

    def n1_(self, e: list[str]) -> None:
        header = self.header
        if self.claim is not None or header is None:
            return
        self.n1 = e[1]
        if e[1] == "PR":
            header.payer_name, header.payer_id = e[2], e[4] or header.payer_id
        elif e[1] == "PE":
            header.payee_name, header.payee_id_qualifier, header.payee_id = e[2], e[3], e[4]

    def ref(self, e: list[str]) -> None:
        claim, service = self.claim, self.service
        if claim is None:
            if self.n1 == "PR" and e[1] == "2U" and self.header is not None:
                self.header.payer_id = self.header.payer_id or e[2]
        elif service is not None:
            if e[1] == "6R":
                service.line_control_number = e[2]
            service.references.append((e[1], e[2]))
        else:
            claim.references.append((e[1], e[2]))

    def lx_(self, e: list[str]) -> None:
        self.close_claim()
        self.send_header()
        self.lx = e[1]

    def clp(self, e: list[str]) -> None:
        self.close_claim()
        self.send_header()
        if not e[1]:
            raise self.error(1, "CLP01 patient control number is missing", "missing")
        assert self.th is not None
        # positional, with the containers given: the parser's hot path skips the default factories
        self.claim = ClaimPayment(
            e[1],
            e[2],
            self.money(e, 3),
            self.money(e, 4),
            self.money(e, 5) if e[5] else None,
            e[6],
            e[7],
            e[8] or None,
            e[9] or None,
            [],
            {},
            {},
            {},
            {},
            {},
            {},
            {},
            [],
            [],
            [],
            self.lx,
            self.th.control_number,
            {},
        )

    def svc(self, e: list[str]) -> None:
        claim = self.claim
        if claim is None:
            return
        money = self.money
        self.service = service = ServicePayment(
            self.procedure(e, 1),
            money(e, 2),
            money(e, 3),
            e[4] or None,
            money(e, 5) if e[5] else None,
            self.procedure(e, 6) if e[6] else None,
            money(e, 7) if e[7] else None,
            None,
            None,
            [],
            None,
            [],
            {},
            [],
        )
        claim.services.append(service)

    def cas(self, e: list[str]) -> None:
        claim = self.claim
        if claim is None:
            return
        group = e[1]
        if group not in _GROUPS:
            raise self.error(1, f"unknown claim adjustment group code {group!r}", "bad_code")
        target = self.service.adjustments if self.service is not None else claim.adjustments
        if not e[2]:
            raise self.error(2, "CAS without a reason code", "missing")
        money = self.money
        target.append(Adjustment(group, e[2], money(e, 3), money(e, 4) if e[4] else None))
        if e[5] or e[8] or e[11] or e[14] or e[17]:
            for i in (5, 8, 11, 14, 17):
                if e[i]:
                    target.append(Adjustment(group, e[i], money(e, i + 1), money(e, i + 2) if e[i + 2] else None))

    def nm1(self, e: list[str]) -> None:
        claim = self.claim
        if claim is None or self.service is not None:
            return
        q = e[1]
        target = (
            claim.patient
            if q == "QC"
            else claim.insured
            if q == "IL"
            else claim.corrected_insured
            if q == "74"
            else claim.rendering_provider
            if q == "82"
            else claim.crossover_carrier
            if q == "TT"
            else None
        )
        if target is not None:
            if q == "TT":  # an organization: NM103 is its name, NM108 PI (payer id) or XV (CMS plan id)
                target.update({k: e[i] for k, i in (("name", 3), ("id_qualifier", 8), ("id", 9)) if e[i]})
                return
            if e[3]:
                target["last"] = e[3]
            if e[4]:
                target["first"] = e[4]
            if e[5]:
                target["middle"] = e[5]
            if e[8]:
                target["id_qualifier"] = e[8]
            if e[9]:
                target["id"] = e[9]

    def mia(self, e: list[str]) -> None:
        if self.claim is not None:
            self.claim.remarks.extend(e[i] for i in (5, 20, 21, 22, 23) if e[i])

    def moa(self, e: list[str]) -> None:
        if self.claim is not None:
            self.claim.remarks.extend(e[i] for i in (3, 4, 5, 6, 7) if e[i])

    def amt(self, e: list[str]) -> None:
        if self.claim is not None:
            (self.service.amounts if self.service else self.claim.amounts)[e[1]] = self.money(e, 2)

    def qty(self, e: list[str]) -> None:
        if self.claim is not None and self.service is None:
            self.claim.quantities[e[1]] = self.money(e, 2)

    def lq(self, e: list[str]) -> None:
        if self.service is not None:
            self.service.remarks.append((e[1], e[2]))

    def plb(self, e: list[str]) -> None:
        self.close_claim()
        assert self.th is not None
        for i in (3, 5, 7, 9, 11, 13):
            if e[i]:
                reason, _, reference = e[i].partition(self.comp)
                self.plbs.append(
                    ProviderAdjustment(
                        self.th.control_number, e[1], self.date(e, 2), reason, reference, self.money(e, i + 1)
                    )
                )

    def se(self, e: list[str]) -> None:
        self.close_claim()
        if self.header is None:
            raise self.error(0, "the 835 has no BPR", "structure")
        self.send_header()
        self.out.extend(self.plbs)
        assert self.th is not None
        self.out.append(PaymentTrailer(self.th.control_number, self.claims, self.th.segments))


def iter_835(source: str | Path | bytes | BinaryIO) -> Iterator[Item835]:
    parser = _Parser()
    out, dispatch = parser.out, parser.dispatch
    th: TransactionHeader | None = None
    lookup = dispatch.get
    for item in X12Reader(source).iter_elements():
        elements = item[1]
        entry = lookup(elements[0])
        if entry is None:
            continue  # segments the model does not carry (PER, RDM, TS3, TS2, ...)
        handler, need = entry
        parser.item = item  # where errors point (segment position) without a Segment per segment
        if item[0] is not th:
            th = parser.th = item[0]
        if parser.header is None and handler not in parser.before_bpr:
            raise parser.error(0, "the 835 must start with BPR", "structure")
        handler(elements if len(elements) >= need else elements + _PAD)
        if out:
            yield from out
            out.clear()


# -- writer (payers, the sandbox and tests produce 835s) -------------------------------------------------
@dataclass(frozen=True)
class PayerContact:
    address_line: str = "PO BOX 1000"
    city: str = "SPRINGFIELD"
    state: str = "IL"
    postal_code: str = "62701"
    phone: str = "8005551212"


def build_835(
    header: PaymentHeader,
    claims: list[ClaimPayment],
    plbs: list[ProviderAdjustment] = (),  # type: ignore[assignment]
    *,
    payer: PayerContact = PayerContact(),
) -> TransactionSet:
    """One 835 transaction set: BPR/TRN, payer (N1*PR with N3/N4/PER*BL), payee, one LX, claims, PLBs."""
    ts = TransactionSet("835", IMPLEMENTATION, st03=False)
    d8 = header.payment_date.strftime("%Y%m%d") if header.payment_date else None
    if header.payment_method == "ACH":
        ts.add(
            "BPR",
            header.handling_code,
            x12_amount(header.total_paid),
            header.credit_debit,
            "ACH",
            "CCP",
            "01",
            "011000015",
            "DA",
            "1234567",
            header.trace_originator,
            None,
            "01",
            "021000021",
            "DA",
            "7654321",
            d8,
        )
    else:
        ts.add(
            "BPR",
            header.handling_code,
            x12_amount(header.total_paid),
            header.credit_debit,
            header.payment_method,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            d8,
        )
    ts.add("TRN", "1", header.trace_number, header.trace_originator)
    if header.production_date:
        ts.add("DTM", "405", header.production_date.strftime("%Y%m%d"))
    ts.add("N1", "PR", header.payer_name)
    ts.add("N3", payer.address_line)
    ts.add("N4", payer.city, payer.state, payer.postal_code)
    if header.payer_id:
        ts.add("REF", "2U", header.payer_id)
    ts.add("PER", "BL", "PROVIDER SERVICES", "TE", payer.phone)
    ts.add("N1", "PE", header.payee_name, header.payee_id_qualifier or "XX", header.payee_id)
    if claims:
        ts.add("LX", "1")
    for c in claims:
        ts.add(
            "CLP",
            c.patient_control_number,
            c.status,
            x12_amount(c.charge),
            x12_amount(c.paid),
            x12_amount(c.patient_responsibility) if c.patient_responsibility is not None else None,
            c.filing_indicator,
            c.payer_claim_control_number,
            c.facility_type,
            c.frequency,
        )
        cas_segments(ts, c.adjustments)
        p = c.patient
        ts.add(
            "NM1",
            "QC",
            "1",
            p.get("last", "UNKNOWN"),
            p.get("first"),
            p.get("middle"),
            None,
            None,
            p.get("id_qualifier") if p.get("id") else None,
            p.get("id"),
        )
        tt = c.crossover_carrier
        if tt:
            ts.add("NM1", "TT", "2", tt.get("name"), None, None, None, None, tt.get("id_qualifier"), tt.get("id"))
        if c.remarks:
            ts.add("MOA", None, None, *c.remarks[:5])
        for qualifier, value in c.dates.items():
            ts.add("DTM", qualifier, value.strftime("%Y%m%d"))
        for qualifier, amount in c.amounts.items():
            ts.add("AMT", qualifier, x12_amount(amount))
        for s in c.services:
            proc = Composite((s.procedure.qualifier, s.procedure.code, *s.procedure.modifiers))
            original = (
                Composite((s.original_procedure.qualifier, s.original_procedure.code, *s.original_procedure.modifiers))
                if s.original_procedure
                else None
            )
            ts.add(
                "SVC",
                proc,
                x12_amount(s.charge),
                x12_amount(s.paid),
                s.revenue_code,
                format(s.units, "f") if s.units is not None else None,
                original,
                format(s.original_units, "f") if s.original_units is not None else None,
            )
            if s.service_date:
                ts.add("DTM", "472", s.service_date.strftime("%Y%m%d"))
            cas_segments(ts, s.adjustments)
            if s.line_control_number:
                ts.add("REF", "6R", s.line_control_number)
            for qualifier, amount in s.amounts.items():
                ts.add("AMT", qualifier, x12_amount(amount))
            for qualifier, code in s.remarks:
                ts.add("LQ", qualifier, code)
    by_provider: dict[tuple[str, date | None], list[ProviderAdjustment]] = {}
    for plb in plbs:
        by_provider.setdefault((plb.provider_id, plb.fiscal_period_end), []).append(plb)
    for (provider, fiscal), items in by_provider.items():
        for start in range(0, len(items), 6):
            elements: list[str | Composite | None] = ["PLB", provider, fiscal.strftime("%Y%m%d") if fiscal else None]
            for plb in items[start : start + 6]:
                elements += [
                    Composite((plb.reason, plb.reference)) if plb.reference else plb.reason,
                    x12_amount(plb.amount),
                ]
            ts.add(*elements)
    return ts
