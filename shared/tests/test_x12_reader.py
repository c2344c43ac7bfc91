"""The X12 reader over the public sample corpus (tests/x12/samples, provenance in PROVENANCE.tsv)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.reader import X12Reader, iter_raw_segments
from rcm_shared.x12.writer import one_segment_per_line

SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "x12" / "samples"
PROVENANCE = {r["file"]: r for r in csv.DictReader((SAMPLES / "PROVENANCE.tsv").open(), delimiter="\t")}
FIVE_010 = sorted(f for f in PROVENANCE if not f.startswith("_non5010/"))
NON_5010 = sorted(p.relative_to(SAMPLES).as_posix() for p in (SAMPLES / "_non5010").iterdir())

# Files we reject, with the error pinned. Each of them pyx12 also fails (checked below).
REJECTED = {
    "271/imsweb__x270_271__x271.txt": "segment ISA, element 12: unsupported version '00401'",
    "271/lfh__271_005010X279A1__subscriber-health-benefit-check-error.271": "segment 8 SE, element 02: SE02 '4323' does not match ST02 '4321'",
    "271/nodex12__test-data__271.edi": "file ends inside a functional group (no GE)",
    "277/imsweb__277_5010__x12_277_x212.txt": "segment IEA, element 02: IEA02 '842928883' does not match ISA13 '000000001'",
    "837I/imsweb__837_5010__x223-test.txt": "segment 48 SE, element 01: SE01 says 25 segment(s), the transaction set has 48",
    "837P/imsweb__837_5010__x12_bad_first_line.txt": "SE02 '987654~' does not match ST02 '987654'",
    "837P/imsweb__837_5010__x12_bad_segment_identifier.txt": "segment 4: invalid segment identifier ''",
    "837P/imsweb__837_5010__x12_no_isa_line.txt": "the file does not start with an ISA segment",
    "837P/staedi__x12__sample837-original.edi": "unsupported version '00402'",
    "837P/staedi__x12__sample837-small.edi": "unsupported version '00402'",
    "999/imsweb__837_5010__x12_999_accepted.txt": "IEA02 '000000001' does not match ISA13 '000000286'",
    "999/staedi__x12__invalid999.edi": "SE01 says 16 segment(s), the transaction set has 18",
}
# The imsweb 837 test files all carry SE01 = 25 whatever their length (pyx12 fails them too).
SE_COUNT_25 = {f for f in FIVE_010 if f.startswith("837P/imsweb__") and f not in REJECTED}


@pytest.mark.parametrize("name", FIVE_010)
def test_every_5010_sample_is_read_or_rejected_with_a_pinned_error(name: str) -> None:
    path = SAMPLES / name
    if name in REJECTED or name in SE_COUNT_25:
        expected = REJECTED.get(name, "SE01 says 25 segment(s)")
        with pytest.raises(X12Error) as err:
            list(X12Reader(path))
        assert expected in str(err.value)
        assert PROVENANCE[name]["pyx12"] != "PASS", "a file pyx12 passes must pass here too"
    else:
        segments = list(X12Reader(path))
        assert segments[0][1].id == "ST" and segments[-1][1].id == "SE"


@pytest.mark.parametrize("name", NON_5010)
def test_4010_files_are_refused_as_unsupported_version(name: str) -> None:
    with pytest.raises(X12Error, match=r"unsupported version '(00401|004010X)") as err:
        list(X12Reader(SAMPLES / name))
    assert err.value.code == "unsupported_version"


def test_delimiters_come_from_the_isa() -> None:
    text = (SAMPLES / "837P/imsweb__837_5010__x12_valid_different_separators.txt").read_bytes()
    delims, first = next(iter_raw_segments(text))
    assert first[0] == "ISA" and delims.element != "*"


def test_bom_newlines_and_lowercase_ids_are_tolerated() -> None:
    raw = (SAMPLES / "835/pyx12__pyx12__835_mult_loops.txt").read_text().replace("~", "~\r\n")
    raw = raw.replace("CLP*", "clp*")
    segs = list(X12Reader(b"\xef\xbb\xbf\n  " + raw.encode()))
    assert any(s.id == "CLP" for _h, s in segs)


def test_streaming_reads_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import rcm_shared.x12.lexer as lexer

    monkeypatch.setattr(lexer, "CHUNK", 7)  # split segments and the ISA across many reads
    path = SAMPLES / "835/lfh__demo-file__demo.835"
    small = [s.elements for _h, s in X12Reader(io.BytesIO(path.read_bytes()))]
    monkeypatch.setattr(lexer, "CHUNK", 1 << 20)
    assert small == [s.elements for _h, s in X12Reader(path)]


SEED_FILES = [
    SAMPLES / "835/lfh__demo-file__demo.835",
    SAMPLES / "837P/lfh__demo-file__demo.837",
    SAMPLES / "837I/lfh__demo-file__demo.837i",
    SAMPLES / "271/lfh__271_005010X279A1__dependent-health-benefit-check.271",
    SAMPLES / "270/lfh__demo-file__demo.270",
    SAMPLES / "276/lfh__demo-file__demo.276",
    SAMPLES / "277/lfh__demo-file__demo.277",
    SAMPLES / "277CA/imsweb__277_5010__x12_277CA_rejected.txt",
    SAMPLES / "999/staedi__x12__simple999.edi",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400))
def test_random_bytes_give_a_clean_error(data: bytes) -> None:
    try:
        list(X12Reader(data))
    except X12Error:
        pass


@settings(max_examples=int(__import__("os").environ.get("RCM_FUZZ_EXAMPLES", "1500")), deadline=None)
@given(
    which=st.sampled_from(SEED_FILES),
    cuts=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 20), st.binary(max_size=8)), max_size=4),
)
def test_mutated_real_files_give_a_clean_error(which: Path, cuts: list[tuple[int, int, bytes]]) -> None:
    from rcm_shared.x12.sets.x270 import read_270, read_271
    from rcm_shared.x12.sets.x276 import read_276, read_277
    from rcm_shared.x12.sets.x835 import iter_835
    from rcm_shared.x12.sets.x837 import read_837
    from rcm_shared.x12.sets.x999 import read_999

    typed = {
        "835": iter_835,
        "837": read_837,
        "837i": read_837,
        "271": read_271,
        "270": read_270,
        "276": read_276,
        "277": read_277,
    }.get(which.suffix.lstrip("."), read_277 if "277CA" in which.name else read_999)
    data = bytearray(which.read_bytes())
    for pos, length, insert in cuts:
        pos %= max(1, len(data))
        data[pos : pos + length] = insert
    for reader in (lambda b: X12Reader(b), typed):
        try:
            list(reader(bytes(data)))
        except X12Error:
            pass


def test_a_blank_date_element_in_an_835_reads_as_no_date() -> None:
    """A date element of white space only (a tab, found by the fuzz test above) is an absent date, as the
    generic CCYYMMDD reader takes it: the 835 reader reads the file's claims, not an AssertionError."""
    from rcm_shared.x12.sets.x835 import iter_835

    data = (SAMPLES / "835/lfh__demo-file__demo.835").read_bytes()
    blanked = data.replace(b"DTM*232*20020816", b"DTM*232*\t*1200", 1)  # DTM03 (a time) keeps the tab
    assert blanked != data
    assert len(list(iter_835(blanked))) == len(list(iter_835(data)))


