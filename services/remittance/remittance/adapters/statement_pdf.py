"""A patient statement as the PDF mailed to the patient (fpdf2, core fonts), on US letter paper folded in
three for a standard #10 double-window envelope, with a remittance coupon to detach along the lower fold.

Where things sit (inches from the sheet's top-left corner). A #10 double-window envelope (4 1/8 x 9 1/2 in)
has its address window 4 1/2 x 1 1/8 in, 7/8 in from the left and 1/2 in from the bottom (the USPS-common
window), and a return window above it. The blocks below are those print-and-mail vendors publish for a
tri-folded letter sheet in that envelope (PostalMethods' #10 double-window guide): the recipient block 0.5 in
from the left and 2.042 in from the top, at most 3.5 x 0.875 in; the return block 0.5 in from the left and
the top, at most 3.5 x 0.792 in. Inside them the text shows through the windows however the sheet shifts in
the envelope. The coupon is the sheet's bottom third (below the lower fold, at 11 - 11/3 in); its mail-to
block sits 4 in from the left and 9.5 in from the top, where the same guide places the address a #9
reply envelope's window shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from fpdf import FPDF


@dataclass(frozen=True)
class Block:
    x: float
    y: float
    w: float
    h: float


RETURN_BLOCK = Block(0.5, 0.5, 3.5, 0.792)
ADDRESS_BLOCK = Block(0.5, 2.042, 3.5, 0.875)
REMIT_BLOCK = Block(4.0, 9.5, 3.5, 0.875)
BODY_TOP = 3.375  # below the address block, with room for the window's shift
CUT_Y = 11 - 11 / 3  # the lower fold: the coupon is the bottom panel
PAGE_BOTTOM = 10.5
LEFT, RIGHT = 0.5, 8.0
LINE = 0.16  # a line of 9-point text
# the visits table: date, service (and provider), then the money
COLUMNS = (0.8, 2.9, 0.65, 0.65, 0.65, 0.65, 0.6, 0.6)
HEADS = ("Date", "Service", "Charge", "Ins. paid", "Adjusted", "Your share", "You paid", "Balance")


def money(cents: int) -> str:
    return f"{'-' if cents < 0 else ''}${abs(cents) / 100:,.2f}"


def _t(text: str | None) -> str:
    """Text the core fonts can print (Latin-1): anything else becomes '?' rather than failing the run."""
    return (text or "").encode("latin-1", "replace").decode("latin-1")


class _Sheet:
    """The pages of one statement, flowing the body below page 1's address block and above its coupon."""

    def __init__(self, doc: dict[str, Any]) -> None:
        from fpdf import FPDF

        self.doc = doc
        self.pdf: FPDF = FPDF(format="letter", unit="in")
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margins(LEFT, 0.5, 8.5 - RIGHT)
        self.pdf.add_page()
        self.limit = CUT_Y - 0.25
        self.heads: tuple[str, ...] | None = None  # the table's heading row, repeated atop a continued page

    def font(self, size: float, style: str = "") -> None:
        self.pdf.set_font("Helvetica", style, size)

    def text_at(self, x: float, y: float, text: str, size: float = 9, style: str = "", width: float = 0) -> None:
        """One line at (x, y), shrunk (down to 6 points) to fit ``width`` when given."""
        self.font(size, style)
        text = _t(text)
        while width and size > 6 and self.pdf.get_string_width(text) > width:
            size -= 0.5
            self.font(size, style)
        self.pdf.set_xy(x, y)
        self.pdf.cell(width or 0, size / 72 * 1.25, text)

    def block(self, at: Block, lines: list[tuple[str, str]]) -> None:
        """Lines (text, style) inside a window block, top down."""
        y = at.y
        for text, style in lines:
            self.text_at(at.x, y, text, 9, style, width=at.w)
            y += LINE

    def room(self, height: float) -> None:
        """A new page when ``height`` more does not fit above the coupon (page 1) or the bottom margin."""
        if self.pdf.get_y() + height <= self.limit:
            return
        self.font(8, "I")
        self.pdf.cell(0, LINE, "Continued on the next page.", new_x="LMARGIN", new_y="NEXT")
        self.pdf.add_page()
        self.limit = PAGE_BOTTOM
        self.text_at(LEFT, 0.5, f"{self.doc['practice']['name']} - account {self.doc['account_id']}", 8, "I")
        self.pdf.set_xy(LEFT, 0.8)
        if self.heads:
            self.row(self.heads, "B", border=1)

    def row(self, cells: tuple[str, ...], style: str = "", border: Literal[0, 1] = 0) -> None:
        self.room(LINE)
        self.font(8, style)
        for i, (w, text) in enumerate(zip(COLUMNS, cells, strict=True)):
            self.pdf.cell(w, LINE, _t(text), border=border, align="R" if i >= 2 else "L")
        self.pdf.ln(LINE)

    def wrapped(self, indent: float, text: str, style: str = "", size: float = 8) -> None:
        """A paragraph across the body's width, kept whole on one page."""
        self.font(size, style)
        width = RIGHT - LEFT - indent
        lines = self.pdf.multi_cell(width, LINE, _t(text), dry_run=True, output="LINES")
        assert isinstance(lines, list)  # output="LINES" answers the lines alone
        self.room(LINE * len(lines))
        self.pdf.set_x(LEFT + indent)
        self.pdf.multi_cell(width, LINE, _t(text), new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str) -> None:
        self.room(LINE * 3)
        self.pdf.ln(0.08)
        self.font(10, "B")
        self.pdf.cell(0, 0.22, _t(text), new_x="LMARGIN", new_y="NEXT")


