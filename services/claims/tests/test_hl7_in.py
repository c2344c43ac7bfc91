"""HL7 v2 messages read into the domain's values (claims.adapters.hl7_in), and each problem named by segment,
field and table 0357 code. Pure: no listener, no database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from builders.hl7 import PRIMARY, adt, dft, fields, ft1, in1, message, msh, pid, pv1, segment, value
from claims.adapters import hl7_ack, hl7_in, hl7_tree
from claims.domain import hl7 as h
from hypothesis import given, settings
from hypothesis import strategies as st

DOS = date(2026, 3, 2)  # any date: nothing here is compared with today


def read_dft(text: str) -> h.Dft:
    msg = hl7_in.read(text.encode("latin-1"))
    head = hl7_in.header(msg)
    hl7_in.check_header(head)
    return hl7_in.dft(msg, head)


def problem(text: str) -> tuple[int, h.Location | None, bool]:
    msg = hl7_in.read(text.encode())
    head = hl7_in.header(msg)
    with pytest.raises(h.MessageError) as caught:
        hl7_in.check_header(head)
        hl7_in.adt(msg, head) if head.message_code == "ADT" else hl7_in.dft(msg, head)
    return caught.value.code, caught.value.location, caught.value.reject


def test_a_dft_reads_into_charges_with_units_amounts_providers_and_diagnoses() -> None:
    text = dft(
        "C1",
        ft1(1, DOS, "OFFICE", procedure="99214", modifiers=["25", "59"]),
        ft1(2, DOS, "83036", quantity="2.5", amount="100.00", diagnoses=[]),
        ft1(3, DOS, "36415", quantity="-1"),
        ft1(4, DOS, "PAY", kind="PY", amount="10.00"),
        "DG1|1||R73.9^^I10||||||||||||2",
        "DG1|2||E11.9^^I10||||||||||||1",
    )
    d = read_dft(text.replace("\r", "\n"))  # segments ending in LF read the same
    assert (d.visit_number, d.registration.mrn) == ("V20001", "MRN0001")  # PID-3's MR identifier, not the SSN
    office, a1c, reversal = d.charges
    assert (office.procedure_code, office.modifiers, office.code_from_transaction) == ("99214", ("25", "59"), False)
    assert (office.transaction_code, office.units_milli, office.extended_cents) == ("OFFICE", 1000, None)
    assert (office.performing_npi, office.diagnoses) == ("1679576722", ("E11.9", "I10"))
    assert (a1c.procedure_code, a1c.code_from_transaction, a1c.units, a1c.extended_cents) == (
        "83036",
        True,
        Decimal("2.5"),
        10000,
    )
    assert a1c.diagnoses == ("E11.9", "R73.9")  # no FT1-19: the DG1s by priority
    assert reversal.reversal and reversal.units_milli == 1000 and reversal.kind == "CG"
    (notice,) = d.notices
    assert notice.location == h.Location("FT1", 4, 6) and notice.code == h.TABLE_VALUE_NOT_FOUND


def test_unit_amounts_names_in_latin_1_and_coverage_from_in2() -> None:
    unit_price = ft1(1, DOS, "99214").replace("|1|||", "|3|||", 1)
    fields = unit_price.split("|")
    fields[10], fields[11], fields[12] = "3", "", "12.50"  # FT1-10 quantity, FT1-12 unit amount
    no_policy = in1(1, "MCD01", "STATE MEDICAID", "") + "\rIN2||||||1EG4TE5MK73|MCD123"
    text = message(msh("DFT^P03^DFT_P03", "C2"), pid(last="Muñoz"), pv1(), no_policy, "|".join(fields))
    d = read_dft(text)
    assert d.charges[0].extended_cents == 3750
    assert d.registration.patient.last_name == "Muñoz"
    (coverage,) = d.registration.coverages or ()
    assert (coverage.payer_id, coverage.member_id, coverage.relationship) == ("MCD01", "1EG4TE5MK73", "18")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("FT1|1|||", "FT1|1|||2026-13-45"), (h.DATA_TYPE_ERROR, h.Location("FT1", 1, 4))),
        (("|CG|", "|XX|"), (h.TABLE_VALUE_NOT_FOUND, h.Location("FT1", 1, 6))),
        (("99214^^CPT", "ABC^^CPT"), (h.TABLE_VALUE_NOT_FOUND, h.Location("FT1", 1, 7, 1))),
        (("|V20001", "|"), (h.REQUIRED_FIELD_MISSING, h.Location("PV1", 1, 19))),
        (("MRN0001^^^VALLEY^MR~999-99-9999^^^SSA^SS", ""), (h.REQUIRED_FIELD_MISSING, h.Location("PID", 1, 3))),
        (("Doe^Jane", "Do*e^Jane"), (h.DATA_TYPE_ERROR, h.Location("PID", 1, 5, 1))),
        (("^IL^62704", "^Illinois^62704"), (h.DATA_TYPE_ERROR, h.Location("PID", 1, 11, 4))),
        (("1679576722^Smith", "12345^Smith"), (h.DATA_TYPE_ERROR, h.Location("FT1", 1, 20, 1))),
        (("|V20001", "|" + "V" * 81), (h.DATA_TYPE_ERROR, h.Location("PV1", 1, 19))),
    ],
)
def test_a_wrong_field_is_named_with_its_code(change: tuple[str, str], expected: tuple[int, h.Location]) -> None:
    text = dft("C3", ft1(1, DOS, "99214")).replace(*change, 1)
    assert problem(text) == (*expected, False)


def test_header_problems_are_rejections() -> None:
    assert problem(dft("C4", ft1(1, DOS, "99214"), version="2.7")) == (
        h.UNSUPPORTED_VERSION_ID,
        h.Location("MSH", 1, 12),
        True,
    )
    assert problem(dft("C4", ft1(1, DOS, "99214"), processing="X"))[:1] == (h.UNSUPPORTED_PROCESSING_ID,)
    assert problem(dft("", ft1(1, DOS, "99214")))[:2] == (h.REQUIRED_FIELD_MISSING, h.Location("MSH", 1, 10))
    assert problem(adt("C5", "A01"))[:2] == (h.UNSUPPORTED_EVENT_CODE, h.Location("MSH", 1, 9, 2))


def test_a_coverage_of_someone_else_needs_the_insured_and_a_known_relationship() -> None:
    spouse = in1(1, "BCBS1", "BLUE CROSS", "X1", relationship="SPO")
    assert problem(message(msh("ADT^A08", "C6"), pid(), spouse))[:2] == (
        h.REQUIRED_FIELD_MISSING,
        h.Location("IN1", 1, 16),
    )
    cousin = PRIMARY.replace("|SEL|", "|COU|")
    assert problem(message(msh("ADT^A08", "C7"), pid(), cousin))[:2] == (
        h.TABLE_VALUE_NOT_FOUND,
        h.Location("IN1", 1, 17),
    )


def insured_in1(insured: str, birth: str) -> str:
    """An IN1 with IN1-16 (insured's name) and IN1-18 (birth date) as given and IN1-17 empty."""
    return segment("IN1", {1: "1", 3: "ACME01", 4: "ACME", 16: insured, 18: birth, 36: "W200"})


def registered_coverage(coverage: str) -> h.Coverage:
    """The coverage of an ADT for Jim Doe (born 2015-06-01) with that IN1."""
    msg = hl7_in.read(message(msh("ADT^A04^ADT_A01", "C10"), pid(first="Jim", birth="20150601"), coverage).encode())
    (read,) = hl7_in.adt(msg, hl7_in.header(msg)).registration.coverages or ()
    return read


def test_an_insured_named_without_a_relationship_is_kept_as_of_unknown_relationship() -> None:
    # IN1-17 is optional, and many interfaces leave it empty: a father named in IN1-16/18 is still the insured
    father = registered_coverage(insured_in1("Doe^John", "19780401"))
    assert father.relationship == "21" and father.insured is not None
    assert (father.insured.first_name, father.insured.birth_date) == ("John", date(1978, 4, 1))
    assert registered_coverage(insured_in1("Doe^John", "")).relationship == "21"
    assert registered_coverage(insured_in1("Doe", "19780401")).relationship == "21"
    # the patient himself (spelled otherwise, or by his birth date only), or no one: self, as before
    for insured, birth in (("DOE^JIM^Q", "20150601"), (" doe ^jim", ""), ("Doe", ""), ("", "20150601"), ("", "")):
        own = registered_coverage(insured_in1(insured, birth))
        assert (own.relationship, own.insured) == ("18", None), (insured, birth)
    # another birth date and no name: someone else, whom the message does not name
    text = message(msh("ADT^A08", "C11"), pid(first="Jim", birth="20150601"), insured_in1("", "19780401"))
    assert problem(text)[:2] == (h.REQUIRED_FIELD_MISSING, h.Location("IN1", 1, 16))


# b"MSH|\\&|...": MSH-2 cut to two characters, which cannot name four separators apart (the fuzz test below found
# an ACK written in them that did not read back)
@pytest.mark.parametrize(
    "frame", [b"", b"PID|1", b"MSH", b"MSH|^~", b"MSH|\\&|EHR|VALLEYEHR|RCM|RCM|||DFT^P03|C1|P|2.5.1"]
)
def test_a_frame_without_a_readable_header_is_unreadable(frame: bytes) -> None:
    with pytest.raises(hl7_in.Unreadable):
        hl7_in.header(hl7_in.read(frame))


def test_the_parse_tree_is_python_hl7s_own() -> None:
    """``parse`` makes each level's plan once; the tree is the one ``hl7.parse`` builds, node for node."""
    import hl7

    for text in (dft("C8", ft1(1, DOS, "99214", modifiers=["25", "59"]), "DG1|1||R73.9&x^^I10"), adt("C9")):
        text = text.strip("\r")
        ours, theirs = hl7_tree.parse(text), hl7.parse(text)
        assert ours == theirs and str(ours) == str(theirs)
        assert [type(f) for seg in ours for f in seg] == [type(f) for seg in theirs for f in seg]


JUNK = st.sampled_from([b"|", b"^", b"~", b"&", b"\\", b"\r", b"\r\r", b"\n", b"X", b"1", b"\xe9"])


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_no_frame_however_broken_raises_anything_but_an_answerable_error(data: st.DataObject) -> None:
    """Bytes changed, cut or added anywhere in a valid message: reading it either works, or fails as a frame
    nobody can be answered (``Unreadable``) or as a message answered AE/AR (``MessageError``), whose ACK
    reads and names the message's control id."""
    text = bytearray(dft("C10", ft1(1, DOS, "99214", modifiers=["25"]), ft1(2, DOS, "83036", amount="1.00")).encode())
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["set", "cut", "add"]))
        junk = data.draw(JUNK | st.binary(min_size=1, max_size=3))
        if action == "set":
            text[at : at + 1] = junk
        elif action == "cut":
            del text[at : at + data.draw(st.integers(1, 40))]
        else:
            text[at:at] = junk
    try:
        msg = hl7_in.read(bytes(text))
        head = hl7_in.header(msg)
    except hl7_in.Unreadable:
        return
    try:
        hl7_in.check_header(head)
        hl7_in.dft(msg, head) if head.message_code == "DFT" else hl7_in.adt(msg, head)
    except h.MessageError as exc:
        ack = hl7_ack.acknowledgment(head, "AE", [hl7_ack.of_error(exc)], application="RCM")
        assert value(fields(ack, "MSA"), 2) == head.control_id


