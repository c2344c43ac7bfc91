"""The claims service's API, asked for the mailing address of patient accounts: claims owns the patients'
demographics, and its events carry none (by policy), so statements ask for them when they are printed.

An account's newest claims are read (``GET /v1/claims/{id}``, scope ``claims:read``) until one carries an
address (``domain.mailing``). The request goes on behalf of the caller who runs the statements: its bearer
token is passed on (a token names one organization, so the caller's own is the one that may read this
tenant's claims), with the tenant in ``X-Tenant-ID`` (all claims checks it against the token, or takes it
with authentication off in development). A refusal or an outage is a reason, never an error: the statements
are produced, flagged not mailable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx

from remittance.domain.mailing import Mailing, mailing_of

CONCURRENCY = 8  # requests in flight to the claims API during one run


class AddressBook(Protocol):
    async def mailings(self, tenant: str, claims: Mapping[str, Sequence[str]]) -> dict[str, Mailing]:
        """Each account's mailing address, from its claims (newest first)."""
        ...


@dataclass
class NoAddressBook:
    """No claims API configured: every statement is produced, not mailable."""

    reason: str = "no claims API is configured to give the patient's mailing address (REMITTANCE_CLAIMS_URL)"

    async def mailings(self, tenant: str, claims: Mapping[str, Sequence[str]]) -> dict[str, Mailing]:
        return {account: Mailing(None, self.reason) for account in claims}


class _Refused(Exception):
    """The claims API will not answer this caller at all (403), or does not accept its token (401): no use
    asking for the other accounts."""


@dataclass
class ClaimsApiAddressBook:
    base_url: str
    authorization: str | None = None  # the caller's "Bearer ..." header, passed on
    timeout: float = 5.0
    transport: httpx.AsyncBaseTransport | None = None  # tests plug a transport in; production uses the network

    async def mailings(self, tenant: str, claims: Mapping[str, Sequence[str]]) -> dict[str, Mailing]:
        headers = {"X-Tenant-ID": tenant, "Accept": "application/json"}
        if self.authorization:
            headers["Authorization"] = self.authorization
        gate = asyncio.Semaphore(CONCURRENCY)
        out: dict[str, Mailing] = {}
        refused: list[str] = []
        async with httpx.AsyncClient(
            base_url=self.base_url.rstrip("/"), headers=headers, timeout=self.timeout, transport=self.transport
        ) as http:

            async def one(account: str, claim_ids: Sequence[str]) -> None:
                async with gate:
                    if refused:  # the API refuses this caller: the other accounts' answers would be the same
                        return
                    try:
                        out[account] = await self._mailing(http, claim_ids)
                    except _Refused as exc:
                        refused.append(str(exc))

            await asyncio.gather(*(one(account, claim_ids) for account, claim_ids in claims.items()))
        if refused:
            return {account: Mailing(None, refused[0]) for account in claims}
        return out

    async def _mailing(self, http: httpx.AsyncClient, claim_ids: Sequence[str]) -> Mailing:
        if not claim_ids:
            return Mailing(None, "the account has no claim to take the address from")
        for claim_id in claim_ids:
            try:
                response = await http.get(f"/v1/claims/{claim_id}")
            except httpx.HTTPError as exc:
                return Mailing(None, f"the claims API could not be reached ({type(exc).__name__})")
            if response.status_code == 401:  # no scope would help: claims does not trust the token
                raise _Refused(
                    "the claims API did not accept the forwarded token (401): its authentication (audience, "
                    "issuer) does not trust the tokens this service's callers present"
                    if self.authorization
                    else "the claims API requires a token (401), and this request carried none to pass on"
                )
            if response.status_code == 403:
                raise _Refused(
                    "the claims API refused to give addresses (403): the statements' caller needs the claims:read scope"
                )
            if response.status_code == 404:
                continue
            if response.status_code != 200:
                return Mailing(None, f"the claims API answered {response.status_code}")
            try:
                document = response.json().get("document") or {}
            except ValueError:
                return Mailing(None, "the claims API answered something that is not JSON")
            found = mailing_of(document)
            if found is not None:
                return Mailing(found)
        return Mailing(None, "no mailing address on the patient's claims")
