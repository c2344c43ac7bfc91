"""Tables of the claims service (its own SQLite file, or its own PostgreSQL schema 'claims'), by what they
hold: the claims (``claims``), the practice master data (``practice``), what the HL7 listener keeps (``hl7``),
all on one MetaData (``base``) that the migrations are compared with."""

from claims.models.base import audit, bus, metadata
from claims.models.claims import (
    claim,
    claim_identifier,
    claim_status_record,
    claim_transition,
    control_number,
    denial_move,
    eligibility_snapshot,
    patient_account,
    patient_identifier,
    submission,
)
from claims.models.hl7 import hl7_charge, hl7_coverage, hl7_encounter, hl7_message, hl7_patient
from claims.models.practice import (
    charge_master_item,
    payer_enrollment,
    practice_connection,
    practice_profile,
    practice_provider,
    service_facility,
)

__all__ = [
    "audit",
    "bus",
    "charge_master_item",
    "claim",
    "claim_identifier",
    "claim_status_record",
    "claim_transition",
    "control_number",
    "denial_move",
    "eligibility_snapshot",
    "hl7_charge",
    "hl7_coverage",
    "hl7_encounter",
    "hl7_message",
    "hl7_patient",
    "metadata",
    "patient_account",
    "patient_identifier",
    "payer_enrollment",
    "practice_connection",
    "practice_profile",
    "practice_provider",
    "service_facility",
    "submission",
]