def with_fields(segment: str, **values: str) -> str:
    """The segment with fields replaced: ``f11="-1.00"`` sets field 11."""
    parts = segment.split("|")
    for key, text in values.items():
        n = int(key[1:])
        parts += [""] * (n + 1 - len(parts))
        parts[n] = text
    return "|".join(parts)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"f11": "-100.00"}, 11),  # a negative amount on a charge of one unit: no $100 charge
        ({"f11": "", "f12": "-40.00"}, 12),
        ({"f10": "sNaN"}, 10),
        ({"f10": "1E+999999"}, 10),
        ({"f11": "1E+27"}, 11),  # more digits than the quantize's context holds
        ({"f11": "1E+20"}, 11),  # an amount out of bounds (it would overflow the cents column)
        ({"f11": "", "f12": "99999999.99", "f10": "2"}, 12),
    ],
)
def test_an_amount_or_quantity_that_cannot_be_billed_is_an_error_of_its_field(
    values: dict[str, str], field: int
) -> None:
    text = dft("C5", with_fields(ft1(1, DOS, "99214"), **values))
    code, location, reject = problem(text)
    assert (code, location and location.segment, location and location.field, reject) == (
        h.DATA_TYPE_ERROR,
        "FT1",
        field,
        False,
    )


def test_negative_amounts_reverse_only_with_a_credit_or_a_negative_quantity() -> None:
    credit = with_fields(ft1(1, DOS, "99214", kind="CD", amount="-100.00"), f2="T100")
    negative = ft1(2, DOS, "99214", quantity="-1", amount="-100.00")
    d = read_dft(dft("C6", credit, negative))
    assert [(c.reversal, c.extended_cents, c.units_milli, c.transaction_id) for c in d.charges] == [
        (True, 10000, 1000, "T100"),
        (True, 10000, 1000, None),
    ]


def test_digits_that_are_not_decimal_never_crash_the_reading() -> None:
    odd = with_fields(ft1(1, DOS, "99214"), f1="\u00b2")  # a superscript two: isdigit(), but int() fails
    text = dft("C7", odd) + "DG1|1||E11.9^^I10||||||||||||\u00b2\r"
    (charge,) = read_dft(text).charges
    assert charge.set_id == 1
    bad_set = adt("C8").replace(PRIMARY, "IN1|\u00b2" + PRIMARY[len("IN1|1") :])
    assert problem(bad_set)[:2] == (h.DATA_TYPE_ERROR, h.Location("IN1", 1, 1))
