"""The demo's clinics: their practices (billing provider, doctors, the profile each organization sets up), payers
and visits, the scenarios their claims follow, a seeded day of encounters, and the planted PHI of leak tests."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

CLINIC = {
    "npi": "1234567893",
    "name": "Valley Family Clinic",
    "taxonomy": "207Q00000X",
    "tax_id": "123456789",
    "address": {"line1": "100 Main St", "city": "Springfield", "state": "IL", "postal_code": "627011234"},
}


DOCTORS = [
    {"npi": "1679576722", "name": "Smith", "first_name": "John", "is_person": True, "taxonomy": "207R00000X"},
    {"npi": "1003000126", "name": "Jones", "first_name": "Mary", "is_person": True, "taxonomy": "207Q00000X"},
]


# The clearinghouse's id as the sandbox is addressed (ISA08, GS03): it answers from whatever id it was sent to.
CLEARINGHOUSE = "CLEARINGHOUSE"


@dataclass(frozen=True)
class Practice:
    """One organization of the demo: the billing provider its claims name, its doctors, and the profile it
    sets up once (``PUT /v1/practice``): legal name, statement header, clearinghouse connection."""

    name: str  # as the demo's output names it
    clinic: dict[str, Any]  # the billing provider, as charge entry takes it
    doctors: list[dict[str, Any]]
    legal_name: str
    statement: dict[str, Any]
    submitter_id: str  # ISA06 / GS02 / 1000A of its 837s: the answers come back to it

    def profile(self, since: date) -> dict[str, Any]:
        """The body of ``PUT /v1/practice``: a version in effect from ``since``."""
        return {
            "effective_from": since.isoformat(),
            "legal_name": self.legal_name,
            "billing_providers": [self.clinic],
            "statement": self.statement,
            "connections": [
                {
                    "name": "sandbox",
                    "submitter_id": self.submitter_id,
                    "receiver_id": CLEARINGHOUSE,
                    "receiver_name": "SANDBOX CLEARINGHOUSE",
                    "submitter_name": self.clinic["name"],
                    "contact_name": "Billing Office",
                    "contact_phone": self.statement["phone"],
                }
            ],
        }


VALLEY = Practice(
    name="Valley Family Clinic",
    clinic=CLINIC,
    doctors=DOCTORS,
    legal_name="Valley Family Clinic LLC",
    statement={
        "name": "Valley Family Clinic",
        "address": {"line1": "100 Main St", "city": "Springfield", "state": "IL", "postal_code": "627011234"},
        "phone": "2175550142",
        "pay_online": "https://pay.valleyclinic.example",
        "pay_by_mail": "Valley Family Clinic, PO Box 100, Springfield, IL 62701",
    },
    submitter_id="VALLEY01",
)


# A second organization on the same stack and the same payers: its own NPI, tax id, doctors, header and
# connection; a smaller day.
LAKESIDE = Practice(
    name="Lakeside Pediatrics",
    clinic={
        "npi": "1543219871",
        "name": "Lakeside Pediatrics",
        "taxonomy": "208000000X",
        "tax_id": "364827115",
        "address": {"line1": "250 Harbor Rd", "city": "Peoria", "state": "IL", "postal_code": "616021234"},
    },
    doctors=[
        {"npi": "1768901237", "name": "Okafor", "first_name": "Ngozi", "is_person": True, "taxonomy": "208000000X"},
        {"npi": "1204567899", "name": "Rossi", "first_name": "Luca", "is_person": True, "taxonomy": "208000000X"},
    ],
    legal_name="Lakeside Pediatrics PC",
    statement={
        "name": "Lakeside Pediatrics Billing",
        "address": {"line1": "250 Harbor Rd", "city": "Peoria", "state": "IL", "postal_code": "616021234"},
        "phone": "3095550177",
        "pay_online": "https://billpay.lakesidepeds.example",
        "pay_by_mail": "Lakeside Pediatrics, PO Box 77, Peoria, IL 61602",
    },
    submitter_id="LAKESIDE01",
)


WALK_INS = frozenset({"coverage_ended", "member_id_typo"})  # seen without an eligibility check


PAYERS = {
    "ACME01": {"payer_id": "ACME01", "name": "ACME HEALTH PLAN", "filing_indicator": "CI"},
    "MCRB1": {"payer_id": "MCRB1", "name": "MEDICARE PART B", "filing_indicator": "MB"},
}


CROSSOVER = "crossover"


CROSSOVER_PAYERS = {"MGAP1": {"payer_id": "MGAP1", "name": "MEDIGAP MUTUAL", "filing_indicator": "CI"}}


LAST = ["Garcia", "Smith", "Nguyen", "Johnson", "Patel", "Brown", "Kowalski", "Okafor", "Miller", "Rossi", "Chen"]


FIRST = ["Ana", "James", "Linh", "Mary", "Raj", "Olivia", "Piotr", "Ngozi", "Robert", "Giulia", "Wei", "Sofia"]


STREETS = ["Elm St", "Oak Ave", "Maple Dr", "Lincoln Rd", "Cedar Ln"]


# Visits: (diagnoses, [(code, charge, diagnosis pointers)]). Real ICD-10-CM and CPT/HCPCS codes.
VISITS: list[tuple[list[str], list[tuple[str, str, list[int]]]]] = [
    (["I10"], [("99213", "150.00", [1])]),
    (["E11.9", "I10"], [("99214", "220.00", [1, 2]), ("83036", "45.00", [1]), ("36415", "20.00", [1])]),
    (["J06.9"], [("99212", "95.00", [1])]),
    (["E78.5"], [("99213", "150.00", [1]), ("80061", "70.00", [1]), ("36415", "20.00", [1])]),
    (["R07.9"], [("99214", "220.00", [1]), ("93000", "75.00", [1])]),
    (["Z23"], [("90686", "40.00", [1]), ("90471", "35.00", [1])]),
    (["N39.0"], [("99213", "150.00", [1]), ("81002", "15.00", [1])]),
    (["D64.9"], [("99213", "150.00", [1]), ("85025", "45.00", [1]), ("36415", "20.00", [1])]),
    (["R05.9"], [("99203", "190.00", [1]), ("71046", "120.00", [1])]),
]


# scenario -> (weight, what the billing office does with its denial, final state of the claim(s))
SCENARIOS: dict[str, tuple[int, str, str]] = {
    "clean": (70, "", "paid"),
    "missing_authorization": (6, "resubmit with the authorization number", "corrected -> replacement paid"),
    "non_covered_line": (4, "write off the acupuncture line", "closed"),
    "bundled_line": (4, "write off the bundled lab", "closed"),
    "coverage_ended": (3, "bill the patient", "closed"),
    "member_id_typo": (5, "fix the member id, send again", "paid"),
    "truncated_diagnosis": (4, "held by the scrubber; code completed, sent", "paid"),
    "duplicate_entry": (4, "held by the scrubber; the second entry voided", "void"),
    # the payer loses the claim: no 277CA, no 835; the follow-up list and a 276 find it was never received
    "payer_never_answers": (3, "follow up: 276 inquiry, the payer has no record", "submitted"),
    # a Medicare patient with a Medigap plan (named on the claim as secondary): Medicare forwards the claim
    # (835 CLP02 19, NM1*TT) and the Medigap plan sends its own 835; no secondary claim from us. Not drawn by
    # weight: the first Medicare clean visit of the day is one, and any other whose member has such a plan.
    CROSSOVER: (0, "none: Medicare forwards the claim, the Medigap plan pays its part", "paid"),
    # the payer's check is short by a recoupment whose PLB its 835 leaves out: the ERA is held unbalanced;
    # the payment poster checks it (every claim foots, only the check total differs) and releases it
    "held_remittance": (3, "835 held (check short, PLB missing); reviewed and released", "paid"),
    # paid, then found billed in error: voided (frequency 8, the payer's claim number); the payer takes its
    # payment back (CLP02 22) and both the claim and its void claim end void
    "void_after_payment": (3, "void the paid claim; the payer reverses its payment", "void"),
}


VOIDED = "void_after_payment"


UNANSWERED = "payer_never_answers"


HELD = "held_remittance"


@dataclass
class Encounter:
    number: int
    scenario: str
    payer_id: str
    member_id: str
    document: dict[str, Any]
    true_member_id: str | None = None  # the id on the card, for a typo the office fixes
    true_diagnoses: list[str] | None = None  # the codes the chart supports, for a truncated code
    claim_ids: list[str] = field(default_factory=list)


def clinic_day(
    rng: random.Random,
    patients: int,
    rosters: dict[str, list[dict[str, Any]]],
    day: date,
    practice: Practice = VALLEY,
    taken: frozenset[str] = frozenset(),
) -> list[Encounter]:
    """A day of encounters at ``practice``: mostly clean visits, and a share of the errors a real office makes.
    The members in ``taken`` (another practice's patients of the day) are not seen."""
    active = {
        p: [
            m
            for m in r
            if m["coverage_end"] is None and not m.get("claims_unanswered") and not m.get("remittance_short_paid")
        ]
        for p, r in rosters.items()
    }
    short_paid = [m for m in rosters["ACME01"] if m.get("remittance_short_paid")]
    lost = [m for m in rosters["ACME01"] if m.get("claims_unanswered")]
    ended = [m for m in rosters["ACME01"] if m["coverage_end"] is not None]
    used: set[str] = set(taken)
    names = list(SCENARIOS)
    weights = [SCENARIOS[n][0] for n in names]
    out: list[Encounter] = []
    for n in range(1, patients + 1):
        scenario = rng.choices(names, weights)[0]
        if scenario == "duplicate_entry" and not out:
            scenario = "clean"
        if scenario == "duplicate_entry":
            original = next((e for e in reversed(out) if e.scenario == "clean"), None)
            if original is not None:
                out.append(Encounter(n, scenario, original.payer_id, original.member_id, original.document))
                continue
            scenario = "clean"
        if scenario == UNANSWERED and not [m for m in lost if m["member_id"] not in used]:
            scenario = "clean"  # every member whose claims the payer loses has a visit already
        if scenario == HELD and not [m for m in short_paid if m["member_id"] not in used]:
            scenario = "clean"
        payer_id = "MCRB1" if scenario == "clean" and rng.random() < 0.35 else "ACME01"
        pool = ended if scenario == "coverage_ended" else lost if scenario == UNANSWERED else active[payer_id]
        if payer_id == "MCRB1" and not any(e.scenario == CROSSOVER for e in out):
            pool = [m for m in pool if m.get("crossover_payer_id")] or pool
        if scenario == HELD:
            pool = short_paid
        member = rng.choice([m for m in pool if m["member_id"] not in used] or pool)
        if scenario == "clean" and member.get("crossover_payer_id") in CROSSOVER_PAYERS:
            scenario = CROSSOVER
        used.add(member["member_id"])
        member_id = member["member_id"]
        dx, lines = rng.choice(VISITS)
        dx, lines = list(dx), list(lines)
        chart = dx
        prior_auth = None
        if scenario == "missing_authorization":
            dx, lines = ["M17.11"], [("73721", "1200.00", [1])]
        elif scenario == "non_covered_line":
            dx, lines = ["M54.50"], [("99213", "150.00", [1]), ("97810", "95.00", [1])]
        elif scenario == "bundled_line":
            dx, lines = ["E11.9"], [("80053", "60.00", [1]), ("80048", "45.00", [1]), ("36415", "20.00", [1])]
        if scenario in ("missing_authorization", "non_covered_line", "bundled_line"):
            chart = dx
        elif scenario == "truncated_diagnosis":
            dx = [dx[0].split(".")[0], *dx[1:]]  # the category without its subcategory (E11 for E11.9)
        typed_id = member_id
        if scenario == "member_id_typo":
            typed_id = member_id[:-2] + member_id[-1] + member_id[-2]
            if typed_id == member_id or any(typed_id == m["member_id"] for m in rosters[payer_id]):
                typed_id = member_id + "0"
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 60))
        if payer_id == "MCRB1":
            birth = date(1935, 1, 1) + timedelta(days=rng.randrange(0, 365 * 25))
        doc = {
            "kind": "professional",
            # the billing provider of the practice's profile, by its NPI: charge entry resolves it
            "billing_provider_npi": practice.clinic["npi"],
            "rendering_provider": rng.choice(practice.doctors),
            "facility_code": "11",
            "subscriber": {
                "last_name": rng.choice(LAST),
                "first_name": rng.choice(FIRST),
                "birth_date": birth.isoformat(),
                "sex": rng.choice(["F", "M"]),
                "member_id": typed_id,
                "address": {
                    "line1": f"{rng.randrange(10, 999)} {rng.choice(STREETS)}",
                    "city": "Springfield",
                    "state": "IL",
                    "postal_code": "62704",
                },
            },
            "payer": PAYERS[payer_id],
            "diagnoses": dx,
            "prior_authorization": prior_auth,
            "lines": [
                {
                    "procedure_code": code,
                    "charge": charge,
                    "units": "1",
                    "service_date": day.isoformat(),
                    "diagnosis_pointers": ptr,
                }
                for code, charge, ptr in lines
            ],
        }
        if scenario == CROSSOVER:  # the Medigap card, entered as the claim's secondary payer
            card = {**doc["subscriber"], "member_id": member["crossover_member_id"]}
            doc["secondary_payer"] = {**CROSSOVER_PAYERS[member["crossover_payer_id"]], "subscriber": card}
        out.append(
            Encounter(
                n,
                scenario,
                payer_id,
                typed_id,
                doc,
                true_member_id=member_id if typed_id != member_id else None,
                true_diagnoses=chart if dx != chart else None,
            )
        )
    return out


