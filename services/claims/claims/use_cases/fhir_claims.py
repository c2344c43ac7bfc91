"""The FHIR API's use cases: a claim submitted (`Claim/$submit`) through the same charge entry as
`POST /v1/claims`, once per Claim.identifier; and the reads its Claim, ClaimResponse and Patient resources
are built from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rcm_shared.errors import Conflict, Invalid, NotFound
from rcm_shared.unit import Unit

from claims.domain.encounter import ClaimCreate
from claims.domain.scrubber import ScrubContext
from claims.repository import ClaimsRepository
from claims.repository.fhir import ClaimQuery, FhirRepository, PatientQuery, Tokens
from claims.use_cases.charge_entry import create_claim

__all__ = [
    "ClaimQuery",
    "IdentifierConflict",
    "PatientAccount",
    "PatientQuery",
    "StoredClaim",
    "Submission",
    "Tokens",
    "patient_account",
    "search_claims",
    "search_patients",
    "stored_claim",
    "submit",
]


@dataclass(frozen=True)
class Submission:
    """A submitted claim read into charge entry's command, with what the command does not hold: the
    claim's identifiers (system, value), its patient's MRNs, and the total the client says it comes to."""

    claim: ClaimCreate
    identifiers: tuple[tuple[str, str], ...] = ()
    patient_identifiers: tuple[tuple[str, str], ...] = ()
    total_cents: int | None = None
    total_at: str = "Claim.total"  # where the total was read from, for the problem when it is not the claim's

    def digest(self) -> str:
        """The command's fingerprint: an identifier sent again with another command is a conflict."""
        text = json.dumps(self.claim.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class StoredClaim:
    """A claim row with the identifiers clients gave it."""

    row: Any
    identifiers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def document(self) -> ClaimCreate:
        return ClaimCreate.model_validate(self.row.document)


@dataclass(frozen=True)
class PatientAccount:
    """A patient account: when it was opened, its latest claim (whose document holds the demographics last
    billed) and the identifiers given for it."""

    account: str
    opened: datetime
    latest: Any
    identifiers: list[tuple[str, str]]

    @property
    def seen(self) -> datetime:
        return self.latest.created_at  # type: ignore[no-any-return]

    @property
    def document(self) -> ClaimCreate:
        return ClaimCreate.model_validate(self.latest.document)


class IdentifierConflict(Conflict):
    """A Claim.identifier that names a claim made from another request."""

    default_title = "Identifier conflict"


async def submit(unit: Unit, submission: Submission, ctx: ScrubContext) -> tuple[StoredClaim, bool]:
    """Charge entry for a submitted claim (``create_claim``, as ``POST /v1/claims``), or the claim an
    identifier of it made before (False: nothing was entered again). An identifier that made a claim from
    another command, or identifiers naming two claims, are an IdentifierConflict; a total that is not the
    claim's (after the charge master priced its lines) is Invalid, and nothing is stored."""
    fhir = FhirRepository(unit)
    digest = submission.digest()
    known = await fhir.claims_identified(submission.identifiers)
    if known:
        made = {row.claim_id for row in known}
        if len(made) > 1:
            raise IdentifierConflict(f"the claim's identifiers name different claims: {', '.join(sorted(made))}")
        if any(row.request_digest != digest for row in known):
            (claim_id,) = made
            raise IdentifierConflict(
                f"identifier {known[0].system}|{known[0].value} made claim {claim_id} from another claim: edit that "
                "one (PUT /v1/claims/{id}) or send this one under a new identifier",
                claim_id=claim_id,
            )
        return await stored_claim(unit, made.pop()), False
    claim_id = await create_claim(unit, submission.claim, ctx)
    row = await ClaimsRepository(unit).get(claim_id)
    if submission.total_cents is not None and submission.total_cents != row.charge_cents:
        raise Invalid(
            f"the total {submission.total_cents / 100:.2f} is not the sum of the items' charges "
            f"({row.charge_cents / 100:.2f})",
            errors=[{"field": submission.total_at, "message": "not the sum of the items' charges"}],
        )
    if not await fhir.identify_claim(claim_id, submission.identifiers, digest):
        raise IdentifierConflict("a claim with the same identifier was submitted at the same time: send it again")
    if row.patient_account and submission.patient_identifiers:
        await fhir.identify_patient(row.patient_account, submission.patient_identifiers)
    return StoredClaim(row, list(submission.identifiers)), True


async def stored_claim(unit: Unit, claim_id: str) -> StoredClaim:
    row = await ClaimsRepository(unit).get(claim_id)
    identifiers = await FhirRepository(unit).claim_identifiers([claim_id])
    return StoredClaim(row, identifiers.get(claim_id, []))


async def search_claims(unit: Unit, query: ClaimQuery) -> list[StoredClaim]:
    """The tenant's claims `query` asks for, newest first (created, id)."""
    fhir = FhirRepository(unit)
    rows = await fhir.claims(query)
    identifiers = await fhir.claim_identifiers([r.id for r in rows])
    return [StoredClaim(r, identifiers.get(r.id, [])) for r in rows]


async def patient_account(unit: Unit, account: str, account_system: str, mrn_system: str) -> PatientAccount:
    found = await search_patients(unit, PatientQuery(account_system, mrn_system, limit=1, accounts={account}))
    if not found:
        raise NotFound(f"no patient account {account}")
    return found[0]


async def search_patients(unit: Unit, query: PatientQuery) -> list[PatientAccount]:
    """The patient accounts `query` asks for, newest account first, each with its latest claim."""
    fhir = FhirRepository(unit)
    rows = await fhir.patients(query)
    identifiers = await fhir.patient_identifiers([r.patient_account for r in rows], query.mrn_system)
    return [PatientAccount(r.patient_account, r.opened, r, identifiers.get(r.patient_account, [])) for r in rows]
