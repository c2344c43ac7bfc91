"""What the HL7 v2 listener keeps: the messages handled, registered patients and their coverages, visits and
their charges."""

from __future__ import annotations

from rcm_shared.bus.tables import UtcDateTime
from sqlalchemy import JSON, BigInteger, Column, Date, Index, Integer, String, Table, Text, UniqueConstraint

from claims.models.base import metadata

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
