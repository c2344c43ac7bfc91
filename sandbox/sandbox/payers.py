"""Simulated payers answering real-time 270 inquiries with 271s, from a plan book (data/payers.toml)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from rcm_shared.x12.sets.x270 import Benefit, EligibilityResponse, Inquiry, Member, RequestError


@dataclass(frozen=True)
class PlanBook:
    payers: dict[str, Any]

    def answer(self, q: Inquiry) -> EligibilityResponse:
        payer = self.payers.get(q.payer_id)
        base = EligibilityResponse(
            transaction="",
            payer_name=q.payer_name,
            payer_id=q.payer_id,
            provider_name=q.provider_name,
            provider_id=q.provider_npi,
            trace_numbers=[(q.trace_number, q.trace_originator)],
        )
        if payer is None:  # 79: invalid participant (payer) id, at the information source level
            base.errors = [RequestError("2100A", "N", "79", "C")]
            return base
        base.payer_name = payer["name"]
        member = next((m for m in payer.get("members", []) if m["member_id"] == q.subscriber.member_id), None)
        base.subscriber = Member(
            q.subscriber.last,
            q.subscriber.first,
            member_id=q.subscriber.member_id,
            birth_date=q.subscriber.birth_date,
            sex=q.subscriber.sex,
        )
        if member is None:  # 72: invalid member id
            base.errors = [RequestError("2100C", "Y", "72", "C")]
            return base
        if q.dependent is not None:
            base.dependent = Member(
                q.dependent.last, q.dependent.first, birth_date=q.dependent.birth_date, sex=q.dependent.sex
            )
        plan = payer["plans"][member["plan"]]
        start = date.fromisoformat(member["start"])
        end = date.fromisoformat(member["end"]) if "end" in member else None
        base.dates = [("291", start, end)]
        if plan.get("group"):
            base.subscriber.references = [("6P", plan["group"])]
        on = q.service_date
        active = start <= on and (end is None or on <= end)
        if not active:
            base.benefits = [Benefit("6", "IND", ["30"], plan=plan["name"])]
            return base
        base.benefits = self._benefits(plan, member, q.service_types)
        return base

    @staticmethod
    def _benefits(plan: dict[str, Any], member: dict[str, Any], types: list[str]) -> list[Benefit]:
        out = [Benefit("1", "IND", sorted(set(types) | {"30"}), "HM" if plan.get("group") else "MB", plan["name"])]
        for code, key, met_key in (("C", "deductible", "deductible_met"), ("G", "out_of_pocket", "out_of_pocket_met")):
            for level, amount in plan.get(key, {}).items():
                lvl = "IND" if level == "individual" else "FAM"
                out.append(Benefit(code, lvl, ["30"], time_period="23", amount=Decimal(amount), in_network="Y"))
                if lvl == "IND" and met_key in member:
                    remaining = max(Decimal(0), Decimal(amount) - Decimal(member[met_key]))
                    out.append(Benefit(code, lvl, ["30"], time_period="29", amount=remaining, in_network="Y"))
        if "coinsurance" in plan:
            out.append(
                Benefit("A", "IND", ["30"], time_period="27", percent=Decimal(plan["coinsurance"]), in_network="Y")
            )
        for st, amount in plan.get("copay", {}).items():
            if st in types or "30" in types:
                out.append(Benefit("B", "IND", [st], time_period="27", amount=Decimal(amount), in_network="Y"))
        for st in plan.get("prior_authorization", []):
            out.append(Benefit("1", "IND", [st], authorization_required="Y", in_network="Y"))
        return out


@cache
def default_book() -> PlanBook:
    return load_book(None)


def load_book(path: Path | None) -> PlanBook:
    text = path.read_text() if path else resources.files("sandbox.data").joinpath("payers.toml").read_text()
    return PlanBook(tomllib.loads(text)["payers"])