@pytest.mark.parametrize(
    "name", ["837P/imsweb__837_5010__x12_valid_different_separators.txt", "835/pyx12__pyx12__835_mult_loops.txt"]
)
def test_one_segment_per_line_puts_each_segment_on_its_own_line(name: str) -> None:
    text = (SAMPLES / name).read_text()
    term = next(iter_raw_segments(text.encode()))[0].segment
    flat = "".join(line.strip("\r\n") for line in text.splitlines())  # one unbroken line, as sent
    assert "\n" not in flat
    lines = one_segment_per_line(flat).splitlines()
    assert lines == [s + term for s in (piece.strip() for piece in flat.split(term)) if s] and len(lines) > 20
    assert one_segment_per_line(one_segment_per_line(flat)) == one_segment_per_line(flat)


def test_one_segment_per_line_reads_as_the_same_interchange() -> None:
    flat = (SAMPLES / "835/pyx12__pyx12__835_mult_loops.txt").read_text().replace("\n", "").replace("\r", "")
    assert [(h.control_number, s.elements) for h, s in X12Reader(one_segment_per_line(flat).encode())] == [
        (h.control_number, s.elements) for h, s in X12Reader(flat.encode())
    ]


def test_an_interchange_ended_by_line_breaks_is_left_as_it_is() -> None:
    text = (SAMPLES / "837_other/staedi__x12__sample837-HL-nested.edi").read_text()
    assert one_segment_per_line(text) == text.lstrip()
