from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from rcm_shared.x12.ack import build_999, build_ta1, check
from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import X12Reader
from rcm_shared.x12.sets.x835 import ClaimPayment, PaymentHeader, PaymentTrailer, ProviderAdjustment, iter_835
from rcm_shared.x12.writer import FileControlNumbers, MemoryControlNumbers, Party, writer_for

SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "x12" / "samples"
US = Party("ZZ", "RCMPLATFORM", "RCMPLATFORM")


def test_835_demo_file_typed_and_balanced() -> None:
    items = list(iter_835(SAMPLES / "835/lfh__demo-file__demo.835"))
    header = items[0]
    assert isinstance(header, PaymentHeader)
    assert header.total_paid == Decimal("150000.00") and header.trace_number == "12345"
    assert header.payment_date is not None and header.payment_date.isoformat() == "2002-09-13"
    claims = [i for i in items if isinstance(i, ClaimPayment)]
    assert [(c.patient_control_number, c.charge, c.paid) for c in claims] == [
        ("666123", Decimal("211366.97"), Decimal("138018.40")),
        ("777777", Decimal("15000.00"), Decimal("11980.33")),
    ]
    for c in claims:  # CLP03 - CLP04 = sum of CAS
        assert c.charge - c.paid == c.adjustment_total()
    plb = [i for i in items if isinstance(i, ProviderAdjustment)]
    assert [(p.reason, p.amount) for p in plb] == [("CV", Decimal("-1.27"))]
    # BPR02 = sum CLP04 - sum PLB
    assert header.total_paid == sum(c.paid for c in claims) - sum(p.amount for p in plb)
    assert isinstance(items[-1], PaymentTrailer) and items[-1].claims == 2


def test_835_service_lines_and_denial() -> None:
    items = list(iter_835(SAMPLES / "835/pyx12__pyx12__835_mult_loops.txt"))
    (claim,) = [i for i in items if isinstance(i, ClaimPayment)]
    assert claim.status == "4" and claim.paid == 0 and len(claim.services) == 3
    for line in claim.services:
        assert line.charge - line.paid == sum(a.amount for a in line.adjustments)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("835/lfh__835_005010X221A1__managed-care.835", "segment 2 BPR, element 16: not a real date: '20002316'"),
        (
            "835/lfh__835_005010X221A1__cob-contractural-adjustment.835",
            "segment 19 SVC, element 01: composite procedure needs a qualifier and a code",
        ),
        ("835/lfh__835_005010X221A1__secondary-payment.835", "segment 27 SVC, element 01"),
        ("835/lfh__835_005010X221A1__tertiary-payment.835", "segment 18 SVC, element 01"),
    ],
)
def test_835_samples_with_errors_are_rejected_where_they_are_wrong(name: str, error: str) -> None:
    # These LinuxForHealth files use '>' inside composites while their ISA16 says ':' (pyx12 fails them too).
    with pytest.raises(X12Error) as err:
        list(iter_835(SAMPLES / name))
    assert error in str(err.value)


def test_bad_decimal_is_located() -> None:
    raw = (SAMPLES / "835/lfh__demo-file__demo.835").read_text().replace("CLP*666123*1*211366.97", "CLP*666123*1*21X")
    with pytest.raises(X12Error, match=r"ST 1234, segment \d+ CLP, element 03: not a decimal: '21X'"):
        list(iter_835(raw.encode()))


X12VALID = shutil.which("x12valid") or str(Path(__import__("sys").executable).with_name("x12valid"))


def _pyx12_verdict(path: Path) -> str:
    # x12valid always exits 1; its verdict is the last word of its output.
    out = subprocess.run([X12VALID, str(path)], capture_output=True, text=True, cwd=path.parent)
    text = (out.stdout + out.stderr).strip()
    return text.rsplit(":", 1)[-1].strip()


