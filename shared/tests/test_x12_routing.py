"""rcm_shared.x12.routing: whose an inbound file is, by its envelope ids (the rules in the module's docstring,
one case each), and the reader of those ids."""

from __future__ import annotations

import pytest
from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.routing import (
    ANOTHER_TENANT,
    NO_CONNECTION,
    SEVERAL_TENANTS,
    Pair,
    Parties,
    Route,
    interchange_parties,
    owners,
    pairs,
    route,
)

HOME = ("RCMCLINIC", "CLEARINGHOUSE")  # the deployment's own (submitter_id, receiver_id)
DEFAULT = "default"
REGISTERED: dict[Pair, str] = {
    ("VALLEY01", "CLEARINGHOUSE"): "valley",
    ("HILL01", "CLEARINGHOUSE"): "hill",
    ("VALLEY01", "CHGROUPB"): "valley",
}


def to(ours: str, theirs: str = "CLEARINGHOUSE", n: str = "000000001", groups: tuple[Pair, ...] = ()) -> Parties:
    """An interchange sent by ``theirs`` to ``ours``; ``groups`` as (GS03, GS02), the ISA's own when empty."""
    return Parties(n, theirs, ours, tuple((s, r) for r, s in groups) or ((theirs, ours),))


def decide(*interchanges: Parties, registered: dict[Pair, str] | None = None, uploader: str | None = None) -> Route:
    table = REGISTERED if registered is None else registered
    return route(interchanges, table.get, HOME, DEFAULT, uploader=uploader)


def test_an_interchange_is_its_isa_pairs_tenants_when_no_group_names_another() -> None:
    assert decide(to("HILL01")).tenant == "hill"
    # a group no one owns under an owned ISA is the ISA owner's
    assert decide(to("HILL01", groups=(("HILL01", "CLEARINGHOUSE"), ("HILLGS", "CHGS")))).tenant == "hill"
    assert owners(to("HILL01", groups=(("HILLGS", "CHGS"),)), REGISTERED.get, HOME, DEFAULT) == {"hill"}


@pytest.mark.parametrize(
    "isa",
    [("HILL01", "CLEARINGHOUSE"), HOME],
    ids=["a tenant's ISA pair", "the deployment's own ISA pair"],
)
def test_an_owned_isa_with_a_group_of_another_tenant_is_several_organizations(isa: Pair) -> None:
    """The ISA alone never settles an interchange whose groups name another tenant's connection."""
    crossed = to(*isa, groups=(("VALLEY01", "CLEARINGHOUSE"),))
    refused = decide(crossed)
    assert (refused.tenant, refused.cause) == (None, SEVERAL_TENANTS)
    assert "GS03 'VALLEY01'" in refused.reason
    # and the groups may not disagree among themselves either
    split = to("HILL01", groups=(("HILL01", "CLEARINGHOUSE"), ("VALLEY01", "CHGROUPB")))
    assert decide(split).cause == SEVERAL_TENANTS


def test_the_groups_decide_when_the_isa_pair_is_no_ones_and_must_all_agree() -> None:
    hub = ("BIGCHHUB", "BIGCH")  # the clearinghouse's own ISA ids, the same for every customer
    by_groups = to(*hub, groups=(("VALLEY01", "CLEARINGHOUSE"), ("VALLEY01", "CHGROUPB")))
    assert decide(by_groups).tenant == "valley"
    one_unknown = to(*hub, groups=(("VALLEY01", "CLEARINGHOUSE"), ("STRANGER", "CLEARINGHOUSE")))
    refused = decide(one_unknown)
    assert (refused.tenant, refused.cause) == (None, NO_CONNECTION)
    assert "GS03 'STRANGER'" in refused.reason and "ISA08 'BIGCHHUB'" in refused.reason
    two = decide(to(*hub, groups=(("VALLEY01", "CLEARINGHOUSE"), ("HILL01", "CLEARINGHOUSE"))))
    assert (two.tenant, two.cause) == (None, SEVERAL_TENANTS)


@pytest.mark.parametrize("registered", [{}, REGISTERED], ids=["no connection anywhere", "other tenants have some"])
def test_the_deployments_own_pair_is_the_default_tenants(registered: dict[Pair, str]) -> None:
    assert decide(to("RCMCLINIC"), registered=registered).tenant == DEFAULT
    # by its groups too, and registered by the default tenant itself it is still one owner
    assert decide(to("HUB", "BIGCH", groups=(HOME,)), registered=registered).tenant == DEFAULT
    assert decide(to("RCMCLINIC"), registered={**registered, HOME: DEFAULT}).tenant == DEFAULT
    # ids no one registered are refused even when no tenant has a connection at all
    assert decide(to("CLINIC1", "ACMEPAYER"), registered=registered).cause == NO_CONNECTION


def test_the_deployments_pair_registered_by_another_tenant_is_never_guessed() -> None:
    both = decide(to("RCMCLINIC"), registered={HOME: "valley"})
    assert (both.tenant, both.cause) == (None, SEVERAL_TENANTS)
    assert owners(to("RCMCLINIC"), {HOME: "valley"}.get, HOME, DEFAULT) == {DEFAULT, "valley"}


