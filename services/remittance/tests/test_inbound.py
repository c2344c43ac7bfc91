"""The inbound folder adapter: a file is taken once it has stayed unchanged for the settle time."""

from __future__ import annotations

from pathlib import Path


def test_an_inbound_file_is_taken_once_unchanged_for_the_settle_time() -> None:
    from remittance.adapters.inbound import Seen

    seen, path, settle = Seen(), Path("a.835"), 1.0
    assert not seen.settled(path, (100, 1), now=10.0, settle=settle)  # first look
    assert seen.next_due(settle, now=10.0) == 1.0
    assert not seen.settled(path, (100, 1), now=10.5, settle=settle)  # unchanged, not long enough
    assert not seen.settled(path, (250, 2), now=10.9, settle=settle)  # still growing: from now on
    assert seen.next_due(settle, now=10.9) == 1.0
    assert not seen.settled(path, (250, 2), now=11.8, settle=settle)
    assert seen.settled(path, (250, 2), now=11.9, settle=settle)
    assert not seen.settled(Path("b.835"), (9, 9), now=12.0, settle=0.0)  # settle 0: the next look takes it
    assert seen.settled(Path("b.835"), (9, 9), now=12.0, settle=0.0)
