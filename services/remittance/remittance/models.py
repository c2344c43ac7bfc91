"""Tables of the remittance service (its own SQLite file, or its own PostgreSQL schema 'remittance').

Money is integer cents. Every row carries its tenant (organization); every query filters on it.
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
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = make_metadata()
bus = bus_tables(metadata)
audit = audit_table(metadata)  # the tamper-evident trail of every request (rcm_shared.audit)

# Written out (not a bound value) where a query should use the index below: a planner uses a partial index
# only for a query whose own condition implies the index's.
NOT_SUPERSEDED = text("status <> 'superseded'")

remittance = Table(
    "remittance",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # posted | held | rejected | superseded
    Column("hold_reasons", JSON, nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("payer_name", String(120), nullable=False),
    Column("payee_id", String(80), nullable=False),
    Column("payee_name", String(120), nullable=False),
    Column("trace_number", String(80), nullable=False),
    Column("trace_originator", String(80), nullable=False),
    Column("payment_method", String(8), nullable=False),
    Column("handling_code", String(4), nullable=False),
    Column("credit_debit", String(2), nullable=False),
    Column("total_paid_cents", BigInteger, nullable=False),
    Column("plb_total_cents", BigInteger, nullable=False),
    Column("payment_date", Date, nullable=True),
    Column("production_date", Date, nullable=True),
    Column("sender_id", String(30), nullable=False),
    Column("interchange_control", String(9), nullable=False),
    Column("transaction_control", String(30), nullable=False),
    Column("claim_count", Integer, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("posted_at", UtcDateTime(), nullable=True),
    # a held set: BPR02 minus what its claims and PLBs add up to (CLP04 - PLB), what the operator weighs
    Column("imbalance_cents", BigInteger, nullable=True),
    # the operator's decision on a held set (released | rejected): who, when, why
    Column("review_decision", String(16), nullable=True),
    Column("reviewed_by", String(120), nullable=True),
    Column("reviewed_at", UtcDateTime(), nullable=True),
    Column("review_note", Text, nullable=True),
    Column("superseded_by", String(36), nullable=True),  # the payer's corrected 835 with the same TRN02
    Column("payee_id_qualifier", String(4), nullable=True),  # N1*PE03: XX an NPI, FI a tax id (None: before 0015)
    UniqueConstraint("tenant_id", "sender_id", "interchange_control", "transaction_control"),
    # One payment per payer trace number; a held (or rejected) set the payer corrected steps aside for it.
    Index(
        "ux_remittance_tenant_payer_trace",
        "tenant_id",
        "payer_id",
        "trace_number",
        unique=True,
        sqlite_where=NOT_SUPERSEDED,
        postgresql_where=NOT_SUPERSEDED,
    ),
    Index("ix_remittance_tenant_payment_date", "tenant_id", "payment_date"),
    Index("ix_remittance_tenant_received", "tenant_id", "received_at", "id"),  # the list's order
    Index("ix_remittance_tenant_status_received", "tenant_id", "status", "received_at", "id"),  # the held queue
    Index("ix_remittance_tenant_posted", "tenant_id", "posted_at", "id"),  # PaymentReconciliation's order
)

# Claim and line payments get client-side UUIDs: bulk inserts need no RETURNING round trip per row.
claim_payment = Table(
    "claim_payment",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("remittance_id", String(36), ForeignKey("remittance.id"), nullable=False),
    Column("claim_id", String(64), nullable=False),  # CLP01: the patient control number we sent in CLM01
    Column("payer_claim_control_number", String(80), nullable=False),
    Column("status_code", String(4), nullable=False),
    Column("charge_cents", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    Column("patient_responsibility_cents", BigInteger, nullable=False),
    Column("filing_indicator", String(4), nullable=False),
    Column("frequency", String(2), nullable=True),
    Column("remarks", String(200), nullable=False),  # RARC codes, space-separated (the CAS detail is in the ledger)
    Column("matched", Boolean, nullable=False),  # a billed claim with this id is known
    Column("reversal_of", String(36), nullable=True),  # the claim_payment this reversal cancels
    Column("reversed_by", String(36), nullable=True),
    Column("posted_at", UtcDateTime(), nullable=False),
    # The patient's name from NM1*QC, kept only while the claim is unknown here (the 835 came before the
    # claim's own events): the patient account it is posted to once known needs it. Cleared then.
    Column("held_patient_last_name", String(80), nullable=True),
    Column("held_patient_first_name", String(80), nullable=True),
    # A crossover (CLP02 19-21, NM1*TT): the payer forwarded the claim to this carrier, whose own 835 says what
    # the patient owes. State of a forwarded payment: pending -> answered (that 835 posted), or released (it
    # was late: the patient's share of this payment became due) -> answered. On the answer: crossover_of.
    Column("crossover_payer_id", String(80), nullable=True),
    Column("crossover_payer_name", String(60), nullable=True),
    Column("crossover_state", String(10), nullable=True),
    Column("crossover_of", String(36), nullable=True),  # the forwarded claim_payment this one answers
    # when what its ExplanationOfBenefit shows last changed: posted, paired with a reversal, its patient known
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_claim_payment_tenant_claim", "tenant_id", "claim_id"),
    Index("ix_claim_payment_tenant_updated", "tenant_id", "updated_at", "id"),  # its _lastUpdated
    Index("ix_claim_payment_crossover", "crossover_state", "tenant_id"),
    Index("ix_claim_payment_tenant_pccn", "tenant_id", "payer_claim_control_number"),
    Index("ix_claim_payment_remittance", "remittance_id"),
)

service_payment = Table(
    "service_payment",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("claim_payment_id", String(36), nullable=False),
    Column("line_number", Integer, nullable=False),
    Column("line_control_number", String(50), nullable=True),
    Column("procedure_qualifier", String(4), nullable=True),  # SVC01-1: HC (CPT/HCPCS), NU (revenue), N4 (NDC)
    Column("procedure_code", String(48), nullable=False),
    Column("modifiers", String(12), nullable=False),  # space-separated
    Column("revenue_code", String(48), nullable=True),  # SVC04: an institutional line's revenue code
    Column("original_procedure_code", String(48), nullable=True),  # SVC06: the code as billed, if restated
    Column("charge_cents", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    Column("allowed_cents", BigInteger, nullable=True),
    Column("units", String(20), nullable=True),
    Column("original_units", String(20), nullable=True),  # SVC07: the units as billed, if the payer paid fewer
    Column("service_date", Date, nullable=True),
    Column("billed_line_id", BigInteger, nullable=True),
    Column("match_method", String(24), nullable=False),  # line_control_number | code_date_units | none
    Column("remarks", String(200), nullable=True),  # the line's RARC codes (LQ*HE), space-separated
    Index("ix_service_payment_claim", "claim_payment_id"),
)

ledger_entry = Table(
    "ledger_entry",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("remittance_id", String(36), nullable=False),
    Column("claim_payment_id", String(36), nullable=True),
    Column("service_payment_id", String(36), nullable=True),
    Column("claim_id", String(64), nullable=True),
    Column("entry_type", String(24), nullable=False),
    Column("group_code", String(4), nullable=True),
    Column("reason_code", String(12), nullable=True),
    Column("amount_cents", BigInteger, nullable=False),  # posted when its remittance was (remittance.posted_at)
    Index("ix_ledger_entry_tenant_claim", "tenant_id", "claim_id"),
    Index("ix_ledger_entry_remittance", "remittance_id"),
    Index("ix_ledger_entry_claim_payment", "claim_payment_id"),
)

provider_adjustment = Table(
    "provider_adjustment",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("remittance_id", String(36), nullable=False),
    Column("provider_id", String(80), nullable=False),
    Column("fiscal_period_end", Date, nullable=True),
    Column("reason", String(8), nullable=False),
    Column("reference", String(80), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("claim_id", String(64), nullable=True),  # linked when the reference names a known claim
    Index("ix_provider_adjustment_remittance", "remittance_id"),
)

billed_claim = Table(
    "billed_claim",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("claim_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=True),
    Column("charge_cents", BigInteger, nullable=False),
    Column("state", String(24), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # for the patient side: whose claim, which payer comes next (COB), the claim before it (a secondary's
    # primary, a replacement's original) and the first date of service
    Column("patient_account", String(20), nullable=True),
    Column("next_payer_id", String(80), nullable=True),
    Column("original_claim_id", String(64), nullable=True),
    Column("service_from", Date, nullable=True),
    Column("provider_name", Text, nullable=True),  # the rendering (else billing) provider, as statements print it
    UniqueConstraint("tenant_id", "claim_id"),
    Index("ix_billed_claim_tenant_account", "tenant_id", "patient_account"),  # an account's claims
)

billed_line = Table(
    "billed_line",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("billed_claim_id", BigInteger, nullable=False),
    Column("line_control_number", String(50), nullable=True),
    Column("procedure_code", String(48), nullable=False),
    Column("service_date", Date, nullable=True),
    Column("units", String(20), nullable=True),
    Column("charge_cents", BigInteger, nullable=False),
    Column("description", Text, nullable=True),  # the practice's words for the service (its charge master)
    Index("ix_billed_line_claim", "billed_claim_id"),
)

review_item = Table(
    "review_item",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("remittance_id", String(36), nullable=True),
    # unbalanced | unmatched_claim | unmatched_line | unpaired_reversal | unposted_patient_transfer |
    # quarantined_file (an inbound 835 no organization's connection claims: the default tenant's to look at)
    Column("kind", String(32), nullable=False),
    Column("claim_id", String(64), nullable=True),
    Column("detail", Text, nullable=False),
    Column("status", String(16), nullable=False),  # open | resolved
    Column("note", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("resolved_at", UtcDateTime(), nullable=True),
    Index("ix_review_item_tenant_status", "tenant_id", "status"),
    Index("ix_review_item_tenant_claim", "tenant_id", "claim_id"),
)

# The X12 of a held transaction set (its own ISA/GS/ST..SE/GE/IEA, zlib): nothing of it is posted while
# held, so releasing it posts it from here, as the payer sent it.
held_set = Table(
    "held_set",
    metadata,
    Column("remittance_id", String(36), ForeignKey("remittance.id"), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("x12_zlib", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

deposit = Table(
    "deposit",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("trace_number", String(80), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("deposit_date", Date, nullable=False),
    Column("remittance_id", String(36), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "trace_number"),
)


# What the denials work moved out of insurance A/R, one row per denial and kind (the ledgers' idempotency):
# a transfer to the patient's account (posted to patient_ledger too), or a write-off adjustment.
denial_posting = Table(
    "denial_posting",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("denial_id", String(36), nullable=False),
    Column("claim_id", String(64), nullable=False),
    Column("line_number", Integer, nullable=True),  # None: the whole claim
    Column("kind", String(20), nullable=False),  # patient_transfer | write_off
    Column("amount_cents", BigInteger, nullable=False),
    Column("account_id", String(20), nullable=True),  # the patient account a transfer was posted to
    Column("posted_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "denial_id", "kind"),
    Index("ix_denial_posting_tenant_claim", "tenant_id", "claim_id"),
)


# -- the patient side: what patients owe once every payer on a claim is done, and what they paid ----------
patient_account = Table(
    "patient_account",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("account_id", String(20), primary_key=True),  # numbered by the claims service
    Column("last_name", String(80), nullable=False),  # from the 835 (NM1*QC): the name statements carry
    Column("first_name", String(80), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)

patient_ledger = Table(
    "patient_ledger",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("account_id", String(20), nullable=False),
    Column("claim_id", String(64), nullable=True),  # None: on account (an unapplied credit, a refund)
    # deductible | coinsurance | copay | patient_other (owed: +) | payment (-) | refund (+)
    Column("entry_type", String(24), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("remittance_id", String(36), nullable=True),
    Column("claim_payment_id", String(36), nullable=True),
    Column("payment_id", String(36), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_patient_ledger_account", "tenant_id", "account_id"),
)

patient_payment = Table(
    "patient_payment",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("account_id", String(20), nullable=False),
    Column("kind", String(8), nullable=False),  # payment | refund
    Column("method", String(8), nullable=False),  # cash | card | check | ach
    Column("reference", String(80), nullable=True),  # card authorization, check number, ...
    Column("amount_cents", BigInteger, nullable=False),
    Column("received_on", Date, nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "idempotency_key"),
)

statement = Table(
    "statement",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("run_id", String(36), nullable=False),
    Column("account_id", String(20), nullable=False),
    Column("statement_date", Date, nullable=False),
    Column("amount_due_cents", BigInteger, nullable=False),
    Column("document", JSON, nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_statement_account", "tenant_id", "account_id"),
)

statement_run = Table(
    "statement_run",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("cycle_day", Integer, nullable=True),
    Column("statements", Integer, nullable=False),
    Column("amount_due_cents", BigInteger, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)


# -- each tenant's practice, as claims announces it (``claims.practice.changed``): every version it announced,
# from its ``effective_from`` (a statement prints the version in effect on its date) --
practice_profile = Table(
    "practice_profile",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("effective_from", Date, nullable=False),
    Column("legal_name", Text, nullable=False),
    Column("statement_name", Text, nullable=False),
    Column("statement_address", JSON, nullable=False),  # line1, line2, city, state, postal_code
    Column("statement_phone", Text, nullable=False),
    Column("pay_online", Text, nullable=True),
    Column("pay_by_mail", Text, nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_practice_profile_tenant_from", "tenant_id", "effective_from"),
)

# The clearinghouse connections of every version: an inbound interchange sent to ``submitter_id`` (ISA08) by
# ``receiver_id`` (ISA06) is the tenant's. A pair is one tenant's and stays its own when a later version drops
# it (an 835 for claims sent under it may come months later): rows are added, never deleted.
practice_connection = Table(
    "practice_connection",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("name", String(80), nullable=False),
    Column("submitter_id", String(80), nullable=False),
    Column("receiver_id", String(80), nullable=False),
    Index("ux_practice_connection_ids", "submitter_id", "receiver_id", unique=True),
)