def _top(sheet: _Sheet, doc: dict[str, Any]) -> None:
    practice, mailing = doc["practice"], doc["mailing"]
    sheet.block(RETURN_BLOCK, [(practice["name"], "B"), *((line, "") for line in practice["address"])])
    if mailing["mailable"]:
        sheet.block(ADDRESS_BLOCK, [(mailing["recipient"], ""), *((line, "") for line in mailing["address"])])
    else:  # the office sees at once that this one cannot go in an envelope
        sheet.block(ADDRESS_BLOCK, [("NO MAILING ADDRESS ON FILE", "B"), ("Hand out, or correct the address.", "")])
    x, w = 4.6, RIGHT - 4.6
    sheet.text_at(x, 0.5, "PATIENT STATEMENT", 13, "B", width=w)
    sheet.text_at(x, 0.8, f"Statement date: {doc['statement_date']}", width=w)
    sheet.text_at(x, 0.8 + LINE, f"Account number: {doc['account_id']}", width=w)
    sheet.text_at(x, 0.8 + 2 * LINE, f"Please pay by: {doc['due_date']}", width=w)
    sheet.text_at(x, 1.4, f"Amount due: {money(doc['amount_due_cents'])}", 12, "B", width=w)
    if doc["insurance_pending_cents"]:
        sheet.text_at(x, 1.65, f"Still with your insurance: {money(doc['insurance_pending_cents'])}", width=w)
        sheet.text_at(x, 1.65 + LINE, "(not due: your insurance has yet to answer)", 8, "I", width=w)
    sheet.text_at(x, 2.15, f"Questions about your bill? Call {practice['phone']}", width=w)


def _visits(sheet: _Sheet, doc: dict[str, Any]) -> None:
    sheet.heading("YOUR VISITS")
    sheet.row(HEADS, "B", border=1)
    sheet.heads = HEADS
    for v in doc["visits"]:
        owed = sum(v["patient_responsibility_cents"].values())
        adjusted = v["contractual_adjustment_cents"] + v["other_adjustment_cents"]
        sheet.room(LINE * (4 + len(v["services"])))  # the visit whole, its share's line with it
        provider = f" with {v['provider_name']}" if v["provider_name"] else ""
        sheet.row((v["service_date"] or "", f"Visit{provider}", "", "", "", "", "", ""), "B")
        for s in v["services"]:
            on = s["service_date"] if s["service_date"] != v["service_date"] else ""
            # the practice's words name the code after them; the generic label names it already
            label = f"{s['label']} ({s['procedure_code']})" if s["description"] else s["label"]
            sheet.row((on or "", label, money(s["charge_cents"]), *[""] * 5))
        sheet.row(
            (
                "",
                "Visit total",
                money(v["charge_cents"]),
                money(v["insurance_paid_cents"]),
                money(adjusted),
                money(owed),
                money(v["patient_paid_cents"]),
                money(v["balance_cents"]),
            ),
            "B",
        )
        detail = ", ".join(
            f"{k.replace('_', ' ')} {money(c)}" for k, c in v["patient_responsibility_cents"].items() if c
        )
        if detail:
            sheet.wrapped(0.8, f"Your share: {detail}", "I")
    sheet.heads = None


