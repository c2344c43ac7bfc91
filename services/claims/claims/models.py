"""Tables of the claims service (its own SQLite file, or its own PostgreSQL schema 'claims').

Money is integer cents; the encounter as entered is kept as a JSON document (it holds PHI and never
leaves this service except in the 837 to the payer).
"""

from __future__ import annotations

from rcm_shared.audit import audit_table
from rcm_shared.bus.tables import BigId, UtcDateTime, bus_tables
from rcm_shared.db import make_metadata
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = make_metadata()
bus = bus_tables(metadata)
audit = audit_table(metadata)  # the tamper-evident trail of every request (rcm_shared.audit)

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

# The charge master: the practice's price and description of each code (CPT/HCPCS with its modifiers, or a
# revenue code), one row per version, numbered per code and modifiers. A new price is a new row from any date;
# on a date the newest version whose window holds it prices, and no price changes in place. Charge entry
# prices lines without a charge from it.
charge_master_item = Table(
    "charge_master_item",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("code", String(5), nullable=False),
    Column("modifiers", String(11), nullable=False),  # sorted, joined with ':'; '' when none
    Column("version", Integer, nullable=False),  # 1, 2, ... per code and modifiers
    Column("revenue_code", String(4), nullable=True),
    Column("description", Text, nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date, nullable=True),  # the last day in effect; open when null
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Index("ix_charge_master_item_lookup", "tenant_id", "code", "modifiers", "effective_from"),
    Index("ix_charge_master_item_version", "tenant_id", "code", "modifiers", "version", unique=True),
)

# The practice master data of each tenant (its organization, providers, facilities, payer enrollments), one
# row per version like the charge master: numbered per key, from any date; on a date the newest version whose
# window holds it applies. Nothing changes in place, and the rows are the history.

# The organization profile: its version number counts up per tenant; the billing providers, pay-to address,
# statement header and clearinghouse connections are one document, read and written whole.
practice_profile = Table(
    "practice_profile",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date, nullable=True),  # the last day in effect; open when null
    Column("legal_name", String(60), nullable=False),
    Column("document", JSON, nullable=False),  # domain.practice.to_document
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
)

