"""How `rcm demo` writes its progress: rewritten in place on a terminal, one line per update into a pipe or file."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from rcm_cli import demo as demo_module
from rcm_cli.console import ProgressPrinter
from rcm_cli.demo import Demo
from rcm_cli.main import app
from typer.testing import CliRunner


def _claims(*states: str) -> list[dict[str, Any]]:
    return [{"id": f"c{n}", "state": state} for n, state in enumerate(states)]


async def _fake_demo(patients: int, seed: int, timeout: float, say: Any = print) -> dict[str, Any]:
    """The demo's real progress loop (wait_settled) against a claims API that settles in three polls."""
    polls: Iterator[list[dict[str, Any]]] = iter(
        [_claims("submitted", "submitted"), _claims("paid", "submitted"), _claims("paid", "paid")]
    )
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=next(polls)))
    demo = Demo(httpx.AsyncClient(transport=transport), {"claims": "http://claims"}, "org-1", say)
    say("clinic day: 2 encounters")
    await demo.wait_settled({"c0", "c1"}, "claims", timeout)
    say("every claim reached the state its scenario dictates")
    return {"mismatches": [], "money": {"unaccounted_cents": 0}}


def test_demo_progress_into_a_pipe_is_one_line_per_update(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_module, "run_demo", _fake_demo)
    result = CliRunner().invoke(app, ["demo", "--timeout", "30"])  # CliRunner's stdout is not a terminal
    assert result.exit_code == 0, result.output
    assert result.output.split("\n") == [  # not splitlines(), which would split at a carriage return too
        "clinic day: 2 encounters",
        "  claims: submitted 2",
        "  claims: paid 1, submitted 1",
        "  claims: paid 2",
        "every claim reached the state its scenario dictates",
        "",
    ]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_progress_rewrites_its_line() -> None:
    tty = _Terminal()
    say = ProgressPrinter(tty)
    say("\r  claims: submitted 2" + " " * 10, end="")
    say("\r  claims: paid 2" + " " * 10, end="")
    say("")
    say("done")
    assert tty.getvalue() == "\r  claims: submitted 2          \r  claims: paid 2          \ndone\n"


def test_into_a_file_a_repeated_update_is_written_once() -> None:
    out = io.StringIO()
    say = ProgressPrinter(out)
    for checked in (1, 1, 1, 2):
        say(f"\r  eligibility: {checked}/2 checked", end="")
    say("")
    say("")  # a blank line of its own is kept
    say("  eligibility results: active 2")
    assert (
        out.getvalue() == "  eligibility: 1/2 checked\n  eligibility: 2/2 checked\n\n  eligibility results: active 2\n"
    )
