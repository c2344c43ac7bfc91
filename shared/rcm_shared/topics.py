"""The topic catalog: every topic the services declare, with its partitions and partition key.

Names only (plumbing): payload types live with their producers. Per-aggregate keys keep each
claim's (remittance's, denial's) events in order on one partition while workers scale out.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TopicSpec:
    name: str
    producer: str
    key: str
    consumers: tuple[str, ...] = ()
    partitions: int = 3
    retention_ms: int = 7 * 24 * 3600 * 1000
    cleanup_policy: str = "delete"  # "compact": the latest event per key is kept for consumers that start late
    description: str = ""
    event_types: tuple[str, ...] = field(default=())

    @property
    def config(self) -> dict[str, str] | None:
        """Topic configs to create it with, beyond the broker's defaults."""
        return {"cleanup.policy": self.cleanup_policy} if self.cleanup_policy != "delete" else None

    @property
    def dlq(self) -> str:
        return dlq_topic(self.name)


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


CATALOG: tuple[TopicSpec, ...] = (
    TopicSpec(
        "eligibility.check.completed",
        "eligibility",
        "check id",
        ("claims",),
        description="A coverage check finished (status, plan summary, ids).",
        event_types=("eligibility.check_completed",),
    ),
    TopicSpec(
        "claims.claim.status-changed",
        "claims",
        "claim id",
        ("denials", "remittance"),
        description="Every claim state transition, ordered per claim.",
        event_types=("claim.status_changed",),
    ),
    TopicSpec(
        "claims.practice.changed",
        "claims",
        "tenant id",
        ("denials", "eligibility", "remittance"),
        partitions=1,
        cleanup_policy="compact",
        description="A tenant's practice profile changed: statement header, billing provider, clearinghouse "
        "connections (the ids that route inbound X12 to the tenant), legal name (appeal letters).",
        event_types=("practice.changed",),
    ),
    TopicSpec(
        "remittance.claim.adjudicated",
        "remittance",
        "claim id",
        ("claims", "denials"),
        # One topic for both, so a reversal and the corrected payment after it stay in order per claim.
        description="Claim payments posted from an 835, and payer reversals (CLP02 = 22) paired with their "
        "original posting, in file order per claim.",
        event_types=("remittance.claim_adjudicated", "remittance.claim_reversed"),
    ),
    TopicSpec(
        "remittance.provider.adjusted",
        "remittance",
        "remittance id",
        description="A provider-level adjustment (PLB) posted.",
        event_types=("remittance.provider_adjusted",),
    ),
    TopicSpec(
        "remittance.patient.balance-changed",
        "remittance",
        "account id",
        description="A patient account's balance moved: patient responsibility due once every payer adjudicated, "
        "patient payments, refunds.",
        event_types=("remittance.patient_balance_changed",),
    ),
    TopicSpec(
        "remittance.statement.issued",
        "remittance",
        "account id",
        description="A patient statement was produced and recorded as sent.",
        event_types=("remittance.statement_issued",),
    ),
    TopicSpec(
        "denials.denial.opened",
        "denials",
        "claim id",
        description="A denial entered the work queue.",
        event_types=("denial.opened",),
    ),
    TopicSpec(
        "denials.denial.deadline-approaching",
        "denials",
        "claim id",
        description="An open denial's appeal or refiling deadline is near (sent once per denial).",
        event_types=("denial.deadline_approaching",),
    ),
    TopicSpec(
        "denials.denial.resolved",
        "denials",
        "claim id",
        ("claims", "remittance"),
        description="A denial was closed (recovered, written off, billed to patient), with the money it moves "
        "out of insurance A/R: to the patient's account or written off; and, after it on the same key, the "
        "undoing of that move when the payer's later word takes it back (denials decides, once per denial).",
        event_types=("denial.resolved", "denial.move_undone"),
    ),
    TopicSpec(
        "denials.appeal.sent",
        "denials",
        "claim id",
        ("claims",),
        description="An appeal of a denial was sent to the payer: the claim is under appeal until the payer answers.",
        event_types=("denial.appeal_sent",),
    ),
    TopicSpec(
        "denials.resubmission.requested",
        "denials",
        "claim id",
        ("claims",),
        description="Denials asks claims to send a corrected (frequency 7) claim.",
        event_types=("denial.resubmission_requested",),
    ),
)


def produced_by(service: str) -> list[TopicSpec]:
    return [t for t in CATALOG if t.producer == service]


def consumed_by(service: str) -> list[TopicSpec]:
    return [t for t in CATALOG if service in t.consumers]


def by_name(name: str) -> TopicSpec:
    for spec in CATALOG:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown topic {name!r}")


_BY_EVENT_TYPE = {event_type: spec.name for spec in CATALOG for event_type in spec.event_types}


def topic_for(event_type: str) -> str:
    """The topic an event type is published on: the catalog is the one place that pairs them."""
    try:
        return _BY_EVENT_TYPE[event_type]
    except KeyError:
        raise KeyError(f"event type {event_type!r} is on no topic of the catalog") from None
