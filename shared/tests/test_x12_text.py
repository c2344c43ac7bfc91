"""X12_TEXT, the free text an element carries as it is, and x12_folded, other systems' text made X12 text."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, Field, ValidationError
from rcm_shared.x12.values import X12_TEXT, x12_folded

PRINTABLE = "".join(chr(i) for i in range(0x20, 0x7F))


class Text(BaseModel):
    value: str = Field(pattern=X12_TEXT)


def test_every_printable_ascii_character_but_the_delimiters_is_x12_text() -> None:
    taken = "".join(c for c in PRINTABLE if re.fullmatch(X12_TEXT, c))
    assert set(PRINTABLE) - set(taken) == set("*:^~|\\")
    assert Text(value=taken).value == taken  # pydantic's (Rust) regex engine reads the pattern the same


@pytest.mark.parametrize(
    "text", ["GRP\n100", "GRP\r100", "GRP\t100", "\x07", "\x00", "\x7f", "GRPÉ100", "Ørsted", "A*B"]
)
def test_control_characters_letters_outside_ascii_and_delimiters_are_not(text: str) -> None:
    with pytest.raises(ValidationError):
        Text(value=text)


def test_folding_writes_letters_with_accents_as_their_base_letter_and_keeps_the_rest() -> None:
    assert x12_folded("Muñoz-Pérez, José") == "Munoz-Perez, Jose"
    assert x12_folded("Ørsted") == "Ørsted"  # no base letter in ASCII: left for X12_TEXT to refuse
