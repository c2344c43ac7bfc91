"""The service template (docs/architecture.md) holds: the same modules in every service, each readable in
one sitting."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("eligibility", "claims", "remittance", "denials")
TEMPLATE = {
    "main",
    "worker",
    "config",
    "models",
    "consumers",
    "background",
    "api",
    "use_cases",
    "repository",
    "adapters",
    "domain",
}
OPTIONAL = {"data", "listener"}  # reference files; an entry point for a protocol besides HTTP and Kafka (claims: HL7)
MAX_LINES = 400


def _modules(package: Path) -> set[str]:
    names = set()
    for entry in package.iterdir():
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_dir() or entry.suffix == ".py":
            names.add(entry.stem)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_template_modules_and_no_others(service: str) -> None:
    modules = _modules(ROOT / "services" / service / service)
    assert modules - OPTIONAL == TEMPLATE, (
        f"missing {sorted(TEMPLATE - modules)}, not in the template {sorted(modules - TEMPLATE - OPTIONAL)}"
    )


def test_no_module_of_the_services_or_shared_outgrows_a_sitting() -> None:
    sources = [
        path
        for top in (ROOT / "services", ROOT / "shared" / "rcm_shared")
        for path in top.rglob("*.py")
        if not {"tests", "migrations", "__pycache__"} & set(path.relative_to(ROOT).parts)
    ]
    assert len(sources) > 50  # the walk found the code
    too_long = {
        str(path.relative_to(ROOT)): n
        for path in sources
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}, f"split these by capability (at most {MAX_LINES} lines each)"


def test_test_modules_and_their_helpers_have_names_of_their_own() -> None:
    """The test folders are no packages: pytest imports each module by its file name, so two files of one name in
    two services stop the whole run at collection (and two step modules of one name shadow each other)."""
    from collections import Counter

    folders = [ROOT / "tests", ROOT / "shared" / "tests", ROOT / "cli" / "tests", ROOT / "sandbox" / "tests"]
    folders += sorted((ROOT / "services").glob("*/tests"))
    names = Counter(
        p.name for folder in folders for p in folder.rglob("*.py") if p.name not in ("__init__.py", "conftest.py")
    )
    assert not [name for name, n in names.items() if n > 1]
