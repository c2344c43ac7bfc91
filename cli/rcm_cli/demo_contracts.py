"""The demo's payer contracts and underpayments: each organization loads, before its charge entry, the contract
each payer prices its claims by (the sandbox publishes it: ``GET /sandbox/payers/{id}/contract``) into the
denials service; at the end of the day the underpayment worklist (``GET /v1/underpayments``) is held against
the lines the sandbox's plan book paid off that contract on purpose (``GET /sandbox/variances``), to the cent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rcm_cli.demo import Demo

# How the sandbox says it prices, which a denials contract can say too (``contract_body``).
PRICING = {
    "rate_key": "procedure_code",
    "units": "multiply",
    "default_basis": "billed_charge",
    "lesser_of_charge": True,
    "rounding": "half_up_to_cent_per_line",
    "revenue_code_only_lines": "default_allowed_percent",
}

# A professional (26) or technical (TC) line the sandbox prices at the code's own rate, as it ignores
# modifiers: the contract says so with a fee line per component at that rate (no split of a global rate).
SPLIT_MODIFIERS = ("26", "TC")

KINDS = ("under", "over")


def _cents(amount: str) -> int:
    cents = Decimal(amount) * 100
    if cents != cents.to_integral_value():
        raise RuntimeError(f"the sandbox's rate {amount} is not a whole number of cents")
    return int(cents)


def contract_body(published: dict[str, Any], since: date) -> dict[str, Any]:
    """The denials contract (``POST /v1/contracts``, ``:import`` JSON) that prices as the sandbox's payer
    does: its fee schedule per unit (the same rate for a 26 or TC line), the default percent of the billed
    charge, lesser of charge, and none of the modifier rules it does not apply (51, 50). A payer that prices
    in a way a contract cannot say stops the demo: it would load a contract the payer does not pay by."""
    pricing = published.get("pricing", {})
    differs = sorted(k for k, v in PRICING.items() if pricing.get(k) != v)
    if differs or published.get("modifier_rules"):
        raise RuntimeError(
            f"payer {published['payer_id']} prices in a way the demo cannot load as a contract "
            f"(pricing {', '.join(differs) or '-'}; modifier rules {published.get('modifier_rules')})"
        )
    lines = []
    for code, rate in sorted(published["fee_schedule"].items()):
        cents = _cents(rate)
        lines += [{"code": code, "modifier": m, "rate_cents": cents} for m in ("", *SPLIT_MODIFIERS)]
    return {
        "payer_id": published["payer_id"],
        "plan": None,
        "name": f"{published['payer_name']} (as the payer prices)",
        "effective_from": since.isoformat(),
        "effective_to": None,
        "default_rule": "percent_of_charges",
        "default_percent": published["default_allowed_percent"],
        "multiple_procedure": False,
        "bilateral_percent": "100",
        "lesser_of_charge": True,
        "professional_component_percent": "100",  # unused: every code has a 26 and a TC line of its own
        "note": "loaded by rcm demo from the payer's published contract",
        "fee_lines": lines,
    }


def _terms(c: dict[str, Any]) -> tuple[Any, ...]:
    """What prices a line, comparable between a contract read back and the body that would load it."""
    fees = sorted((f["code"], f["modifier"], int(f["rate_cents"])) for f in c["fee_lines"])
    return (
        c["default_rule"],
        Decimal(str(c["default_percent"])),
        bool(c["multiple_procedure"]),
        Decimal(str(c["bilateral_percent"])),
        bool(c["lesser_of_charge"]),
        tuple(fees),
    )


async def load_contracts(demo: Demo, payer_ids: Iterable[str], day: date, since: date) -> dict[str, str]:
    """Each payer's contract in the organization's denials service: kept when its latest version prices as
    the payer does and is in effect on ``day`` (the day billed), else imported as a version from ``since``
    (a dry run first: a bad row loads nothing). Returns what was done per payer."""
    done: dict[str, str] = {}
    wanted = []
    for payer_id in payer_ids:
        body = contract_body(await demo.call("GET", "sandbox", f"/sandbox/payers/{payer_id}/contract"), since)
        listed = await demo.call("GET", "denials", "/v1/contracts", params={"payer_id": payer_id})
        same = [c for c in listed if c["plan"] is None]
        if same:
            latest = await demo.call("GET", "denials", f"/v1/contracts/{same[0]['id']}")
            window = (date.fromisoformat(latest["effective_from"]), latest["effective_to"] or date.max.isoformat())
            if _terms(latest) == _terms(body) and window[0] <= day <= date.fromisoformat(window[1]):
                done[payer_id] = f"kept (version {latest['version']})"
                continue
        wanted.append(body)
    if wanted:
        trial = await demo.call("POST", "denials", "/v1/contracts:import", params={"dry_run": "true"}, json=wanted)
        if trial["rejected"]:
            raise RuntimeError(f"the payers' contracts do not import: {trial['rejected'][:5]}")
        report = await demo.call("POST", "denials", "/v1/contracts:import", params={"dry_run": "false"}, json=wanted)
        for v in report["versions"]:
            done[v["payer_id"]] = f"imported (version {v['version']}, {v['fee_lines']} fee lines)"
    return done


def _totals(items: Sequence[dict[str, Any]], amount: str) -> dict[str, dict[str, int]]:
    return {
        kind: {
            "lines": sum(1 for i in items if i["kind"] == kind),
            "amount_cents": sum(int(i[amount]) for i in items if i["kind"] == kind),
        }
        for kind in KINDS
    }


async def worklist(demo: Demo, claim_ids: set[str]) -> list[dict[str, Any]]:
    """The organization's worklist items still at stake (open, appealed) for these claims."""
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = await demo.call("GET", "denials", "/v1/underpayments", params={"limit": 500, "offset": offset})
        out += [i for i in page["items"] if i["claim_id"] in claim_ids]
        offset += len(page["items"])
        if len(page["items"]) < 500:
            return out