def test_a_file_is_its_tenants_only_when_every_interchange_is() -> None:
    """One interchange of a known connection and one of none: the whole file is refused, naming the unknown."""
    valley, stranger = to("VALLEY01", n="000000001"), to("STRANGER", "OTHERCH", n="000000002")
    assert decide(valley, to("VALLEY01", "CHGROUPB", n="000000003")).tenant == "valley"
    refused = decide(valley, stranger)
    assert (refused.tenant, refused.cause, refused.interchanges) == (None, NO_CONNECTION, (stranger,))
    assert refused.reason.startswith(
        "no organization's clearinghouse connection has interchange 000000002: ISA06 'OTHERCH' ISA08 'STRANGER' "
        "(GS02 'OTHERCH' GS03 'STRANGER')"
    )
    assert "'RCMCLINIC'" in refused.reason and "'CLEARINGHOUSE'" in refused.reason
    mixed = decide(valley, to("HILL01", n="000000002"))
    assert (mixed.tenant, mixed.cause) == (None, SEVERAL_TENANTS)
    assert "2 organizations" in mixed.reason and "valley" not in mixed.reason
    assert decide().cause == NO_CONNECTION


def test_an_upload_is_the_uploaders_unless_an_interchange_is_another_tenants() -> None:
    assert decide(to("CLINIC1", "ACMEPAYER"), uploader="hill").tenant == "hill"
    assert decide(to("HILL01"), to("CLINIC1", "ACMEPAYER", n="2"), uploader="hill").tenant == "hill"
    valley = to("VALLEY01", n="000000002")
    refused = decide(to("HILL01"), valley, uploader="hill")
    assert (refused.tenant, refused.cause, refused.interchanges) == (None, ANOTHER_TENANT, (valley,))
    assert "ISA08 'VALLEY01'" in refused.reason and "HILL01" not in refused.reason
    # the deployment's ids are the default tenant's: its upload is its own, another's is refused
    assert decide(to("RCMCLINIC"), uploader=DEFAULT).tenant == DEFAULT
    assert decide(to("RCMCLINIC"), uploader="hill").cause == ANOTHER_TENANT


def test_an_upload_is_refused_when_any_group_is_another_tenants() -> None:
    """An interchange half no one's and half another tenant's is not the uploader's for the half no one owns."""
    hub = ("BIGCHHUB", "BIGCH")
    half = to(*hub, groups=(("VALLEY01", "CLEARINGHOUSE"), ("STRANGER", "CLEARINGHOUSE")))
    refused = decide(half, uploader="hill")
    assert (refused.tenant, refused.cause, refused.interchanges) == (None, ANOTHER_TENANT, (half,))
    assert "GS03 'VALLEY01'" in refused.reason
    # an owned ISA pair does not hide a group of another tenant from the upload check
    crossed = to("HILL01", groups=(("VALLEY01", "CLEARINGHOUSE"),))
    assert decide(crossed, uploader="hill").cause == ANOTHER_TENANT
    # groups of the uploader and of no one are the uploader's
    own = to(*hub, groups=(("HILL01", "CLEARINGHOUSE"), ("STRANGER", "CLEARINGHOUSE")))
    assert decide(own, uploader="hill").tenant == "hill"


def test_pairs_lists_every_pair_to_look_up() -> None:
    hub = to("HUB", "BIGCH", groups=(("VALLEY01", "CLEARINGHOUSE"), ("HILL01", "CHGROUPB")))
    assert pairs([hub, to("RCMCLINIC")]) == {
        ("HUB", "BIGCH"),
        ("VALLEY01", "CLEARINGHOUSE"),
        ("HILL01", "CHGROUPB"),
        ("RCMCLINIC", "CLEARINGHOUSE"),
    }


def isa(sender: str, receiver: str, control: str, element: str = "*", component: str = ":") -> str:
    e = element
    return (
        f"ISA{e}00{e}          {e}00{e}          {e}ZZ{e}{sender:<15}{e}ZZ{e}{receiver:<15}{e}261120{e}0800{e}^{e}"
        f"00501{e}{control}{e}0{e}P{e}{component}"
    )


def test_the_reader_gives_each_interchanges_ids_and_its_groups_in_file_order() -> None:
    first = (
        isa("CLEARINGHOUSE", "HUB", "000000007") + "~\n"
        "GS*HP*CLEARINGHOUSE*VALLEY01*20261120*0800*1*X*005010X221A1~ST*835*0001~SE*2*0001~GE*1*1~"
        "GS*HP*CHGROUPB*VALLEY01*20261120*0800*2*X*005010X221A1~ST*835*0002~SE*2*0002~GE*1*2~IEA*2*000000007~\n"
    )
    second = isa("OTHERCH", "HILL01", "000000008") + "~GS*FA*OTHERCH*HILL01*20261120*0800*3*X*005010X231A1~"
    assert interchange_parties((first + second + "GE*0*3~IEA*1*000000008~").encode()) == [
        Parties("000000007", "CLEARINGHOUSE", "HUB", (("CLEARINGHOUSE", "VALLEY01"), ("CHGROUPB", "VALLEY01"))),
        Parties("000000008", "OTHERCH", "HILL01", (("OTHERCH", "HILL01"),)),
    ]
    # other delimiters, and an interchange without groups
    odd = isa("CH", "US", "000000009", element="|", component=">") + "\rIEA|0|000000009\r"
    assert interchange_parties(odd.encode()) == [Parties("000000009", "CH", "US")]


@pytest.mark.parametrize("data", [b"", b"not x12 at all", b"ISA*00*garbage"])
def test_the_reader_refuses_what_is_not_x12(data: bytes) -> None:
    with pytest.raises(X12Error):
        interchange_parties(data)