# Which tenant each clearinghouse connection (our submitter id to the clearinghouse's receiver id) belongs
# to: inbound interchanges carry no tenant, only these ids. A pair is one tenant's for good once a profile
# version names it (a late 835 under a connection since dropped still finds its organization); the key
# keeps it from ever being another's.
practice_connection = Table(
    "practice_connection",
    metadata,
    Column("submitter_id", String(15), primary_key=True),
    Column("receiver_id", String(15), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("name", String(40), nullable=False),
    Column("version", Integer, nullable=False),  # the profile version that registered it
    Column("registered_at", UtcDateTime(), nullable=False),
    Index("ix_practice_connection_tenant", "tenant_id"),
)

# Rendering, referring and attending providers (the claim says which role a provider plays).
practice_provider = Table(
    "practice_provider",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("npi", String(10), nullable=False),
    Column("version", Integer, nullable=False),  # 1, 2, ... per NPI
    Column("name", String(60), nullable=False),  # last name (or organization)
    Column("first_name", String(35), nullable=True),
    Column("taxonomy", String(10), nullable=True),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Index("ix_practice_provider_version", "tenant_id", "npi", "version", unique=True),
)

# Service facilities (the 837's 2310C), known by the practice's own code or one assigned here.
service_facility = Table(
    "service_facility",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("facility_id", String(30), nullable=False),
    Column("version", Integer, nullable=False),  # 1, 2, ... per facility_id
    Column("name", String(60), nullable=False),
    Column("npi", String(10), nullable=True),
    Column("address_line1", String(55), nullable=False),
    Column("address_line2", String(55), nullable=True),
    Column("city", String(30), nullable=False),
    Column("state", String(2), nullable=False),
    Column("postal_code", String(9), nullable=False),
    Column("place_of_service", String(2), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Index("ix_service_facility_version", "tenant_id", "facility_id", "version", unique=True),
)

# The payers the practice bills: the payer's id at each clearinghouse connection, the claim filing
# indicator (SBR09), and whether ERA (835) and EFT enrollment is done.
payer_enrollment = Table(
    "payer_enrollment",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("payer_id", String(80), nullable=False),
    Column("version", Integer, nullable=False),  # 1, 2, ... per payer_id
    Column("name", String(60), nullable=False),
    Column("connection_payer_ids", JSON, nullable=False),  # connection name -> the payer's id there
    Column("claim_filing_indicator", String(2), nullable=False),
    Column("era_enrolled", Boolean, nullable=False),
    Column("eft_enrolled", Boolean, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Index("ix_payer_enrollment_version", "tenant_id", "payer_id", "version", unique=True),
)

# HL7 v2 (``claims.listener``). Every message handled, per sender (application and facility) and control id
# (MSH-10), written in the transaction that applied it: a message sent again gets the stored ACK, no effect.
hl7_message = Table(
    "hl7_message",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("sender", String(200), primary_key=True),  # MSH-3.1 ^ MSH-4.1
    Column("control_id", String(199), primary_key=True),
    Column("message_type", String(20), nullable=False),  # ADT^A04, DFT^P03
    Column("ack_code", String(2), nullable=False),  # AA | AE
    Column("ack", Text, nullable=False),  # the acknowledgment as sent
    Column("received_at", UtcDateTime(), nullable=False),
)

# The patients registered (ADT) by MRN (PID-3); ``merged_into``: an A40 merged it there.
hl7_patient = Table(
    "hl7_patient",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("mrn", String(80), primary_key=True),
    Column("person", JSON, nullable=False),  # domain.hl7.Person
    Column("guarantor", JSON, nullable=True),
    Column("merged_into", String(80), nullable=True),
    Column("control_id", String(199), nullable=False),  # the message that last changed it
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# A patient's coverages in IN1-1 order (1 primary); a message with IN1 segments replaces them all.
hl7_coverage = Table(
    "hl7_coverage",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("mrn", String(80), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("payer_id", String(80), nullable=False),
    Column("payer_name", String(60), nullable=True),
    Column("member_id", String(80), nullable=False),
    Column("group_number", String(50), nullable=True),
    Column("relationship", String(2), nullable=False),  # the 837's code: 18 self
    Column("insured", JSON, nullable=True),  # domain.hl7.Person; null when the patient is the insured
)

# A visit's charges (PV1-19) gathered until the hold ends (``due_on``) or a release; then a claim (``claim_id``).
hl7_encounter = Table(
    "hl7_encounter",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("visit_number", String(80), nullable=False),
    Column("mrn", String(80), nullable=False),
    Column("facility_id", String(50), nullable=True),  # PV1-3.4
    Column("state", String(10), nullable=False),  # open | released | pending (its claim to follow)
    Column("due_on", Date, nullable=True),  # the worker releases (or follows) it from this day
    Column("claim_id", String(20), nullable=True),  # the claim it became (its latest replacement)
    Column("problem", Text, nullable=True),  # why the last release did not make a claim
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("released_at", UtcDateTime(), nullable=True),
    UniqueConstraint("tenant_id", "visit_number"),
    Index("ix_hl7_encounter_due", "state", "due_on"),  # the worker's look for due encounters of every tenant
    Index("ix_hl7_encounter_patient", "tenant_id", "mrn", "state"),
)

# One FT1 charge (FT1-2 ``transaction_id`` once per visit); reversals take units back (``reversed_milli``).
# Units in thousandths; the amount sent for all its units (null: the charge master prices it).
hl7_charge = Table(
    "hl7_charge",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("encounter_id", String(36), nullable=False),
    Column("control_id", String(199), nullable=False),
    Column("set_id", Integer, nullable=False),
    Column("service_date", Date, nullable=False),
    Column("procedure_code", String(5), nullable=False),
    Column("modifiers", String(11), nullable=False),  # in the order sent, joined with ":"
    Column("transaction_code", String(80), nullable=False),
    Column("units_milli", BigInteger, nullable=False),
    Column("reversed_milli", BigInteger, nullable=False),
    Column("amount_cents", BigInteger, nullable=True),
    Column("diagnoses", JSON, nullable=False),
    Column("performing_npi", String(10), nullable=True),
    Column("ordering_npi", String(10), nullable=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("transaction_id", String(80), nullable=True),  # FT1-2
    Index("ix_hl7_charge_encounter", "tenant_id", "encounter_id"),
    Index("ix_hl7_charge_transaction", "tenant_id", "encounter_id", "transaction_id", unique=True),
)