@pytest.mark.parametrize(
    "name",
    [
        "837P/lfh__demo-file__demo.837",
        "837P/imsweb__837_5010__x12_valid.txt",
        "837P/imsweb__837_5010__x12_bad_segment_identifier.txt",
        "835/lfh__demo-file__demo.835",
    ],
)
def test_generated_999_passes_pyx12_and_reads_back(name: str, tmp_path: Path) -> None:
    result = check(SAMPLES / name)
    text = build_999(result, us=US, numbers=MemoryControlNumbers())
    target = tmp_path / "ack.999"
    target.write_text(text)
    assert _pyx12_verdict(target) == "OK", text
    segs = [s for _h, s in X12Reader(target)]
    ik5 = [s for s in segs if s.id == "IK5"]
    expected = "R" if "imsweb" in name else "A"  # the imsweb files carry a wrong SE01
    assert [s[1] for s in ik5] == [expected]


def test_ta1_reports_a_control_number_mismatch() -> None:
    text = build_ta1(
        check(SAMPLES / "999/imsweb__837_5010__x12_999_accepted.txt"), us=US, numbers=MemoryControlNumbers()
    )
    assert "~TA1*000000286*" in text and text.split("~TA1*")[1].split("~")[0].endswith("*R*001")
    assert text.endswith("~IEA*0*000000001~")


def test_control_numbers_persist_across_runs(tmp_path: Path) -> None:
    path = tmp_path / "numbers.json"
    assert [FileControlNumbers(path).next("ISA") for _ in range(3)] == [1, 2, 3]
    assert FileControlNumbers(path).next("ISA") == 4 and FileControlNumbers(path).next("GS") == 1


def test_control_numbers_wrap_around_and_the_file_shrinks_with_its_text(tmp_path: Path) -> None:
    path = tmp_path / "numbers.json"
    path.write_text(json.dumps({"GS": 7, "ISA": 999_999_999}))
    numbers = FileControlNumbers(path)
    assert numbers.next("ISA") == 1  # nine digits at most, then 1 again
    assert json.loads(path.read_text()) == {"GS": 7, "ISA": 1}  # overwritten in place, nothing left behind
    assert [numbers.next("ISA") for _ in range(2)] == [2, 3]


def _crossover_835() -> str:
    from datetime import date

    from rcm_shared.x12.sets.common import Adjustment
    from rcm_shared.x12.sets.x835 import Procedure, ServicePayment, build_835

    line = ServicePayment(
        Procedure("HC", "99213"),
        Decimal("150.00"),
        Decimal("71.69"),
        units=Decimal(1),
        service_date=date(2026, 11, 2),
        adjustments=[Adjustment("CO", "45", Decimal("60.39")), Adjustment("PR", "2", Decimal("17.92"))],
        amounts={"B6": Decimal("89.61")},
    )
    claim = ClaimPayment(
        "C1",
        "19",
        Decimal("150.00"),
        Decimal("71.69"),
        Decimal("17.92"),
        "MB",
        "MCR000000000001",
        frequency="1",
        patient={"last": "DOE", "first": "JANE", "id_qualifier": "MI", "id": "1EG4TE5MK73"},
        services=[line],
        crossover_carrier={"name": "MEDIGAP MUTUAL", "id_qualifier": "PI", "id": "MGAP1"},
    )
    header = PaymentHeader("", "I", Decimal("71.69"), "C", "ACH", date(2026, 11, 20), "123", "1000000001")
    header.payer_name, header.payer_id, header.payee_name, header.payee_id = "MEDICARE", "MCRB1", "CLINIC", "1234567893"
    ts = build_835(header, [claim])
    writer = writer_for(ts, sender=US, receiver="CLINIC")
    return writer.render([ts])


def test_835_crossover_carrier_nm1_tt_is_read_written_and_valid(tmp_path: Path) -> None:
    """CLP02 19 with NM1*TT: the payer forwarded the claim to the crossover carrier named there."""
    text = _crossover_835()
    assert "NM1*TT*2*MEDIGAP MUTUAL*****PI*MGAP1~" in text
    (claim,) = [i for i in iter_835(text.encode()) if isinstance(i, ClaimPayment)]
    assert claim.status == "19" and claim.forwarded
    assert claim.crossover_carrier == {"name": "MEDIGAP MUTUAL", "id_qualifier": "PI", "id": "MGAP1"}
    assert claim.patient["last"] == "DOE"  # NM1*QC still read as the patient
    target = tmp_path / "crossover.835"
    target.write_text(text)
    assert _pyx12_verdict(target) == "OK"
