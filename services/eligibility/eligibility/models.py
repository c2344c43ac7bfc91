"""Tables of the eligibility service (its own SQLite file, or its own PostgreSQL schema 'eligibility')."""

from __future__ import annotations

from rcm_shared.audit import audit_table
from rcm_shared.bus.tables import UtcDateTime, bus_tables
from rcm_shared.db import make_metadata
from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, Index, Integer, String, Table, Text

metadata = make_metadata()
bus = bus_tables(metadata)
audit = audit_table(metadata)  # the tamper-evident trail of every request (rcm_shared.audit)

eligibility_check = Table(
    "eligibility_check",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("member_id", String(80), nullable=False),
    Column("provider_npi", String(10), nullable=False),
    Column("service_date", Date, nullable=False),
    Column("service_types", String(200), nullable=False),  # space-separated, sorted
    Column("status", String(16), nullable=False),  # active | inactive | error
    Column("source", String(20), nullable=False),  # the adapter that answered, "cache" or "ingested"
    Column("request", JSON, nullable=False),  # as received (PHI: stays in this service)
    Column("normalized", JSON, nullable=False),
    Column("x12_270", Text, nullable=True),
    Column("x12_271", Text, nullable=False),
    Column("reused_check_id", String(36), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    # A check asked through the FHIR API: the Patient id its request referenced literally (the claims service's
    # patient account; None for a contained patient, a REST or an ingested check), and what the request said that
    # the inquiry does not hold (its purposes, the patient's relationship to the subscriber).
    Column("patient_id", String(64), nullable=True),
    Column("fhir_request", JSON(none_as_null=True), nullable=True),
    # whom it is about (domain.inquiry.asked_for): a digest of the dependent, else the subscriber; "" a 271
    # naming no member, "?" a row older than the column: keys no question has
    Column("asked_for", String(32), nullable=False, server_default=""),
    Index("ix_eligibility_check_member", "tenant_id", "payer_id", "member_id", "created_at"),
    Index("ix_eligibility_check_created", "tenant_id", "created_at", "id"),
    Index("ix_eligibility_check_patient", "tenant_id", "patient_id", "created_at"),
)

control_number = Table(
    "control_number",
    metadata,
    Column("kind", String(8), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

eligibility_batch = Table(
    "eligibility_batch",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # running | done
    Column("total", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
)

eligibility_batch_item = Table(
    "eligibility_batch_item",
    metadata,
    Column("batch_id", String(36), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("payer_id", String(80), nullable=False),
    Column("request", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending | done | failed
    Column("check_id", String(36), nullable=True),
    Column("error", Text, nullable=True),
)

# Each tenant's practice as the claims service announces it (``practice.changed``): the billing provider its 270s
# name when the request names none. One row per version received, newer versions only; the version in effect on a
# check's date of service is the one used.
practice_profile = Table(
    "practice_profile",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("effective_from", Date, nullable=False),
    Column("provider_npi", String(10), nullable=False),
    Column("provider_name", String(60), nullable=False),
    Column("provider_first_name", String(35), nullable=True),
    Column("provider_is_person", Boolean, nullable=False),
    Column("event_id", String(64), nullable=False),  # the practice.changed event that brought it
    Column("received_at", UtcDateTime(), nullable=False),
)