# Planted PHI for leak tests (RCM_DEMO_CANARY=1): one clean visit's patient carries these values (its member
# id is the roster's, for the payer to find it), every free-text field the demo sends carries them too, and
# they must show up nowhere they do not belong (logs, event payloads).
CANARY = {
    "last_name": "Canarylast",
    "first_name": "Canaryfirst",
    "birth_date": "1931-03-17",
    "ssn": "078-05-1120",
    "line1": "12 Canaryplant Rd",
    "city": "Canaryville",
    "member_id": "CNRY0001931",  # typed into notes: a member id, distinct from any of the rosters'
}


CANARY_TEXT = " ".join(CANARY[k] for k in ("first_name", "last_name", "line1", "city", "birth_date", "member_id"))


# Request fields where people type text: a note, a reason, a letter. (A value without a space is a code.)
FREE_TEXT_FIELDS = frozenset({"note", "notes", "reason", "comment", "appeal_letter", "description", "memo"})


def plant_canary(encounters: list[Encounter]) -> Encounter | None:
    target = next((e for e in encounters if e.scenario == "clean" and e.payer_id == "ACME01"), None)
    if target is not None:
        subscriber = target.document["subscriber"]
        subscriber.update({k: CANARY[k] for k in ("last_name", "first_name", "birth_date")})
        subscriber["address"] = {**subscriber["address"], "line1": CANARY["line1"], "city": CANARY["city"]}
    return target


def with_canary_text(body: Any) -> Any:
    """``body`` with the canary's name, address, birth date and member id added to each free-text value (a
    field of ``FREE_TEXT_FIELDS`` holding text with a space), as a caller's notes would quote a patient."""
    if isinstance(body, dict):
        return {
            k: f"{v} ({CANARY_TEXT})"
            if k in FREE_TEXT_FIELDS and isinstance(v, str) and " " in v.strip()
            else with_canary_text(v)
            for k, v in body.items()
        }
    if isinstance(body, list):
        return [with_canary_text(v) for v in body]
    return body
