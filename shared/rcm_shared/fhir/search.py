"""FHIR search: the parameters every search takes (`_count`, `_lastUpdated`, paging), date, token and
reference parameters, and the `searchset` Bundle with its paging links.

Paging is by keyset: a page's `next` link carries an opaque cursor (the last entry's sort key and id), so a
claim written while a client pages never makes it see an entry twice or skip one, as an offset would.
Unknown parameters, and parameters with a modifier (`patient:missing`, `_count:x`: none is supported), are
ignored and named in an OperationOutcome entry of the Bundle, unless the client asks `Prefer: handling=strict`
(then they are a 400), as the FHIR search page prescribes.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.requests import Request

from rcm_shared.fhir.outcome import FhirError, Issue, operation_outcome

T = TypeVar("T")
DEFAULT_COUNT = 20
MAX_COUNT = 100
# Values one search parameter may carry, comma-separated and repeated together: a query ORs one term per value,
# and SQLite refuses an expression deeper than 1000 terms (an identifier token is two).
MAX_VALUES = 100
CURSOR = "_cursor"
COMMON = frozenset({"_count", "_lastUpdated", CURSOR, "_format", "_total"})

_COUNT = re.compile(r"[0-9]+")  # ASCII digits (fullmatch): str.isdigit() is true of "²", which int() refuses
_DATE = re.compile(r"^(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?(?P<value>\d{4}(-\d{2}(-\d{2}(T.+)?)?)?)$")


@dataclass(frozen=True)
class DateRange:
    """Matches moments t with lower <= t < upper (either end open when None); UTC."""

    lower: datetime | None = None
    upper: datetime | None = None

    def narrowed(self, other: DateRange) -> DateRange:
        lower = max((d for d in (self.lower, other.lower) if d is not None), default=None)
        upper = min((d for d in (self.upper, other.upper) if d is not None), default=None)
        return DateRange(lower, upper)

    def holds(self, moment: datetime) -> bool:
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return (self.lower is None or moment >= self.lower) and (self.upper is None or moment < self.upper)


def _span(text: str, name: str) -> tuple[datetime, datetime]:
    """The instants a date parameter's value covers at its precision: [start, end). A value whose span leaves
    the years 1 to 9999 (the last day of 9999, the first instant of year 1 east of UTC) is a 400 too:
    datetime arithmetic raises OverflowError there, not ValueError."""
    try:
        if len(text) == 4:
            start = datetime(int(text), 1, 1, tzinfo=UTC)
            return start, start.replace(year=start.year + 1)
        if len(text) == 7:
            start = datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=UTC)
            year, month = divmod(start.month, 12)
            return start, start.replace(year=start.year + year, month=month + 1)
        if len(text) == 10:
            start = datetime.fromisoformat(text).replace(tzinfo=UTC)
            return start, start + timedelta(days=1)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise FhirError.of(400, f"{name}: a time needs a time zone (e.g. Z or +00:00)", expression=name)
        moment = moment.astimezone(UTC)
        precision = timedelta(seconds=1) if moment.microsecond == 0 else timedelta(microseconds=1)
        return moment, moment + precision
    except (ValueError, OverflowError):
        raise FhirError.of(
            400, f"{name}: {text!r} is not a FHIR date or dateTime between the years 1 and 9999", expression=name
        ) from None


def date_range(name: str, values: Sequence[str]) -> DateRange:
    """Every value of a date parameter (repeated: all must hold) as one range; eq, gt, ge, lt, le only."""
    found = DateRange()
    for raw in values:
        match = _DATE.match(raw)
        if not match:
            raise FhirError.of(400, f"{name}: {raw!r} is not a FHIR date search value", expression=name)
        prefix = match["prefix"] or "eq"
        start, end = _span(match["value"], name)
        if prefix == "eq":
            this = DateRange(start, end)
        elif prefix == "ge":
            this = DateRange(start, None)
        elif prefix == "gt":
            this = DateRange(end, None)
        elif prefix == "le":
            this = DateRange(None, end)
        elif prefix == "lt":
            this = DateRange(None, start)
        else:
            raise FhirError.of(
                400, f"{name}: the prefix {prefix!r} is not supported (eq, gt, ge, lt, le are)", expression=name
            )
        found = found.narrowed(this)
    return found


def reference_id(name: str, value: str, kind: str) -> str:
    """`Patient/123`, `123` or `https://.../Patient/123` -> `123`; another type is a 400."""
    parts = value.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] != kind:
        raise FhirError.of(400, f"{name} must reference a {kind} (got {value!r})", expression=name)
    ident = parts[-1]
    if not ident or len(ident) > 64:
        raise FhirError.of(400, f"{name}: {value!r} is not a {kind} reference", expression=name)
    return ident


def token(value: str) -> tuple[str | None, str]:
    """A token parameter `system|code`, `|code` (no system) or `code` (any system) -> (system, code)."""
    if "|" not in value:
        return None, value
    system, code = value.split("|", 1)
    return system, code


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: the last entry's sort key (ISO instant or other text) and its id."""

    key: str
    id: str

    def encode(self) -> str:
        return base64.urlsafe_b64encode(json.dumps([self.key, self.id]).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            key, ident = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            return cls(str(key), str(ident))
        except (ValueError, TypeError):
            raise FhirError.of(400, f"{CURSOR} is not a cursor this server handed out", expression=CURSOR) from None


@dataclass
class Search:
    """A search request's parameters: the ones the resource supports, the common ones, and what was ignored."""

    params: dict[str, list[str]]
    count: int = DEFAULT_COUNT
    last_updated: DateRange = field(default_factory=DateRange)
    cursor: Cursor | None = None
    ignored: list[str] = field(default_factory=list)

    def one(self, name: str) -> str | None:
        values = self.params.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise FhirError.of(400, f"{name} may be given once", expression=name)
        return values[0]

    def any_of(self, name: str, value_of: Callable[[str], str | None] = lambda v: v) -> set[str] | None:
        """A parameter's values, None when it is not given: comma-separated values are alternatives (OR), a
        repeated parameter must hold each time (AND: the sets intersect). ``value_of`` turns a value into what
        is stored (None: a value that can match nothing)."""
        found: set[str] | None = None
        for raw in self.params.get(name, []):
            these = {v for part in raw.split(",") if part and (v := value_of(part)) is not None}
            found = these if found is None else found & these
        return found

    def date(self, name: str) -> DateRange:
        return date_range(name, self.params.get(name, []))

    def after(self) -> Keyset | None:
        """Where this page starts: after the (instant, id) the cursor names; None on the first page."""
        if self.cursor is None:
            return None
        # In UTC here, as the cursors handed out are: an instant east of UTC on 0001-01-01 (or west of it on
        # 9999-12-31) leaves datetime's range there, and would fail (OverflowError) when the query binds it.
        try:
            moment = datetime.fromisoformat(self.cursor.key.replace("Z", "+00:00"))
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
        except (ValueError, OverflowError):
            raise FhirError.of(400, f"{CURSOR} is not a cursor this server handed out", expression=CURSOR) from None
        return moment, self.cursor.id


Keyset = tuple[datetime, str]
"""A search's sort key: the instant it orders by (newest first) and the id that breaks ties."""


def paged(rows: Sequence[T], search: Search, key: Callable[[T], Keyset]) -> tuple[list[T], Cursor | None]:
    """A page of a query that read up to ``search.count + 1`` rows in keyset order: at most ``count`` of them,
    and the cursor after the last when there was one more."""
    page = list(rows[: search.count])
    if len(rows) <= search.count or not page:  # _count=0: no entries and no next page, only the Bundle
        return page, None
    moment, ident = key(page[-1])
    return page, Cursor(instant(moment), ident)


def parse_search(request: Request, supported: Sequence[str]) -> Search:
    """The request's query as a Search over the `supported` parameters (comma-separated values are ORs,
    left to the caller; a parameter repeated is an AND); more than ``MAX_VALUES`` values of one is a 400."""
    strict = "handling=strict" in request.headers.get("prefer", "").replace(" ", "")
    params: dict[str, list[str]] = {}
    ignored: list[str] = []
    for name, value in request.query_params.multi_items():
        base, modified, _modifier = name.partition(":")
        if not modified and (name in COMMON or name in supported):
            params.setdefault(name, []).append(value)
        elif strict and modified and (base in COMMON or base in supported):
            raise FhirError.of(
                400, f"the search parameter {base!r} takes no modifier here (got {name!r})", expression=name
            )
        elif strict:
            raise FhirError.of(400, f"the search parameter {name!r} is not supported here", expression=name)
        else:
            ignored.append(name)
    for name, values in params.items():
        if sum(len(value.split(",")) for value in values) > MAX_VALUES:
            raise FhirError.of(
                400,
                f"the search parameter {name!r} takes at most {MAX_VALUES} values (comma-separated and repeated)",
                expression=name,
            )
    search = Search(params, ignored=sorted(set(ignored)))
    count = search.one("_count")
    if count is not None:
        if not _COUNT.fullmatch(count):
            raise FhirError.of(400, "_count must be a whole number (0 or more)", expression="_count")
        # a count of thousands of digits is more than int() converts; any count over MAX_COUNT is MAX_COUNT
        search.count = min(int(count), MAX_COUNT) if len(count) <= 6 else MAX_COUNT
    search.last_updated = date_range("_lastUpdated", params.get("_lastUpdated", []))
    cursor = search.one(CURSOR)
    search.cursor = Cursor.decode(cursor) if cursor else None
    return search


def searchset(
    base: str,
    kind: str,
    search: Search,
    resources: Sequence[Mapping[str, Any]],
    next_cursor: Cursor | None,
) -> dict[str, Any]:
    """The Bundle a search answers: its matches (at most `search.count`), `self` and `next` links made of the
    parameters that were used, and, when some were ignored, an OperationOutcome entry naming them."""
    used = [(name, v) for name, values in search.params.items() if name != CURSOR for v in values]
    self_query = [*used, *([(CURSOR, search.cursor.encode())] if search.cursor else [])]
    links = [{"relation": "self", "url": _url(base, kind, self_query)}]
    if next_cursor is not None:
        links.append({"relation": "next", "url": _url(base, kind, [*used, (CURSOR, next_cursor.encode())])})
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
        for r in resources
    ]
    if search.ignored:
        note = Issue(
            f"ignored search parameter(s): {', '.join(search.ignored)} (send Prefer: handling=strict to be refused)",
            "not-supported",
            severity="warning",
        )
        entries.append({"resource": operation_outcome([note]), "search": {"mode": "outcome"}})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "link": links,
    }
    if entries:  # FHIR JSON has no empty arrays: no match, no entry element
        bundle["entry"] = entries
    return bundle


def _url(base: str, kind: str, query: list[tuple[str, str]]) -> str:
    return f"{base}/{kind}" + (f"?{urlencode(query)}" if query else "")


def instant(moment: datetime) -> str:
    """A FHIR instant (UTC, Z) for meta.lastUpdated and the like; naive values are taken as UTC."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
