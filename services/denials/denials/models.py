"""Tables of the denials service (its own SQLite file, or its own PostgreSQL schema 'denials')."""

from __future__ import annotations

from rcm_shared.audit import audit_table
from rcm_shared.bus.tables import BigId, UtcDateTime, bus_tables
from rcm_shared.db import make_metadata
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

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

# -- payer contracts: a contract per payer (and plan, "" for all), changed only by adding a version ------------
contract = Table(
    "contract",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("plan", String(40), nullable=False),  # "": every plan of the payer
    Column("name", String(200), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(120), nullable=False),
    UniqueConstraint("tenant_id", "payer_id", "plan"),
)

# A version is never changed once written: on a date the newest version whose window holds it is in effect.
contract_version = Table(
    "contract_version",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("contract_id", String(36), nullable=False),
    Column("version", Integer, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date, nullable=True),
    Column("default_rule", String(24), nullable=False),  # none | percent_of_charges | percent_of_medicare
    Column("default_percent", String(16), nullable=False),  # a Decimal as text: "80" is 80 %
    Column("medicare_locality", String(12), nullable=True),
    Column("multiple_procedure", Integer, nullable=False),
    Column("bilateral_percent", String(16), nullable=False),
    Column("lesser_of_charge", Integer, nullable=False),
    Column("professional_component_percent", String(16), nullable=False),
    Column("source", String(20), nullable=False),  # api | import | adjustment
    Column("note", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(120), nullable=False),
    UniqueConstraint("contract_id", "version"),
    Index("ix_contract_version_tenant_contract", "tenant_id", "contract_id"),
)

contract_fee_line = Table(
    "contract_fee_line",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("version_id", String(36), nullable=False),
    Column("code", String(5), nullable=False),
    Column("modifier", String(2), nullable=False),  # "": the code's rate whatever its modifiers
    Column("rate_cents", BigInteger, nullable=False),  # per unit
    UniqueConstraint("version_id", "code", "modifier"),
)

