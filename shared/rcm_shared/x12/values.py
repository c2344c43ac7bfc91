"""Element values: parsers that raise located X12 errors, and the text X12 writes for a value."""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import Segment, TransactionHeader

# Free text (a name, a member id, a group number) an element carries as it is: the printable characters of the
# 005010 extended character set (ASCII letters, digits, space and the special characters) but the delimiters
# (* : ^ ~ as written here, | and \ as some receivers choose). A control character (a line feed ends a segment
# for some readers) or a letter outside ASCII (which the receiver's code page may lack) is no X12 text.
X12_TEXT = r"^[A-Za-z0-9 !\"#$%&'()+,\-./;<=>?@\[\]_`{}]*$"


def x12_folded(text: str) -> str:
    """Text as X12 can carry it where it comes from another system (an EHR's registration): letters with
    accents as their base letter (MUÑOZ as MUNOZ), the rest as it is, to be checked against ``X12_TEXT``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def located(header: TransactionHeader, seg: Segment, element: int, message: str, code: str) -> X12Error:
    """An error at one element of one segment of a transaction set."""
    return X12Error(
        message,
        interchange=header.interchange.control_number,
        transaction=header.control_number,
        position=seg.position,
        segment_id=seg.id,
        element=element,
        code=code,
    )


def money(header: TransactionHeader, seg: Segment, element: int, *, required: bool = True) -> Decimal | None:
    text = seg[element].strip()
    if not text:
        if required:
            raise located(header, seg, element, "required amount is missing", "missing")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise located(header, seg, element, f"not a decimal: {text[:20]!r}", "not_decimal") from None
    if not value.is_finite() or abs(value) >= Decimal("1e15"):
        raise located(header, seg, element, f"amount out of range: {text[:20]!r}", "not_decimal")
    return value


def req_money(header: TransactionHeader, seg: Segment, element: int) -> Decimal:
    value = money(header, seg, element)
    assert value is not None
    return value


def ccyymmdd(header: TransactionHeader, seg: Segment, element: int) -> date | None:
    text = seg[element].strip()
    if not text:
        return None
    if len(text) != 8 or not text.isdigit():
        raise located(header, seg, element, f"not a CCYYMMDD date: {text[:20]!r}", "not_date")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise located(header, seg, element, f"not a real date: {text!r}", "not_date") from None


def number(header: TransactionHeader, seg: Segment, element: int) -> Decimal | None:
    return money(header, seg, element, required=False)


def date_range(header: TransactionHeader, seg: Segment, element: int = 3) -> tuple[date, date | None]:
    """A D8 date or an RD8 range (CCYYMMDD-CCYYMMDD) in one element."""
    first, _, last = seg[element].partition("-")
    start = ccyymmdd(header, Segment(seg.id, [seg.id, *([""] * (element - 1)), first], seg.position), element)
    end = (
        ccyymmdd(header, Segment(seg.id, [seg.id, *([""] * (element - 1)), last], seg.position), element)
        if last
        else None
    )
    if start is None:
        raise located(header, seg, element, "date is missing", "missing")
    return start, end


def x12_amount(value: Decimal) -> str:
    """Money as X12 writes it: two decimals, or none for whole amounts (125, 45.50)."""
    text = format(value.quantize(Decimal("0.01")), "f")
    return text[:-3] if text.endswith(".00") else text


def d8(value: date) -> str:
    """A date as X12 writes it (format qualifier D8): CCYYMMDD."""
    return value.strftime("%Y%m%d")
