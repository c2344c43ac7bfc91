"""The X12 documents of a check: the 270 built from the caller's inquiry and the provider asking, and the answer
read from the 271."""

from __future__ import annotations

from datetime import UTC, datetime

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.sets.x270 import EligibilityResponse, Inquiry, Member, build_270, read_271
from rcm_shared.x12.writer import MemoryControlNumbers, writer_for

from eligibility.config import EligibilitySettings
from eligibility.domain.inquiry import CheckCreate, Provider


def render_270(
    settings: EligibilitySettings, body: CheckCreate, provider: Provider, trace: str, numbers: dict[str, int]
) -> str:
    """The 270 interchange of the inquiry asked by ``provider`` (loop 2100B), under the control numbers drawn
    for it (ISA, GS, ST)."""
    inquiry = Inquiry(
        payer_name=body.payer_name.upper(),
        payer_id=body.payer_id,
        provider_name=provider.name.upper(),
        provider_npi=provider.npi,
        subscriber=Member(
            body.subscriber.last_name.upper(),
            body.subscriber.first_name.upper(),
            member_id=body.subscriber.member_id,
            birth_date=body.subscriber.birth_date,
            sex=body.subscriber.sex,
            references=[("6P", body.subscriber.group_number)] if body.subscriber.group_number else [],
        ),
        trace_number=trace,
        trace_originator="9" + settings.submitter_id[:9].ljust(9, "0"),
        service_date=body.service_date,
        service_date_end=body.service_date_end,
        service_types=body.service_types,
        dependent=Member(
            body.dependent.last_name.upper(),
            body.dependent.first_name.upper(),
            birth_date=body.dependent.birth_date,
            sex=body.dependent.sex,
        )
        if body.dependent
        else None,
        provider_is_person=provider.is_person,
        provider_first=provider.first_name.upper() if provider.first_name else None,
    )
    ts = build_270([inquiry], reference=trace[:30], created=datetime.now(UTC).date())
    controls = MemoryControlNumbers({kind: value - 1 for kind, value in numbers.items()})
    writer = writer_for(
        ts,
        sender=settings.submitter_id,
        receiver=settings.receiver_id,
        numbers=controls,
        usage=settings.usage_indicator,
    )
    return writer.render([ts])


def answers(x12_271: str) -> list[EligibilityResponse]:
    """Every answer of a 271 (a subscriber's or a dependent's)."""
    return list(read_271(x12_271.encode(), lenient_envelope=True))


def pick(responses: list[EligibilityResponse], member_id: str) -> EligibilityResponse:
    """The answer about the member asked for (else the first)."""
    for r in responses:
        if (r.subscriber and r.subscriber.member_id == member_id) or r.subscriber is None:
            return r
    if responses:
        return responses[0]
    raise X12Error("the 271 answers no inquiry (no information source or subscriber loop)", code="structure")
