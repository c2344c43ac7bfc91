"""The practice master data of each tenant: the charge master, the organization profile and its clearinghouse
connections, providers, service facilities and payer enrollments."""

from __future__ import annotations

from rcm_shared.bus.tables import UtcDateTime
from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, Index, Integer, String, Table, Text

from claims.models.base import metadata

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
