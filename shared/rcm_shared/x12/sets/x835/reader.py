"""Reading 835s as a stream of typed items (see the package's text): one dispatch per segment id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import Segment, TransactionHeader, X12Reader
from rcm_shared.x12.sets.common import Adjustment
from rcm_shared.x12.sets.x835.model import (
    ClaimPayment,
    Item835,
    PaymentHeader,
    PaymentTrailer,
    Procedure,
    ProviderAdjustment,
    ServicePayment,
)
from rcm_shared.x12.values import ccyymmdd, located, money

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
