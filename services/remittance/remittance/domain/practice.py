"""A tenant's practice as its statements print it: the header (name, address, phone), how to pay, and where
payments are mailed; built from the profile claims announces (``practice.changed``), or from the settings for
a tenant whose profile has not come yet."""

from __future__ import annotations

from dataclasses import dataclass


def address_lines(line1: str, line2: str | None, city: str, state: str, postal_code: str) -> tuple[str, ...]:
    """A postal address as mailed: the street line(s), then ``City, ST 12345``."""
    return (line1, *([line2] if line2 else []), f"{city}, {state} {postal_code}")


def split_address(text: str) -> tuple[str, ...]:
    """An address written on one line (``100 Main St, Springfield, IL 62701``) as mailed: each part before the
    city on its own line, the city with its state and ZIP code last. Text with fewer than three parts stays
    one line (it is not an address this can place)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) < 3:
        return (text.strip(),) if text.strip() else ()
    return (*parts[:-2], f"{parts[-2]}, {parts[-1]}")


@dataclass(frozen=True)
class Practice:
    name: str
    address: tuple[str, ...]  # the lines under the name
    phone: str
    pay_online: str | None = None  # where patients pay online (an address on the web)
    pay_by_mail: str | None = None  # where checks are mailed, on one line; None: the statement address
    from_profile: bool = True  # False: the deployment's settings stand in for a profile not announced yet

    @property
    def remit_to(self) -> tuple[str, ...]:
        """The coupon's mail-to block: ``pay_by_mail`` as lines, else the practice's name and address."""
        if self.pay_by_mail:
            lines = split_address(self.pay_by_mail)
            # a first line with a number is the street or PO box: the payee's name goes above it
            return (self.name, *lines) if any(ch.isdigit() for ch in lines[0]) else lines
        return (self.name, *self.address)

    def how_to_pay(self) -> list[str]:
        ways = []
        if self.pay_online:
            ways.append(f"Online: {self.pay_online} (have your account number at hand)")
        ways.append("By mail: send the coupon below with your check to " + ", ".join(self.remit_to))
        ways.append(f"By phone: call {self.phone} to pay by card")
        return ways
