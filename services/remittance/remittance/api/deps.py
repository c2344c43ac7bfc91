"""Route dependencies of the remittance API besides the common ones (``rcm_shared.web``): where statements ask
for the patients' mailing addresses."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from remittance.adapters.claims_api import AddressBook, ClaimsApiAddressBook, NoAddressBook
from remittance.config import RemittanceSettings


async def address_book(request: Request) -> AddressBook:
    """The claims API, asked on behalf of this request's caller (its bearer token passed on)."""
    settings: RemittanceSettings = request.app.state.settings
    url = settings.claims_api_url()
    if not url:
        return NoAddressBook()
    return ClaimsApiAddressBook(url, request.headers.get("authorization"), timeout=settings.claims_timeout_s)


AddressBookDep = Annotated[AddressBook, Depends(address_book)]
