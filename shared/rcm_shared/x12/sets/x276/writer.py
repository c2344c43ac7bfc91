"""Writing 276s (the claims service asks), 277CAs (the clearinghouse or payer front end acknowledges each
claim of an 837) and 277s (the payer answers 276 inquiries)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rcm_shared.x12.sets.common import Levels, dtp, payer_level
from rcm_shared.x12.sets.x276.model import (
    ACK_IMPLEMENTATION,
    REQUEST_IMPLEMENTATION,
    ClaimAck,
    ProviderAcks,
    Status,
    StatusAnswer,
    StatusInquiry,
)
from rcm_shared.x12.values import d8, x12_amount
from rcm_shared.x12.writer import Composite, TransactionSet


def build_276(inquiries: list[StatusInquiry], *, reference: str, created: date) -> TransactionSet:
    ts = TransactionSet("276", REQUEST_IMPLEMENTATION)
    ts.add("BHT", "0010", "13", reference, d8(created), "1200")
    levels = Levels(ts)
    for q in inquiries:
        payer_hl = payer_level(ts, levels, q.payer_name, q.payer_id)
        receiver_hl = levels.add(payer_hl, "21", "1")
        ts.add("NM1", "41", "2", q.submitter_name, None, None, None, None, "46", q.submitter_id)
        provider_hl = levels.add(receiver_hl, "19", "1")
        ts.add("NM1", "1P", "2", q.provider_name, None, None, None, None, "XX", q.provider_npi)
        subscriber_hl = levels.add(provider_hl, "22", "1" if q.patient_last else "0")
        if q.subscriber_birth_date:
            ts.add("DMG", "D8", d8(q.subscriber_birth_date), q.subscriber_sex)
        ts.add("NM1", "IL", "1", q.subscriber_last, q.subscriber_first, None, None, None, "MI", q.member_id)
        if q.patient_last:
            levels.add(subscriber_hl, "23")
            if q.patient_birth_date:
                ts.add("DMG", "D8", d8(q.patient_birth_date), q.patient_sex)
            ts.add("NM1", "QC", "1", q.patient_last, q.patient_first)
        ts.add("TRN", "1", q.trace_number)
        if q.payer_claim_control_number:
            ts.add("REF", "1K", q.payer_claim_control_number)
        ts.add("REF", "EJ", q.claim_id)
        ts.add("AMT", "T3", x12_amount(q.total_charge))
        dtp(ts, "472", q.service_date, q.service_date_end)
    return ts


def _status_code(s: Status) -> Composite:
    """STC01 (or 10, 11): category, code and, where given, the entity."""
    return Composite((s.category, s.code, s.entity) if s.entity else (s.category, s.code))


def _ack_stc(ts: TransactionSet, s: Status, on: date, amount: Decimal, rejected: bool) -> None:
    ts.add("STC", _status_code(s), d8(on), s.action or ("U" if rejected else "WQ"), x12_amount(amount))


def _totals(ts: TransactionSet, claims: list[ClaimAck], accepted_qty: str, rejected_qty: str) -> None:
    accepted = [c for c in claims if c.accepted]
    rejected = [c for c in claims if not c.accepted]
    if accepted:
        ts.add("QTY", accepted_qty, str(len(accepted)))
    if rejected:
        ts.add("QTY", rejected_qty, str(len(rejected)))
    if accepted:
        ts.add("AMT", "YU", x12_amount(sum((c.charge for c in accepted), Decimal(0))))
    if rejected:
        ts.add("AMT", "YY", x12_amount(sum((c.charge for c in rejected), Decimal(0))))


def build_277ca(
    providers: list[ProviderAcks],
    *,
    payer_name: str,
    payer_id: str,
    receiver_name: str,
    receiver_id: str,
    batch_reference: str,
    received: date,
    processed: date,
) -> TransactionSet:
    """A 277CA (005010X214) acknowledging each claim of a received 837 batch.

    Information source (payer or clearinghouse) > receiver (the 837's submitter) > billing providers >
    patients, with batch totals (QTY 90/AA, AMT YU/YY) at the receiver and provider levels.
    """
    ts = TransactionSet("277", ACK_IMPLEMENTATION)
    ts.add("BHT", "0085", "08", batch_reference, d8(processed), "1200", "TH")
    levels = Levels(ts)
    source_hl = payer_level(ts, levels, payer_name, payer_id)
    ts.add("TRN", "1", batch_reference)
    ts.add("DTP", "050", "D8", d8(received))
    ts.add("DTP", "009", "D8", d8(processed))
    receiver_hl = levels.add(source_hl, "21", "1")
    ts.add("NM1", "41", "2", receiver_name, None, None, None, None, "46", receiver_id)
    ts.add("TRN", "2", batch_reference)
    every = [c for p in providers for c in p.claims]
    ts.add("STC", Composite(("A1", "19")), d8(processed), "WQ", x12_amount(sum((c.charge for c in every), Decimal(0))))
    _totals(ts, every, "90", "AA")
    for p in providers:
        provider_hl = levels.add(receiver_hl, "19", "1")
        ts.add("NM1", "85", "2", p.provider_name, None, None, None, None, "XX", p.provider_npi)
        ts.add("TRN", "1", batch_reference)
        provider_total = sum((c.charge for c in p.claims), Decimal(0))
        ts.add("STC", Composite(("A1", "19")), None, "WQ", x12_amount(provider_total))
        _totals(ts, p.claims, "QA", "QC")
        for c in p.claims:
            levels.add(provider_hl, "PT")
            ts.add("NM1", "QC", "1", c.member_last, c.member_first, None, None, None, "MI", c.member_id)
            ts.add("TRN", "2", c.claim_id)
            _ack_stc(ts, c.status, processed, c.charge, not c.accepted)
            if c.accepted and c.payer_claim_control_number:
                ts.add("REF", "1K", c.payer_claim_control_number)
            dtp(ts, "472", c.service_date, c.service_date_end)
    return ts


def build_277(answers: list[StatusAnswer], *, reference: str, created: date) -> TransactionSet:
    """A 277 claim status response (005010X212) from one payer: payer > receiver > provider(s) >
    subscriber (> dependent), each claim's TRN echoing the inquiry's trace, then STC, REF*1K/EJ and the
    dates of service. The inquiries must be from one submitter to one payer (one 276 answered)."""
    if not answers:
        raise ValueError("a 277 answers at least one inquiry")
    first = answers[0].inquiry
    if any((a.inquiry.payer_id, a.inquiry.submitter_id) != (first.payer_id, first.submitter_id) for a in answers):
        raise ValueError("one 277 answers the inquiries of one submitter to one payer")
    ts = TransactionSet("277", REQUEST_IMPLEMENTATION)
    ts.add("BHT", "0010", "08", reference, d8(created), "1200", "DG")
    levels = Levels(ts)
    receiver_hl = levels.add(payer_level(ts, levels, first.payer_name, first.payer_id), "21", "1")
    ts.add("NM1", "41", "2", first.submitter_name, None, None, None, None, "46", first.submitter_id)
    by_provider: dict[tuple[str, str], list[StatusAnswer]] = {}
    for a in answers:
        by_provider.setdefault((a.inquiry.provider_npi, a.inquiry.provider_name), []).append(a)
    for (npi, name), items in by_provider.items():
        provider_hl = levels.add(receiver_hl, "19", "1")
        ts.add("NM1", "1P", "2", name, None, None, None, None, "XX", npi)
        for a in items:
            q, s = a.inquiry, a.status
            subscriber_hl = levels.add(provider_hl, "22", "1" if q.patient_last else "0")
            ts.add("NM1", "IL", "1", q.subscriber_last, q.subscriber_first, None, None, None, "MI", q.member_id)
            if q.patient_last:
                levels.add(subscriber_hl, "23")
                ts.add("NM1", "QC", "1", q.patient_last, q.patient_first)
            ts.add("TRN", "2", q.trace_number)
            ts.add(
                "STC",
                _status_code(s),
                d8(s.effective_date or created),
                None,
                x12_amount(s.charge if s.charge is not None else q.total_charge),
                x12_amount(s.paid) if s.paid is not None else None,
                None,
                None,
                d8(s.check_date) if s.check_date else None,
                s.check_number,
            )
            if a.payer_claim_control_number:
                ts.add("REF", "1K", a.payer_claim_control_number)
            ts.add("REF", "EJ", q.claim_id)
            dtp(ts, "472", q.service_date, q.service_date_end)
    return ts
