"""Writing 270s (the eligibility service asks) and 271s (payers and the sandbox answer)."""

from __future__ import annotations

from datetime import date

from rcm_shared.x12.sets.common import Levels, dtp, payer_level
from rcm_shared.x12.sets.x270.model import IMPLEMENTATION, EligibilityResponse, Inquiry, Member, RequestError
from rcm_shared.x12.values import d8, x12_amount
from rcm_shared.x12.writer import Repeated, TransactionSet


def _member_name(ts: TransactionSet, qualifier: str, m: Member, with_id: bool) -> None:
    ts.add(
        "NM1",
        qualifier,
        "1",
        m.last,
        m.first,
        m.middle,
        None,
        None,
        "MI" if with_id and m.member_id else None,
        m.member_id if with_id else None,
    )
    for q, v in m.references:
        ts.add("REF", q, v)
    if m.address_line1:
        ts.add("N3", m.address_line1, m.address_line2)
        ts.add("N4", m.city, m.state, m.postal_code)


def _member_segments(ts: TransactionSet, qualifier: str, m: Member, inquiry: Inquiry, with_id: bool) -> None:
    ts.add("TRN", "1", inquiry.trace_number, inquiry.trace_originator)
    _member_name(ts, qualifier, m, with_id)
    if m.birth_date:
        ts.add("DMG", "D8", d8(m.birth_date), m.sex)
    end = inquiry.service_date_end if inquiry.service_date_end != inquiry.service_date else None
    dtp(ts, "291", inquiry.service_date, end)
    ts.add("EQ", Repeated(inquiry.service_types))


def build_270(inquiries: list[Inquiry], *, reference: str, created: date) -> TransactionSet:
    ts = TransactionSet("270", IMPLEMENTATION)
    ts.add("BHT", "0022", "13", reference, d8(created), "1200")
    levels = Levels(ts)
    for q in inquiries:
        source = payer_level(ts, levels, q.payer_name, q.payer_id)
        receiver = levels.add(source, "21", "1")
        ts.add(
            "NM1",
            "1P",
            "1" if q.provider_is_person else "2",
            q.provider_name,
            q.provider_first,
            None,
            None,
            None,
            "XX",
            q.provider_npi,
        )
        sub = levels.add(receiver, "22", "1" if q.dependent else "0")
        if q.dependent is None:
            _member_segments(ts, "IL", q.subscriber, q, with_id=True)
        else:
            # 2100C names the subscriber whoever the patient is: the group number (REF*6P) and address find the
            # member at payers that key by them, so they are written ahead of the dependent's 2000D too
            _member_name(ts, "IL", q.subscriber, with_id=True)
            if q.subscriber.birth_date:
                ts.add("DMG", "D8", d8(q.subscriber.birth_date), q.subscriber.sex)
            levels.add(sub, "23", "0")
            _member_segments(ts, "03", q.dependent, q, with_id=False)
    return ts


def _benefits_and_member(ts: TransactionSet, r: EligibilityResponse, m: Member, errors: list[RequestError]) -> None:
    for e in errors:
        ts.add("AAA", e.valid, None, e.reason, e.follow_up)
    if m.birth_date:
        ts.add("DMG", "D8", d8(m.birth_date), m.sex)
    if r.relationship:
        ts.add("INS", "Y" if r.relationship == "18" else "N", r.relationship)
    for qualifier, start, end in r.dates:
        dtp(ts, qualifier, start, end, as_read=True)
    for b in r.benefits:
        ts.add(
            "EB",
            b.code,
            b.coverage_level,
            Repeated(b.service_types) if b.service_types else None,
            b.insurance_type,
            b.plan,
            b.time_period,
            x12_amount(b.amount) if b.amount is not None else None,
            format(b.percent.normalize(), "f") if b.percent is not None else None,
            b.quantity_qualifier,
            format(b.quantity.normalize(), "f") if b.quantity is not None else None,
            b.authorization_required,
            b.in_network,
            b.procedure,
        )
        for q, v in b.references:
            ts.add("REF", q, v)
        for qualifier, start, end in b.dates:
            dtp(ts, qualifier, start, end, as_read=True)
        for message in b.messages:
            ts.add("MSG", message)
        if b.related:
            ts.add("LS", "2120")
            for ent in b.related:
                ts.add(
                    "NM1",
                    ent.entity,
                    "1" if ent.first else "2",
                    ent.name,
                    ent.first,
                    None,
                    None,
                    None,
                    ent.id_qualifier,
                    ent.id,
                )
                if ent.contacts:
                    flat: list[str | None] = []
                    for q, number in ent.contacts[:3]:
                        flat += [q, number]
                    ts.add("PER", "IC", None, *flat)
            ts.add("LE", "2120")


def build_271(responses: list[EligibilityResponse], *, reference: str, created: date) -> TransactionSet:
    """One 271 answering the responses' inquiries (subscriber, or subscriber + dependent)."""
    ts = TransactionSet("271", IMPLEMENTATION)
    ts.add("BHT", "0022", "11", reference, d8(created), "1200")
    levels = Levels(ts)
    for r in responses:
        source = payer_level(ts, levels, r.payer_name, r.payer_id)
        for e in r.errors:
            if e.loop == "2100A":
                ts.add("AAA", e.valid, None, e.reason, e.follow_up)
        receiver = levels.add(source, "21", "1")
        ts.add("NM1", "1P", "2", r.provider_name, None, None, None, None, "XX", r.provider_id)
        member_errors = [e for e in r.errors if e.loop not in ("2100A", "2100B")]
        if r.subscriber is None:
            continue
        sub = levels.add(receiver, "22", "1" if r.dependent else "0")
        for trace, originator in r.trace_numbers:
            if r.dependent is None:
                ts.add("TRN", "2", trace, originator)
        _member_name(ts, "IL", r.subscriber, with_id=True)
        if r.dependent is None:
            _benefits_and_member(ts, r, r.subscriber, member_errors)
        else:
            if r.subscriber.birth_date:
                ts.add("DMG", "D8", d8(r.subscriber.birth_date), r.subscriber.sex)
            levels.add(sub, "23", "0")
            for trace, originator in r.trace_numbers:
                ts.add("TRN", "2", trace, originator)
            _member_name(ts, "03", r.dependent, with_id=False)
            _benefits_and_member(ts, r, r.dependent, member_errors)
    return ts
