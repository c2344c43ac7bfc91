"""The inbound folder the worker scans: 835s ingested, then moved to processed or failed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from builders.x835 import standard_file
from remittance.models import remittance
from remittance.use_cases import service_units
from remittance_steps import HOME, TENANT, count


async def test_inbound_folder_ingests_then_moves_files(engine: Any, tmp_path: Path) -> None:
    from remittance.adapters.inbound import Seen
    from remittance.background import scan_once

    folder = tmp_path / "inbound"
    folder.mkdir()
    (folder / "good.835").write_bytes(standard_file())
    (folder / "bad.835").write_bytes(b"not an 835 at all")
    seen = Seen()
    assert (
        await scan_once(service_units(engine), folder, TENANT, 500, seen, HOME) == 0
    )  # first look: sizes noted, files may be growing
    assert await scan_once(service_units(engine), folder, TENANT, 500, seen, HOME) == 1
    assert (folder / "processed" / "good.835").exists() and not (folder / "good.835").exists()
    error = (folder / "failed" / "bad.835.error.txt").read_text()
    assert "does not start with an ISA segment" in error
    assert await count(engine, remittance) == 1
