"""Structured JSON logs with the request's correlation id, and PHI kept out of every line by construction.

The rule, for every process of the platform:

- A log message is a constant template. What varies goes in structured fields (``extra={...}``), and only
  fields named in ``LOG_FIELDS`` (ids, codes, counts, durations, states) keep their values: any other field
  is replaced by ``[REDACTED]``, so a name or a note passed by mistake never reaches the line.
- A template's %-arguments (third-party libraries log that way) are rendered only when they are numbers or
  ids (``int``, ``float``, ``Decimal``, ``UUID``, enums); text there is replaced, since nothing tells a
  topic name from a patient's.
- An exception is logged as its type, where it was raised (files, lines, functions, source lines) and what
  its type says without values (an OS error number, a SQLSTATE, an X12 location, a validation error's
  field paths and error types): never its message nor locals. Messages carry the values a statement, a
  validator or an f-string was given (``invalid input syntax for type date: "Canary"``).
- Text that is kept (the template, allowed string fields) still goes through ``mask_text``: SSNs, dates
  and raw X12 are masked wherever they appear, a safety net under the rule.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Mapping
from contextvars import ContextVar
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import structlog
from structlog.typing import EventDict

from rcm_shared.tracing import trace_id
from rcm_shared.x12.errors import X12Error

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# Fields whose values a log line keeps. Each names an id, a code, a count, a duration or a state: never a
# free-text field of a request (a note, a reason, a name), which is why "reason" and "name" are not here.
LOG_FIELDS = frozenset(
    {
        # ids
        "claim_id",
        "remittance_id",
        "remittance_ids",
        "superseded_ids",
        "event_id",
        "tenant_id",
        "worker",
        "task",
        "consumer",
        "file",
        "folder",
        "target",
        "topic",
        "topics",
        "partition",
        "offset",
        "position",
        "end",
        "cluster",
        "previous_cluster",
        "exporter",
        "role",
        "control_id",  # an HL7 message's MSH-10 (the sender's message number, no patient data)
        # codes and states
        "event_type",
        "message_type",  # an HL7 message's MSH-9 (ADT^A04, DFT^P03)
        "schema_version",
        "method",
        "route",
        "status",
        "statuses",
        "kind",
        "cause",
        "error",
        # counts and durations
        "count",
        "attempt",
        "max_attempts",
        "produced",
        "consumed",
        "requeued",
        "removed",
        "before",
        "delay_s",
        "timeout_s",
        "poll_s",
    }
)
# What every line carries besides its fields (structlog's own keys included).
_FRAME = frozenset(
    {
        "event",
        "level",
        "logger",
        "timestamp",
        "service",
        "correlation_id",
        "trace_id",
        "exception",
        "stack_info",
        "_record",
        "_from_structlog",
    }
)
_DROPPED = frozenset({"color_message"})  # uvicorn's copy of the message with terminal colours
_PATTERNS = (
    (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), "[SSN]"),
    (re.compile(r"ISA[*|^~:].{60,}", re.DOTALL), "[X12]"),
    (re.compile(r"\b(?:NM1|N3|N4|DMG|REF)\*[^~\n]*~?"), "[X12-SEGMENT]"),
    (re.compile(r"\b(?:19|20)\d{2}-\d{2}-\d{2}\b(?!T)"), "[DATE]"),
)
MASK = "[REDACTED]"
_SAFE_ARGS = (int, float, Decimal, UUID, Enum)  # bool is an int


def mask_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def describe_error(exc: BaseException) -> str:
    """The exception's type and what its type tells without a value: no message, no arguments."""
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    details: list[str] = []
    errors = getattr(exc, "errors", None)
    if kind.__module__.startswith("pydantic") and callable(errors):
        # field paths and error types (from the schema); not the input, not the message (a validator's
        # ValueError text may quote the value)
        found = errors(include_url=False, include_context=False, include_input=False)
        places = [".".join(str(p) for p in e.get("loc", ())) + f" [{e.get('type')}]" for e in found[:10]]
        details.append(f"{len(found)} validation error(s): " + "; ".join(places))
    elif isinstance(exc, OSError) and exc.errno is not None:
        details.append(f"errno {exc.errno}")  # the number only: strerror and filename may be a file's name
    elif isinstance(exc, json.JSONDecodeError):
        details.append(f"{exc.msg} at offset {exc.pos}")
    if isinstance(exc, X12Error):
        where = {
            "code": exc.code,
            "transaction": exc.transaction,
            "position": exc.position,
            "segment": exc.segment_id,
            "element": exc.element,
        }
        details.append(" ".join(f"{k}={v}" for k, v in where.items() if v is not None))
    for attribute in ("sqlstate", "pgcode"):  # asyncpg, psycopg: the SQLSTATE class of a database error
        code = getattr(exc, attribute, None)
        if isinstance(code, str) and code.isalnum():
            details.append(f"sqlstate {code}")
            break
    orig = getattr(exc, "orig", None)  # SQLAlchemy's wrapper of the driver's error
    if isinstance(orig, BaseException) and orig is not exc:
        details.append(f"from {describe_error(orig)}")
    if isinstance(exc, BaseExceptionGroup):
        details.append("; ".join(describe_error(e) for e in exc.exceptions[:5]))
    return name + (f" ({', '.join(details)})" if details else "")


