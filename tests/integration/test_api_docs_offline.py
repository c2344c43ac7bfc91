"""The API documentation pages of every service and of the sandbox (/docs: Swagger UI, /redoc: ReDoc) list
their operations in a browser that cannot reach the internet, and the page asks nothing of another machine.

Each app is served on a port of 127.0.0.1; headless Chromium, whose name resolution and proxy lead
nowhere but 127.0.0.1 (an offline hospital network), loads the page, driven over the DevTools protocol: every
request the page makes is recorded, and the rendered page is asked which operations it shows.

When no Chromium is installed the test skips and says so, unless RCM_REQUIRE_CHROMIUM=1 (CI), where that
fails the run."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

APPS = ("eligibility", "claims", "remittance", "denials", "sandbox")
# Swagger UI: one block per operation, its path in data-path.
SWAGGER_PATHS = "[...document.querySelectorAll('.opblock .opblock-summary-path')].map(e => e.dataset.path)"
# ReDoc: one section per operation, named after its operationId.
REDOC_OPERATIONS = (
    "[...document.querySelectorAll('[data-section-id]')].map(e => e.dataset.sectionId)"
    ".filter(id => /(^|\\/)operation\\//.test(id)).map(id => id.split('operation/').pop())"
)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    reason = "no Chromium for the documentation pages' browser test (Debian: apt-get install chromium)"
    if os.environ.get("RCM_REQUIRE_CHROMIUM") == "1":
        pytest.fail(reason + " (RCM_REQUIRE_CHROMIUM=1)")
    pytest.skip(reason)


@contextlib.contextmanager
def serving(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, Any]]]:
    """The app (a service's or the sandbox's) on a free port of 127.0.0.1 (its base URL), and its OpenAPI
    document."""
    import uvicorn

    resets = []
    if name != "sandbox":
        monkeypatch.setenv(f"{name.upper()}_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / name}.db")
        resets.append(importlib.import_module(f"{name}.config").get_settings.cache_clear)
    for reset in resets:
        reset()
    app = importlib.import_module(f"{name}.main").create_app()
    document = app.openapi()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.05)
        assert server.started, f"the {name} app did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", document
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        for reset in resets:
            reset()


class Browser:
    """Headless Chromium over the DevTools protocol, cut off from every machine but this one."""

    def __init__(self, executable: str, profile: Path) -> None:
        self.args = [
            executable,
            "--headless",
            "--no-sandbox",  # as root in a container
            "--disable-gpu",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            # offline: no name resolves but 127.0.0.1, and whatever goes by address meets a closed port
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--proxy-server=http://127.0.0.1:9",
            "--disable-background-networking",
            "--no-first-run",
            "about:blank",
        ]
        self.events: list[dict[str, Any]] = []
        self.ids = itertools.count(1)
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}

    async def __aenter__(self) -> Browser:
        import websockets

        self.process = await asyncio.create_subprocess_exec(
            *self.args, stdout=subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        assert self.process.stderr is not None
        endpoint = None
        async with asyncio.timeout(30):
            while endpoint is None:
                line = (await self.process.stderr.readline()).decode(errors="replace")
                if not line:
                    raise RuntimeError("Chromium exited before it listened for DevTools")
                if found := re.search(r"DevTools listening on (ws://\S+)", line):
                    endpoint = found.group(1)
        self.drain = asyncio.create_task(self._drain_stderr())
        self.ws = await websockets.connect(endpoint, max_size=None)
        self.reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.reader.cancel()
        await self.ws.close()
        self.process.terminate()
        await self.process.wait()
        self.drain.cancel()

    async def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        while await self.process.stderr.readline():
            pass

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if "id" in message and message["id"] in self.waiting:
                self.waiting.pop(message["id"]).set_result(message)
            else:
                self.events.append(message)

    async def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        call_id = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[call_id] = future
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        await self.ws.send(json.dumps(message))
        answer = await asyncio.wait_for(future, 30)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    async def load(self, url: str, expression: str, timeout: float = 20.0) -> tuple[list[Any], list[str]]:
        """Opens ``url`` in a new tab and evaluates ``expression`` until it gives a non-empty list (or the
        timeout passes): that list, and the URL of every request the page made meanwhile."""
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        session = (await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}))[
            "sessionId"
        ]
        await self.send("Network.enable", session=session)
        await self.send("Page.navigate", {"url": url}, session=session)
        found: list[Any] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not found and loop.time() < deadline:
            await asyncio.sleep(0.2)
            result = await self.send(
                "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
            )
            found = result["result"].get("value") or []
        await asyncio.sleep(0.5)  # what the page asks for once it has rendered counts too
        mine = [e for e in self.events if e.get("sessionId") == session]
        # a request the browser itself blocked (the page's Content-Security-Policy) never left it
        blocked = {
            e["params"]["requestId"]
            for e in mine
            if e.get("method") == "Network.loadingFailed" and e["params"].get("blockedReason") == "csp"
        }
        requests = [
            e["params"]["request"]["url"]
            for e in mine
            if e.get("method") == "Network.requestWillBeSent" and e["params"]["requestId"] not in blocked
        ]
        await self.send("Target.closeTarget", {"targetId": target["targetId"]})
        return found, requests


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    async with Browser(chromium(), tmp_path / "chromium-profile") as b:
        yield b


def _elsewhere(requests: list[str], base: str) -> list[str]:
    return [url for url in requests if not url.startswith((base + "/", "data:", "blob:"))]


@pytest.mark.parametrize("name", APPS)
async def test_the_documentation_pages_list_the_operations_with_no_request_leaving_the_machine(
    name: str, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(name, tmp_path, monkeypatch) as (base, document):
        paths = sorted(document["paths"])
        operation_ids = sorted(op["operationId"] for item in document["paths"].values() for op in item.values())
        shown, requests = await browser.load(f"{base}/docs", SWAGGER_PATHS)
        assert sorted(set(shown)) == paths, f"Swagger UI lists {len(shown)} operations; it asked {requests}"
        assert len(shown) == len(operation_ids)  # one block per operation
        assert _elsewhere(requests, base) == [], "Swagger UI asked another machine"
        shown, requests = await browser.load(f"{base}/redoc", REDOC_OPERATIONS)
        assert sorted(set(shown)) == operation_ids, f"ReDoc lists {len(shown)} operations; it asked {requests}"
        assert _elsewhere(requests, base) == [], "ReDoc asked another machine"
