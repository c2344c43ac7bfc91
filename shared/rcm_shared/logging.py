"""Structured JSON logs with the request's correlation id, and PHI kept out of every line.

The masking processor is a safety net under the rule that code never logs PHI: values under keys that
name personal data are replaced, and patterns that look like SSNs, dates of birth or raw X12 are masked
wherever they appear in a message.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from typing import Any

import structlog

from rcm_shared.tracing import trace_id

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

PHI_KEYS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "patient_name",
        "subscriber_name",
        "dob",
        "date_of_birth",
        "birth_date",
        "member_id",
        "ssn",
        "address",
        "address1",
        "address2",
        "street",
        "city",
        "zip",
        "postal_code",
        "phone",
        "email",
        "x12",
        "raw",
        "body",
    }
)
_PATTERNS = (
    (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), "[SSN]"),
    (re.compile(r"ISA[*|^~:].{60,}", re.DOTALL), "[X12]"),
    (re.compile(r"\b(?:NM1|N3|N4|DMG|REF)\*[^~\n]*~?"), "[X12-SEGMENT]"),
    (re.compile(r"\b(?:19|20)\d{2}-\d{2}-\d{2}\b(?!T)"), "[DATE]"),
)
MASK = "[REDACTED]"


def mask_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def mask_phi(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key, value in list(event_dict.items()):
        if key.lower() in PHI_KEYS:
            event_dict[key] = MASK
        elif isinstance(value, str):
            event_dict[key] = mask_text(value)
    return event_dict


def _add_correlation(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    cid = correlation_id.get()
    if cid and "correlation_id" not in event_dict:
        event_dict["correlation_id"] = cid
    tid = trace_id()
    if tid and "trace_id" not in event_dict:  # a log line leads to its trace
        event_dict["trace_id"] = tid
    return event_dict


def configure_logging(service: str, level: str = "INFO", json: bool = True) -> None:
    """Route stdlib and structlog logs through one JSON renderer with masking."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_correlation,
        structlog.processors.format_exc_info,
        mask_phi,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _bind_service(service),
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _bind_service(service: str) -> Any:
    def add(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return add