_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"


def _chain(exc: BaseException) -> list[tuple[BaseException, str]]:
    """The exception and the ones before it, oldest first, each with the line Python prints before it."""
    newest_first: list[tuple[BaseException, str]] = []
    current: BaseException | None = exc
    while current is not None and len(newest_first) < 8 and not any(current is e for e, _ in newest_first):
        if current.__cause__ is not None:
            older, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            older, link = current.__context__, _CONTEXT
        else:
            older, link = None, ""
        newest_first.append((current, link))
        current = older
    return list(reversed(newest_first))


def format_exception(exc: BaseException) -> str:
    """A traceback of places only: every frame's file, line, function and source line, then
    ``describe_error`` for each exception of the chain in place of its message."""
    out: list[str] = []
    for i, (e, link) in enumerate(_chain(exc)):
        if link and i:
            out.append(f"\n{link}\n\n")
        frames = traceback.extract_tb(e.__traceback__)
        if frames:
            out.append("Traceback (most recent call last):\n")
            out.extend(traceback.format_list(frames))
        out.append(describe_error(e) + "\n")
    return "".join(out).rstrip("\n")


def _exc_info(value: Any) -> BaseException | None:
    if isinstance(value, BaseException):
        return value
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], BaseException):
        return value[1]
    if value is True:
        return sys.exc_info()[1]
    return None


def _exception_without_values(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    supplied = event_dict.pop("exception", None)  # text passed by a caller is not a traceback of places
    exc = _exc_info(event_dict.pop("exc_info", None))
    if exc is not None:
        event_dict["exception"] = format_exception(exc)
    elif supplied is not None:
        event_dict["exception"] = MASK
    return event_dict


def _template_without_text(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """A stdlib record's message: its template with only the numeric %-arguments put in."""
    args = event_dict.pop("positional_args", ())
    template = str(event_dict.get("event", ""))
    if not args:
        return event_dict
    if isinstance(args, Mapping):
        safe: Any = {k: v if isinstance(v, _SAFE_ARGS) else MASK for k, v in args.items()}
    else:
        safe = tuple(a if isinstance(a, _SAFE_ARGS) else MASK for a in args)
    try:
        event_dict["event"] = template % safe
    except (TypeError, ValueError, KeyError):  # a %d given text: the template alone
        event_dict["event"] = template + " [arguments withheld]"
    return event_dict


def _field_value(value: Any) -> Any:
    if isinstance(value, BaseException):
        return describe_error(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        return _field_value(value.value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_field_value(v) for v in value]
    if isinstance(value, Mapping):
        return {mask_text(str(k)): _field_value(v) for k, v in value.items()}
    return mask_text(str(value))


def keep_allowed_fields(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Fields named in ``LOG_FIELDS`` keep their values (exceptions described by type); others are masked."""
    for key, value in list(event_dict.items()):
        if key in ("event", "exception"):
            event_dict[key] = mask_text(str(value))
        elif key in _FRAME:
            continue
        elif key in LOG_FIELDS:
            event_dict[key] = _field_value(value)
        elif key in _DROPPED:
            del event_dict[key]
        else:
            event_dict[key] = MASK
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
    """Route stdlib and structlog logs through one JSON renderer that keeps allowed fields only."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_correlation,
        _exception_without_values,
        keep_allowed_fields,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[_template_without_text, structlog.stdlib.ExtraAdder(), *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _bind_service(service),
            renderer,
        ],
        use_get_message=False,  # the template; its arguments are put in by _template_without_text
        pass_foreign_args=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn gives its loggers handlers of their own (plain text, exception messages included): its lines
    # go through the root's handler like every other
    for own in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(own).handlers[:] = []
        logging.getLogger(own).propagate = True
    for noisy in ("aiokafka", "uvicorn.access", "watchfiles"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _bind_service(service: str) -> Any:
    def add(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return add


__all__ = [
    "LOG_FIELDS",
    "MASK",
    "configure_logging",
    "correlation_id",
    "describe_error",
    "format_exception",
    "keep_allowed_fields",
    "mask_text",
]
