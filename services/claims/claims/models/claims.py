"""The claims and what hangs on them: transitions, submissions, control numbers, eligibility answers, status
records, patient accounts and the money denials moved.

Money is integer cents; the encounter as entered is kept as a JSON document (it holds PHI and never
leaves this service except in the 837 to the payer).
"""

from __future__ import annotations

from rcm_shared.bus.tables import BigId, UtcDateTime
from sqlalchemy import JSON, BigInteger, Column, Date, Index, Integer, String, Table, Text, UniqueConstraint

from claims.models.base import metadata

claim = Table(
    "claim",
    metadata,
    Column("id", String(20), primary_key=True),  # also CLM01, the patient control number (max 20 in X12)
    Column("tenant_id", String(64), nullable=False),
    Column("kind", String(1), nullable=False),  # P | I
    Column("state", String(20), nullable=False),
    Column("frequency", String(1), nullable=False),  # 1 original, 7 replacement, 8 void
    Column("original_claim_id", String(20), nullable=True),
    Column("payer_id", String(80), nullable=False),
    Column("member_id", String(80), nullable=False),
    Column("service_from", Date, nullable=False),
    Column("service_to", Date, nullable=False),
    Column("charge_cents", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    Column("patient_responsibility_cents", BigInteger, nullable=False),
    # contractual adjustments (CO-45 and the like) from the payers' 835s: what the provider may not collect
    Column("contractual_cents", BigInteger, nullable=False, server_default="0"),
    # what the denials work moved out of insurance A/R: billed to the patient, written off
    Column("patient_transfer_cents", BigInteger, nullable=False, server_default="0"),
    Column("written_off_cents", BigInteger, nullable=False, server_default="0"),
    Column("payer_claim_control_number", String(80), nullable=True),
    Column("duplicate_key", String(64), nullable=False),
    Column("document", JSON, nullable=False),  # the ClaimCreate as entered
    Column("edits", JSON, nullable=False),  # the last scrub
    Column("status_detail", JSON, nullable=False),  # last 999/277CA/277 findings
    Column("submission_id", String(36), nullable=True),
    Column("patient_account", String(20), nullable=True),  # the patient's account (patient_account.id)
    Column("next_payer_id", String(80), nullable=True),  # the payer billed after this one adjudicates (COB)
    # A crossover (835 CLP02 19-21, NM1*TT): the payer forwarded the claim to this carrier itself; no claim goes
    # to it from us. pending until the carrier's own 835 answers (answered), listed in follow-up when late.
    Column("crossover_payer_id", String(80), nullable=True),
    Column("crossover_payer_name", String(60), nullable=True),
    Column("crossover_state", String(10), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("submitted_at", UtcDateTime(), nullable=True),
    Column("adjudicated_at", UtcDateTime(), nullable=True),
    # the payment date (835 BPR16) of the remittance that first paid the claim: days to payment count to it
    Column("paid_on", Date, nullable=True),
    Index("ix_claim_tenant_state", "tenant_id", "state"),
    Index("ix_claim_tenant_duplicate", "tenant_id", "duplicate_key"),
    Index("ix_claim_tenant_member", "tenant_id", "payer_id", "member_id"),
    Index("ix_claim_tenant_submission", "tenant_id", "submission_id"),  # a 999 answers for a submission
    Index("ix_claim_tenant_created", "tenant_id", "created_at", "id"),  # the list's order
    Index(
        "ix_claim_crossover", "crossover_state", "tenant_id"
    ),  # crossovers waited on (state first: no tenant-wide reads)
    Index("ix_claim_tenant_original", "tenant_id", "original_claim_id"),  # an original's voids and replacements
    # room on each page for a row's later versions: updates that change no indexed column (a 999's status,
    # a restated payment's amounts) stay on the page with no new index entries (migration claims_0009)
    postgresql_with={"fillfactor": 70},
)

claim_transition = Table(
    "claim_transition",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("claim_id", String(20), nullable=False),
    Column("from_state", String(20), nullable=True),
    Column("to_state", String(20), nullable=False),
    Column("actor", String(120), nullable=False),  # user, or event:<type>:<id>
    Column("reason", Text, nullable=True),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_claim_transition_claim", "tenant_id", "claim_id"),
)

submission = Table(
    "submission",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("kind", String(1), nullable=False),
    Column("adapter", String(20), nullable=False),
    Column("interchange_control", String(9), nullable=False),
    Column("group_control", String(9), nullable=False),
    Column("transaction_control", String(9), nullable=False),
    Column("claim_count", Integer, nullable=False),
    Column("x12", Text, nullable=False),
    Column("status", String(12), nullable=False),  # pending | delivered (the worker retries pending ones)
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("destination", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    # until then the API request that recorded it is delivering it; NULL or past: the worker's to (re)try
    Column("deliver_after", UtcDateTime(), nullable=True),
    Index("ix_submission_tenant_controls", "tenant_id", "group_control", "transaction_control"),
    Index("ix_submission_status_created", "status", "created_at"),  # the worker's poll for pending ones
)

control_number = Table(
    "control_number",
    metadata,
    Column("kind", String(8), primary_key=True),  # ISA, GS, ST
    Column("value", BigInteger, nullable=False),
)

eligibility_snapshot = Table(
    "eligibility_snapshot",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("check_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("member_id", String(80), nullable=False),
    Column("status", String(16), nullable=False),
    Column("coverage_start", Date, nullable=True),
    Column("coverage_end", Date, nullable=True),
    Column("service_date", Date, nullable=True),
    Column("checked_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "check_id"),
    Index("ix_eligibility_snapshot_member", "tenant_id", "payer_id", "member_id"),
)

# Every acknowledgment and status answer a claim received (999, 277CA, 277) and every 276 inquiry sent
# for it, in order: the follow-up work list reads what is missing from here.
claim_status_record = Table(
    "claim_status_record",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("claim_id", String(20), nullable=False),
    Column("source", String(8), nullable=False),  # 999 | 277CA | 277 | 276 (an inquiry we sent) | 835 (unsent claim)
    Column("summary", Text, nullable=False),
    Column("codes", JSON, nullable=False),  # STC category:code[:entity] or 999 codes
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_claim_status_record_claim", "tenant_id", "claim_id"),
)

# One account per patient and organization, numbered here: claims and events carry the number, never the
# person. The key is the patient's normalized name and birth date (the subscriber when no patient is given).
patient_account = Table(
    "patient_account",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("match_key", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "match_key"),
)

# The money each denial's resolution moved out of the claim's insurance balance (billed to the patient,
# written off), once per denial: a resolution delivered again adds nothing. A move stands on the payer's
# adjudication the denial came from; the payer's later word on the claim (a payment, a reversal, a void
# or replacement) undoes it (``undone_at``).
denial_move = Table(
    "denial_move",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("denial_id", String(36), primary_key=True),
    Column("claim_id", String(20), nullable=False),
    Column("source_remittance_id", String(36), nullable=True),
    Column("patient_transfer_cents", BigInteger, nullable=False),
    Column("written_off_cents", BigInteger, nullable=False),
    Column("moved_at", UtcDateTime(), nullable=False),
    Column("undone_at", UtcDateTime(), nullable=True),
    Index("ix_denial_move_claim", "tenant_id", "claim_id"),
)

# The identifiers a FHIR client gave its Claim (Claim.identifier, system and value), each naming the claim it
# made: the same identifier sent again answers that claim, nothing is entered twice. ``request_digest`` is
# the charge-entry command the submission came to: the identifier sent with another one is a conflict.
claim_identifier = Table(
    "claim_identifier",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("system", String(255), primary_key=True),
    Column("value", String(255), primary_key=True),
    Column("claim_id", String(20), nullable=False),
    Column("request_digest", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_claim_identifier_claim", "tenant_id", "claim_id"),
)

# A patient account's identifiers given by others (the MRN of a FHIR claim's Patient): the account's Patient
# resource lists them and a search by one finds the account. The same MRN may name two accounts (a patient
# entered once under another spelling of the name).
patient_identifier = Table(
    "patient_identifier",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("system", String(255), primary_key=True),
    Column("value", String(255), primary_key=True),
    Column("patient_account", String(20), primary_key=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_patient_identifier_account", "tenant_id", "patient_account"),
)
