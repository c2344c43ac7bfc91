"""`rcm x12 ...` as an operator runs it: exit codes, JSON lines, acknowledgments on disk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "x12" / "samples"


def rcm(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rcm_cli.main", *args], capture_output=True, text=True, cwd=cwd)


def test_validate_exit_codes() -> None:
    ok = rcm("x12", "validate", str(SAMPLES / "835/lfh__demo-file__demo.835"))
    assert ok.returncode == 0 and ok.stdout.startswith("valid: 1 transaction set(s)")
    bad = rcm("x12", "validate", "--json", str(SAMPLES / "_non5010/lfh__837_004010X098A1__patient-is-subscriber.837"))
    assert bad.returncode == 1
    verdict = json.loads(bad.stdout)
    assert verdict["valid"] is False and verdict["error"]["code"] == "unsupported_version"
    assert verdict["error"]["segment_id"] == "GS" and verdict["error"]["element"] == 8
    missing = rcm("x12", "validate", "/no/such/file.x12")
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr


def test_validate_reports_a_bad_value_with_its_location(tmp_path: Path) -> None:
    text = (SAMPLES / "835/lfh__demo-file__demo.835").read_text().replace("CLP*777777*1*15000.00", "CLP*777777*1*15X")
    (tmp_path / "bad.835").write_text(text)
    out = rcm("x12", "validate", str(tmp_path / "bad.835"))
    assert out.returncode == 1 and "CLP, element 03: not a decimal: '15X'" in out.stderr


def test_parse_streams_typed_json_lines() -> None:
    out = rcm("x12", "parse", str(SAMPLES / "835/lfh__demo-file__demo.835"))
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["model"] for r in rows] == [
        "PaymentHeader",
        "ClaimPayment",
        "ClaimPayment",
        "ProviderAdjustment",
        "PaymentTrailer",
    ]
    assert rows[1]["paid"] == "138018.40" and rows[0]["payment_date"] == "2002-09-13"


def test_ack_writes_a_999_with_persistent_control_numbers(tmp_path: Path) -> None:
    src = tmp_path / "in.837"
    src.write_bytes((SAMPLES / "837P/lfh__demo-file__demo.837").read_bytes())
    numbers = tmp_path / "numbers.json"
    for expected in ("000000001", "000000002"):
        out = rcm("x12", "ack", str(src), "--numbers", str(numbers))
        assert out.returncode == 0, out.stderr
        text = (tmp_path / "in.837.999").read_text()
        assert f"*{expected}*0*P*:~" in text and "IK5*A~" in text
