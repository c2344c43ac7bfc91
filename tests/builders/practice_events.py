"""A tenant's practice profile as claims announces it (``PracticeChangedV1``): its statement header and
clearinghouse connections."""

from __future__ import annotations

from datetime import date

from rcm_shared.payloads.claims import ClearinghouseConnection, PracticeAddress, PracticeChangedV1, PracticeProvider


def practice_changed(
    tenant: str,
    version: int = 1,
    *,
    name: str = "Valley Family Clinic",
    line1: str = "100 Main St",
    city: str = "Springfield",
    state: str = "IL",
    postal_code: str = "62701",
    phone: str = "(217) 555-0100",
    pay_online: str | None = "https://pay.valleyclinic.example",
    pay_by_mail: str | None = "",  # "": the practice's PO Box 100 in its city
    connections: tuple[tuple[str, str], ...] = (),  # (submitter_id, receiver_id) of each
) -> PracticeChangedV1:
    return PracticeChangedV1(
        tenant_id=tenant,
        version=version,
        effective_from=date(2026, 1, 1),  # when the profile took effect: any date, compared with nothing
        legal_name=f"{name} LLC",
        statement_name=name,
        statement_address=PracticeAddress(line1=line1, city=city, state=state, postal_code=postal_code),
        statement_phone=phone,
        pay_online=pay_online,
        pay_by_mail=f"{name}, PO Box 100, {city}, {state} {postal_code}" if pay_by_mail == "" else pay_by_mail,
        billing_provider=PracticeProvider(npi="1234567893", name=name.upper()),
        connections=[
            ClearinghouseConnection(name=f"ch{i}", submitter_id=s, receiver_id=r)
            for i, (s, r) in enumerate(connections, 1)
        ],
    )
