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


def test_parse_writes_every_sample_as_json_dumps_of_its_dataclass_would() -> None:
    """The streaming encoder writes the same values, keys and key order as ``json.dumps`` of
    ``{"model": ..., **asdict(item)}`` (Decimal as its string, dates in ISO form) for every typed sample."""
    import dataclasses
    import io
    from datetime import date
    from decimal import Decimal

    from rcm_cli.x12cmd import _TYPED, _set_id, _write_models
    from rcm_shared.x12.errors import X12Error

    def default(value: object) -> str:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, date):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    compared = 0
    models: set[str] = set()
    for path in sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix not in (".md", ".tsv")):
        try:
            typed = _TYPED.get(_set_id(path))
            items = list(typed(path)) if typed else []
        except X12Error:
            continue  # a sample the readers refuse: the command answers with the error (tested above)
        if not items:
            continue
        out = io.BytesIO()
        _write_models(iter(items), out)
        lines = out.getvalue().decode().splitlines()
        expected = [json.dumps({"model": type(i).__name__, **dataclasses.asdict(i)}, default=default) for i in items]
        assert len(lines) == len(expected), path
        for got, want in zip(lines, expected, strict=True):
            assert list(json.loads(got).items()) == list(json.loads(want).items()), path
        compared += len(items)
        models |= {type(i).__name__ for i in items}
    assert compared > 50 and len(models) > 8, models


def test_parse_writes_the_segments_of_an_untyped_set_as_before() -> None:
    import io

    from rcm_cli.x12cmd import _write_segments
    from rcm_shared.x12.reader import X12Reader

    path = next((SAMPLES / "834").iterdir())
    out = io.BytesIO()
    _write_segments(path, out)
    expected = [
        {"set": h.set_id, "st": h.control_number, "pos": seg.position, "elements": seg.elements}
        for h, seg in X12Reader(path)
    ]
    assert [json.loads(line) for line in out.getvalue().decode().splitlines()] == expected and expected


def test_parse_writes_the_lines_read_before_an_error(tmp_path: Path) -> None:
    text = (SAMPLES / "835/lfh__demo-file__demo.835").read_text().replace("CLP*777777*1*15000.00", "CLP*777777*1*15X")
    (tmp_path / "bad.835").write_text(text)
    out = rcm("x12", "parse", str(tmp_path / "bad.835"))
    assert out.returncode == 1 and "not a decimal: '15X'" in out.stderr
    assert [json.loads(line)["model"] for line in out.stdout.splitlines()] == ["PaymentHeader", "ClaimPayment"]