async def sandbox_variances(demo: Demo, claim_ids: set[str]) -> list[dict[str, Any]]:
    """The lines the sandbox's payers allowed off their contracts on these claims (every item, standing or
    not: a voided or replaced claim's are listed with ``standing`` false)."""
    found = await demo.call("GET", "sandbox", "/sandbox/variances")
    return [i for i in found["items"] if i["claim_id"] in claim_ids]


def differences(ours: Sequence[dict[str, Any]], sandbox: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each claim line where the worklist and the sandbox disagree: in one and not the other, or of another
    kind or amount. The sandbox's lines of claims that no longer stand (voided, replaced) are not expected."""
    listed = {(i["claim_id"], i["line_number"]): i for i in ours}
    made = {(i["claim_id"], i["line"]): i for i in sandbox if i["standing"]}
    out = []
    for key in sorted(set(listed) | set(made)):
        mine, theirs = listed.get(key), made.get(key)
        a = (mine["kind"], mine["amount_cents"]) if mine else None
        b = (theirs["kind"], theirs["variance_cents"]) if theirs else None
        if a != b:
            out.append(
                {
                    "claim_id": key[0],
                    "line": key[1],
                    "code": (mine or theirs or {}).get("code"),
                    "worklist": {"kind": mine["kind"], "amount_cents": mine["amount_cents"], "cause": mine["cause"]}
                    if mine
                    else None,
                    "sandbox": {"kind": theirs["kind"], "amount_cents": theirs["variance_cents"]} if theirs else None,
                    "expected_allowed_cents": mine["expected_allowed_cents"] if mine else None,
                    "allowed_cents": mine["allowed_cents"] if mine else None,
                    "sandbox_contract_allowed": theirs["contract_allowed"] if theirs else None,
                    "sandbox_allowed": theirs["allowed"] if theirs else None,
                }
            )
    return out


async def reconcile(demos: Sequence[Demo], claims: dict[str, set[str]], timeout: float) -> dict[str, Any]:
    """Each organization's worklist for its day's claims against the sandbox's variances on them: once every
    835 carrying a variance has gone out, until the two agree line by line or ``timeout`` passes (the worklist
    follows the 835s by events). Returns both sides' totals per organization and every difference."""
    deadline = time.monotonic() + timeout
    every = set().union(*claims.values())
    while True:
        made = await sandbox_variances(demos[0], every)
        listed = {d.tenant: await worklist(d, claims[d.tenant]) for d in demos}
        diffs = differences([i for items in listed.values() for i in items], made)
        unsent = [i for i in made if not i["sent"]]
        if (not diffs and not unsent) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    return {
        "tenants": {
            d.tenant: {
                "worklist": _totals(listed[d.tenant], "amount_cents"),
                "sandbox": _totals(
                    [i for i in made if i["claim_id"] in claims[d.tenant] and i["standing"]], "variance_cents"
                ),
                "causes": sorted({i["cause"] for i in listed[d.tenant]}),
            }
            for d in demos
        },
        "worklist": _totals([i for items in listed.values() for i in items], "amount_cents"),
        "sandbox": _totals([i for i in made if i["standing"]], "variance_cents"),
        "not_standing": sum(1 for i in made if not i["standing"]),
        "unsent": len(unsent),
        "differences": diffs,
    }


def _money(cents: int) -> str:
    return f"{cents / 100:,.2f}"


def report_lines(found: dict[str, Any], names: dict[str, str]) -> list[str]:
    """The reconciliation as the demo prints it."""

    def side(t: dict[str, dict[str, int]]) -> str:
        return ", ".join(f"{k} {t[k]['lines']} line(s) {_money(t[k]['amount_cents'])}" for k in KINDS)

    out = ["underpayment worklist (denials) against the variances the payers introduced (sandbox):"]
    for tenant, t in found["tenants"].items():
        out.append(f"  {names.get(tenant, tenant)}: worklist {side(t['worklist'])}; sandbox {side(t['sandbox'])}")
    out.append(f"  all organizations: worklist {side(found['worklist'])}; sandbox {side(found['sandbox'])}")
    if found["differences"]:
        out.append(f"  {len(found['differences'])} line(s) differ:")
        for d in found["differences"][:20]:
            out.append(
                f"    claim {d['claim_id']} line {d['line']} ({d['code']}): worklist {d['worklist']}, "
                f"sandbox {d['sandbox']}"
            )
    else:
        out.append("  equal line by line, to the cent")
    return out