def _pending(sheet: _Sheet, doc: dict[str, Any]) -> None:
    if not doc["insurance_pending"]:
        return
    sheet.heading(f"STILL WITH YOUR INSURANCE (not due yet): {money(doc['insurance_pending_cents'])}")
    for v in doc["insurance_pending"]:
        who = f", {v['provider_name']}" if v["provider_name"] else ""
        sheet.wrapped(
            0.0,
            f"{v['service_date'] or ''}  {v['label']}{who}: billed {money(v['charge_cents'])}, "
            f"awaiting insurance {money(v['awaiting_insurance_cents'])}",
        )


def _totals(sheet: _Sheet, doc: dict[str, Any]) -> None:
    if doc["on_account_cents"]:
        sheet.wrapped(0.0, f"Payments on account (credit): {money(doc['on_account_cents'])}")
    aging = "   ".join(f"{k} days {money(c)}" for k, c in doc["aging_cents"].items())
    sheet.wrapped(0.0, f"AMOUNT DUE: {money(doc['amount_due_cents'])}      Aging: {aging}", "B", size=9)
    sheet.wrapped(0.0, "How to pay. " + ". ".join(doc["how_to_pay"]) + ".")


def _coupon(sheet: _Sheet, doc: dict[str, Any]) -> None:
    """The bottom panel of page 1, below a dashed cut line: what the patient mails back with the check."""
    pdf, coupon = sheet.pdf, doc["coupon"]
    pdf.set_dash_pattern(dash=0.08, gap=0.05)
    pdf.set_line_width(0.01)
    pdf.line(0.25, CUT_Y, 8.25, CUT_Y)
    pdf.set_dash_pattern()
    sheet.text_at(
        LEFT, CUT_Y + 0.05, "Please detach along this line and return the part below with your payment.", 7, "I"
    )
    y = CUT_Y + 0.35
    sheet.text_at(LEFT, y, "PAYMENT COUPON", 11, "B")
    fields = [
        ("Patient", coupon["patient_name"] or ""),
        ("Account number", coupon["account_id"]),
        ("Statement date", coupon["statement_date"]),
        ("Please pay by", coupon["due_date"]),
    ]
    for i, (label, value) in enumerate(fields):
        sheet.text_at(LEFT, y + 0.3 + i * LINE, f"{label}: {value}", width=3.3)
    sheet.text_at(LEFT, y + 1.05, f"Amount due: {money(coupon['amount_due_cents'])}", 11, "B", width=3.3)
    sheet.text_at(LEFT, y + 1.45, "Amount enclosed: $", 10, "B")
    pdf.set_line_width(0.015)
    pdf.rect(LEFT + 1.45, y + 1.38, 1.6, 0.32)
    sheet.text_at(4.0, y, f"Make checks payable to: {coupon['payable_to']}", 9, "B", width=4.0)
    sheet.text_at(4.0, y + LINE, f"Write account number {coupon['account_id']} on your check.", 8, width=4.0)
    sheet.text_at(REMIT_BLOCK.x, REMIT_BLOCK.y - 0.3, "Mail to:", 8, "I")
    sheet.block(REMIT_BLOCK, [(line, "B" if i == 0 else "") for i, line in enumerate(coupon["remit_to"])])


def render_pdf(doc: dict[str, Any]) -> bytes:
    """The statement (``use_cases.statement_document``) as the PDF mailed: page 1 holds the addresses, the
    summary, the visits that fit and the coupon; visits that do not fit continue on the next pages."""
    sheet = _Sheet(doc)
    _top(sheet, doc)
    _coupon(sheet, doc)  # placed while on page 1: the body flows above it and on to later pages
    patient = doc["patient"] or {}
    who = " ".join(x for x in (patient.get("first_name"), patient.get("last_name")) if x) or "Patient"
    sheet.text_at(LEFT, BODY_TOP, f"Statement for: {who}", 10, "B")
    sheet.pdf.set_xy(LEFT, BODY_TOP + 0.25)
    _visits(sheet, doc)
    _pending(sheet, doc)
    _totals(sheet, doc)
    return bytes(sheet.pdf.output())
