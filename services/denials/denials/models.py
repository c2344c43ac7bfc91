"""Tables of the denials service (its own SQLite file, or its own PostgreSQL schema 'denials')."""

from __future__ import annotations

from rcm_shared.audit import audit_table
from rcm_shared.bus.tables import BigId, UtcDateTime, bus_tables
from rcm_shared.db import make_metadata
from sqlalchemy import JSON, BigInteger, Column, Date, Index, Integer, String, Table, Text, UniqueConstraint

metadata = make_metadata()
bus = bus_tables(metadata)
audit = audit_table(metadata)  # the tamper-evident trail of every request (rcm_shared.audit)

denial = Table(
    "denial",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("claim_id", String(64), nullable=False),
    Column("line_number", Integer, nullable=False),  # 0: the whole claim
    Column("source_id", String(64), nullable=False),  # remittance id, or the 277CA/claims event id
    Column("payer_id", String(80), nullable=False),
    Column("payer_claim_control_number", String(80), nullable=True),
    Column("category", String(32), nullable=False),
    Column("root_cause", Text, nullable=False),
    Column("avoidable", String(8), nullable=False),
    Column("action", String(32), nullable=False),
    Column("carcs", JSON, nullable=False),
    Column("rarcs", JSON, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("assignee", String(120), nullable=True),
    Column("deadline", Date, nullable=True),
    Column("deadline_notified", Integer, nullable=False),
    Column("replacement_claim_id", String(64), nullable=True),
    Column("recovered_cents", BigInteger, nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("resolved_at", UtcDateTime(), nullable=True),
    UniqueConstraint("tenant_id", "claim_id", "line_number", "source_id"),
    Index("ix_denial_tenant_status", "tenant_id", "status"),
    Index("ix_denial_tenant_replacement", "tenant_id", "replacement_claim_id"),
    Index("ix_denial_deadline_watch", "deadline_notified", "status", "deadline"),  # the deadline watch
)

denial_event = Table(
    "denial_event",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("denial_id", String(36), nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("note", Text, nullable=True),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_denial_event_denial", "denial_id"),
)

appeal = Table(
    "appeal",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("denial_id", String(36), nullable=False),
    Column("letter_text", Text, nullable=False),
    Column("letter_pdf", Text, nullable=False),  # base64
    Column("outcome", String(20), nullable=True),  # recovered | upheld
    Column("created_at", UtcDateTime(), nullable=False),
    Column("answer_by", Date, nullable=True),  # when the payer's answer is due (the deadline watch's date)
    Index("ix_appeal_denial", "denial_id"),
)

# A write-off over the approval threshold waits here for a second person: the request, then the decision.
write_off_approval = Table(
    "write_off_approval",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("denial_id", String(36), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("note", Text, nullable=False),
    Column("requested_by", String(120), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("decided_by", String(120), nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("outcome", String(20), nullable=True),  # None: pending | approved | rejected
    Index("ix_write_off_approval_denial", "tenant_id", "denial_id"),
)

adjudication_seen = Table(
    "adjudication_seen",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("claim_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("denied", Integer, nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    Column("seen_on", Date, nullable=False),
    # What a payment recovers, kept so a replacement claim linked after its own adjudication (the claims and
    # remittance topics are not ordered against each other) still recovers the denial it answers.
    Column("remittance_id", String(64), nullable=True),
    Column("patient_responsibility_cents", BigInteger, nullable=True),
    Column("line_paid", JSON, nullable=True),  # [[line number, paid cents], ...]
    Column("recovers", Integer, nullable=False, server_default="0"),
    Index("ix_adjudication_seen_tenant_day", "tenant_id", "seen_on"),
    Index("ix_adjudication_seen_tenant_claim", "tenant_id", "claim_id"),
)