# -- expected payment: each billed line priced under its payer's contract, and the 835's word on it ------------
expected_line = Table(
    "expected_line",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("claim_id", String(64), nullable=False),
    Column("line_number", Integer, nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("code", String(8), nullable=False),
    Column("modifiers", String(11), nullable=False),  # joined with ':'
    Column("units", String(16), nullable=False),  # a Decimal as text
    Column("charge_cents", BigInteger, nullable=False),
    Column("service_date", Date, nullable=False),
    Column("line_control_number", String(80), nullable=True),  # the 837's REF*6R, echoed by the 835
    Column("place_of_service", String(2), nullable=True),  # the line's, else the claim's
    # Why the line cannot be priced as billed (an odd code, modifier, units or place of service, as received):
    # its code and modifiers are then stored cut to fit, and the line is never priced from them.
    Column("problem", Text, nullable=True),
    Column("contract_id", String(36), nullable=True),  # None: no contract in effect on the service date
    Column("version_id", String(36), nullable=True),
    Column("contract_version", Integer, nullable=True),
    Column("expected_allowed_cents", BigInteger, nullable=True),  # None: the contract sets no rate for it
    Column("rule", String(24), nullable=False),  # fee_schedule | percent_of_* | no_rate | no_contract | error
    Column("steps", JSON, nullable=False),  # the rule trail
    Column("fee_line", JSON, nullable=True),  # {code, modifier, rate_cents} of the contract line applied
    Column("priced_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "claim_id", "line_number"),
)

line_adjudication = Table(
    "line_adjudication",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("claim_id", String(64), nullable=False),
    Column("remittance_id", String(64), nullable=False),
    Column("line_number", Integer, nullable=False),  # the line's position in the 835's claim payment
    # the claim payment's CLP07: a claim the payer split is two claim payments (CLPs) in one 835, each its own
    Column("payer_claim_control_number", String(80), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("line_control_number", String(80), nullable=True),  # the 835's REF*6R
    Column("procedure_code", String(48), nullable=True),  # SVC01-2 as the payer adjudicated it
    Column("allowed_cents", BigInteger, nullable=False),  # AMT*B6, else paid + patient share
    Column("paid_cents", BigInteger, nullable=False),
    Column("patient_cents", BigInteger, nullable=False),  # the line's PR adjustments
    Column("deductible_cents", BigInteger, nullable=False),  # of them PR 1
    Column("copay_cents", BigInteger, nullable=False),  # of them PR 3
    Column("payment_date", Date, nullable=True),
    Column("compared", Integer, nullable=False),  # 1: held against the expected amount (once)
    Column("expected_allowed_cents", BigInteger, nullable=True),  # as priced when compared
    Column("billed_line_number", Integer, nullable=True),  # the billed line it answers, once matched
    Column("match", String(24), nullable=True),  # line_control_number | position | none
    Column("note", Text, nullable=True),  # why it was not held against an expected amount
    Column("reversed", Integer, nullable=False),  # 1: the payer reversed this posting
    Column("seen_at", UtcDateTime(), nullable=False),
    UniqueConstraint(
        "tenant_id",
        "claim_id",
        "remittance_id",
        "payer_claim_control_number",
        "line_number",
        name="uq_line_adjudication_claim_payment_line",  # the convention's name is over PostgreSQL's 63
    ),
)

# One row per claim with billed lines or an adjudication: the billed lines and the 835 arrive on two topics,
# possibly in two workers at once; each locks the claim's row before reading what the other wrote, so the second
# to lock reads the first's rows committed.
expected_claim = Table(
    "expected_claim",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("claim_id", String(64), nullable=False),
    Column("touched_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "claim_id"),
)

# The underpayment/overpayment worklist: an adjudicated line whose allowed amount is off the contract's.
payment_variance = Table(
    "payment_variance",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("claim_id", String(64), nullable=False),
    Column("line_number", Integer, nullable=False),
    Column("remittance_id", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("contract_id", String(36), nullable=False),
    Column("version_id", String(36), nullable=False),
    Column("contract_version", Integer, nullable=False),
    Column("code", String(8), nullable=False),
    Column("modifiers", String(11), nullable=False),
    Column("units", String(16), nullable=False),
    Column("service_date", Date, nullable=False),
    Column("kind", String(8), nullable=False),  # under | over
    Column("cause", String(24), nullable=False),
    Column("expected_allowed_cents", BigInteger, nullable=False),
    Column("allowed_cents", BigInteger, nullable=False),
    Column("expected_paid_cents", BigInteger, nullable=False),  # ``domain.variance.expected_paid``
    Column("paid_cents", BigInteger, nullable=False),
    Column("deductible_cents", BigInteger, nullable=False),  # the 835 line's PR 1, which expected paid keeps
    Column("copay_cents", BigInteger, nullable=False),  # the 835 line's PR 3
    Column("amount_cents", BigInteger, nullable=False),  # the money at stake: |allowed - expected allowed|
    Column("rule", String(24), nullable=False),
    Column("steps", JSON, nullable=False),
    Column("fee_line", JSON, nullable=True),
    Column("status", String(20), nullable=False),  # open | appealed | accepted | contract_adjusted | cancelled
    Column("letter_text", Text, nullable=True),  # the appeal letter, once appealed
    Column("adjusted_version_id", String(36), nullable=True),  # the contract version an adjustment wrote
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "claim_id", "line_number", "remittance_id"),
    Index("ix_payment_variance_tenant_status", "tenant_id", "status"),
)

payment_variance_event = Table(
    "payment_variance_event",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("variance_id", String(36), nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("note", Text, nullable=True),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_payment_variance_event_variance", "variance_id"),
)

# Each tenant's practice as claims announces it (practice.changed), by version: appeal letters are signed with
# the legal name and headed with the statement header of the version in effect on the letter's date.
practice_profile = Table(
    "practice_profile",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("legal_name", Text, nullable=False),
    Column("statement_name", Text, nullable=False),
    Column("statement_address", JSON, nullable=False),  # {line1, line2, city, state, postal_code}
    Column("statement_phone", Text, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "version"),
)
