"""The text of an MLLP frame as python-hl7's message tree, and reading values off that tree."""

from __future__ import annotations

import hl7
from hl7.parser import _ParsePlan, _split, create_parse_plan
from hl7.util import unescape


class Unreadable(ValueError):
    """The frame has no header to answer to: it is dropped with a warning (no ACK can name it)."""


def decode(frame: bytes) -> str:
    """The frame's text: UTF-8 (HL7's preferred character set), else ISO 8859-1, which reads any byte.
    Segments end in CR; senders that end them in LF or CRLF are read the same."""
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError:
        text = frame.decode("latin-1")
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r\n \x00")


class _Plan(_ParsePlan):  # type: ignore[misc]
    """python-hl7's parse plan with each level's next one made once: the library makes a new plan object for
    every field, repetition and component it splits (a quarter of its parsing time). The tree it builds is
    the same (``hl7.parse`` of python-hl7 0.4.5, pinned)."""

    _next: _Plan | None

    def next(self) -> _Plan | None:
        try:
            return self._next
        except AttributeError:
            plan = super().next()
            self._next = None if plan is None else _Plan(*_args(plan))
            return self._next


def _args(plan: _ParsePlan) -> tuple[object, ...]:
    return (plan.separator, plan.separators, plan.containers, plan.esc, plan.factory)


def parse(text: str) -> hl7.Message:
    """The message's tree, as ``hl7.parse`` builds it."""
    if not text.startswith("MSH") or len(text) < 8:
        raise Unreadable("the frame does not start with an MSH segment")
    fs, end = text[3], text.find(text[3], 4)
    encoding = text[4:end]
    # MSH-2 holds the component, repetition, escape and subcomponent characters (and from v2.7 truncation): an
    # ACK is written in the message's own separators, which fewer than four cannot name apart.
    if fs.isalnum() or fs.isspace() or not 4 <= len(encoding) <= 5 or len(set(fs + encoding)) != len(encoding) + 1:
        raise Unreadable("MSH-1 and MSH-2 are not separators")
    if any(c.isalnum() or c.isspace() for c in encoding):
        raise Unreadable("MSH-2 holds a letter, digit or space")
    try:
        plan = create_parse_plan(text)
        return _split(text, _Plan(*_args(plan)))
    except (hl7.ParseException, ValueError, IndexError, AssertionError) as exc:
        raise Unreadable(f"the header does not read: {type(exc).__name__}") from None


def value(seg: hl7.Segment, n: int, component: int = 1, repetition: int = 1, sub: int = 1) -> str:
    """A field's component (unescaped), '' when absent: python-hl7's ``extract_field`` read straight off the
    parsed tree (it builds an accessor for every read: a third of the time of reading a message)."""
    if n >= len(seg):
        return ""
    field = seg[n]
    if repetition > len(field):
        return ""
    node = field[repetition - 1]
    if not isinstance(node, str):
        if component > len(node):
            return ""
        node = node[component - 1]
        if not isinstance(node, str):
            node = node[sub - 1] if sub <= len(node) else ""
        elif sub != 1:
            return ""
    elif component != 1 or sub != 1:
        return ""
    text = str(node)
    return (unescape(seg, text) if seg.esc in text else text).strip()


def repetitions(seg: hl7.Segment, n: int) -> int:
    if n >= len(seg):
        return 0
    field = seg(n)
    if field and isinstance(field[0], hl7.Repetition):
        return len(field)
    return 1 if str(field) else 0
