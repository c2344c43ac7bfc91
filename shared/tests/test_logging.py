"""Log lines keep allowed fields only: no name, address, birth date or member id reaches them, whether passed
as a field, as a template's argument or inside an exception's message."""

from __future__ import annotations

import ast
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from pydantic import BaseModel
from rcm_shared.logging import configure_logging
from rcm_shared.x12.errors import X12Error
from sqlalchemy.exc import DBAPIError

ROOT = Path(__file__).resolve().parents[2]
NAME, ADDRESS, BIRTH_DATE, MEMBER_ID = "Canarylast Canaryfirst", "12 Canary Rd", "1931-03-17", "CNRY0001931"
PLANTED = (*NAME.split(), ADDRESS, BIRTH_DATE, BIRTH_DATE.replace("-", ""), MEMBER_ID)
# (the values reach the code under test through these names: a traceback shows source lines, and a literal
# in a test's source line would be found there)


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    uvicorn = logging.getLogger("uvicorn.error")
    saved_uvicorn = uvicorn.handlers[:], uvicorn.propagate
    configure_logging("test")
    out = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    try:
        yield out
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        uvicorn.handlers[:], uvicorn.propagate = saved_uvicorn
        structlog.reset_defaults()


def _records(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _no_planted_value(out: io.StringIO) -> None:
    text = out.getvalue().lower()
    for value in PLANTED:
        assert value.lower() not in text, f"{value!r} in the log: {out.getvalue()}"


def test_fields_off_the_allow_list_are_masked_and_ids_counts_and_codes_kept(lines: io.StringIO) -> None:
    log = logging.getLogger("rcm_shared.test")
    log.info(
        "claim entered",
        extra={
            "claim_id": "c-42",
            "count": 3,
            "status": "ready",
            "delay_s": 1.5,
            "patient": NAME,  # a field no rule knew: masked by being off the list
            "note": f"lives at {ADDRESS}, born {BIRTH_DATE.replace('-', '')}, card {MEMBER_ID}",
        },
    )
    structlog.get_logger("rcm_shared.test").info("posted", claim_id="c-42", who=NAME)
    first, second = _records(lines)
    assert first["event"] == "claim entered" and first["claim_id"] == "c-42" and first["count"] == 3
    assert first["status"] == "ready" and first["delay_s"] == 1.5 and first["service"] == "test"
    assert first["patient"] == first["note"] == "[REDACTED]"
    assert second["claim_id"] == "c-42" and second["who"] == "[REDACTED]"
    _no_planted_value(lines)


def test_a_templates_text_arguments_are_withheld_and_its_numbers_kept(lines: io.StringIO) -> None:
    logging.getLogger("some.library").warning("member %s not found after %d tries", MEMBER_ID, 3)
    logging.getLogger("some.library").warning("%(who)s, %(n)d", {"who": NAME, "n": 4})
    first, second = _records(lines)
    assert first["event"] == "member [REDACTED] not found after 3 tries"
    assert second["event"] == "[REDACTED], 4"
    _no_planted_value(lines)


def _lookup(member: str) -> None:
    raise KeyError(f"no coverage for {member} born {BIRTH_DATE}")


def test_an_exception_is_logged_by_type_and_place_without_its_message(lines: io.StringIO) -> None:
    log = logging.getLogger("rcm_shared.test")
    try:
        try:
            _lookup(NAME)
        except KeyError as exc:
            raise RuntimeError(f"eligibility failed for {exc}") from exc
    except RuntimeError:
        log.exception("unhandled error", extra={"route": "/v1/eligibility/checks"})
    (record,) = _records(lines)
    trace = record["exception"]
    assert "in _lookup" in trace and "KeyError" in trace and trace.endswith("RuntimeError")
    assert "direct cause" in trace and record["route"] == "/v1/eligibility/checks"
    _no_planted_value(lines)


class _Check(BaseModel):
    birth_date: int


class _DriverError(Exception):  # as asyncpg raises it: the SQLSTATE on the exception, the value in the text
    sqlstate = "22007"


def test_database_validation_and_x12_errors_keep_their_codes_not_their_values(lines: io.StringIO) -> None:
    log = logging.getLogger("rcm_shared.test")
    errors: list[BaseException] = [
        DBAPIError("INSERT ...", None, _DriverError(f'invalid input syntax for type date: "{NAME}"')),
        X12Error(f"not a date: {NAME!r}", segment_id="DMG", element=2, position=7, code="invalid"),
        ConnectionRefusedError(111, f"Connect call failed to {ADDRESS}"),
    ]
    try:
        _Check(birth_date=NAME)  # type: ignore[arg-type]
    except ValueError as exc:
        errors.append(exc)
    for exc in errors:
        log.warning("failed", extra={"error": exc}, exc_info=exc)
    db, x12, refused, invalid = (r["error"] for r in _records(lines))
    assert db.startswith("sqlalchemy.exc.DBAPIError (from ") and db.endswith("._DriverError (sqlstate 22007))")
    assert x12 == "rcm_shared.x12.errors.X12Error (code=invalid position=7 segment=DMG element=2)"
    assert refused == "ConnectionRefusedError (errno 111)"
    assert "birth_date [int_parsing]" in invalid
    _no_planted_value(lines)


def test_caller_supplied_exception_text_is_masked(lines: io.StringIO) -> None:
    structlog.get_logger("rcm_shared.test").error("failed", exception=f"KeyError: {NAME}")
    (record,) = _records(lines)
    assert record["exception"] == "[REDACTED]"


def test_uvicorn_lines_follow_the_same_rules(lines: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").error(
        "Exception in ASGI application %s", NAME, extra={"color_message": f"Exception for \x1b[1m{NAME}\x1b[0m"}
    )
    (record,) = _records(lines)
    assert record["logger"] == "uvicorn.error" and record["event"] == "Exception in ASGI application [REDACTED]"
    assert "color_message" not in record  # uvicorn's coloured copy of the message: dropped
    _no_planted_value(lines)


LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical"}


def test_the_platforms_log_calls_use_constant_templates_and_fields() -> None:
    """The rule the filter backs up: a message is a string literal with no %-arguments and no f-string; what
    varies is passed in ``extra`` (fields on ``LOG_FIELDS``)."""
    offenders: list[str] = []
    folders = [ROOT / "shared" / "rcm_shared", ROOT / "sandbox" / "sandbox", ROOT / "cli" / "rcm_cli"]
    folders += [p for p in (ROOT / "services").glob("*/*") if p.is_dir() and p.name == p.parent.name]
    for folder in folders:
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in LOG_METHODS
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in ("log", "logger", "_log", "LOG")
                ):
                    continue
                constant = bool(node.args) and isinstance(node.args[0], ast.Constant)
                if not constant or len(node.args) > 1:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, "log calls with a variable message or %-arguments: " + ", ".join(offenders)
