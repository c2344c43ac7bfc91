"""The HL7 v2 listener: `python -m claims.listener`, MLLP over TCP (TLS when a certificate is set), port
2575 by default (``CLAIMS_HL7_HOST``/``CLAIMS_HL7_PORT``).

Each connection is read frame by frame (python-hl7's ``hl7.mllp`` streams) and every frame answered in
order, as MLLP's senders expect: one message, its ACK, the next. A frame that is not MLLP (no start block),
is over ``CLAIMS_HL7_MAX_MESSAGE_BYTES`` or has no readable MSH is dropped with a warning and the
connection read on; nothing a sender writes stops the listener or loses what it already acknowledged. The
lines logged name control ids and message types, never a message's content.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
from typing import Any

from hl7.mllp import HL7StreamReader, HL7StreamWriter, InvalidBlockError, start_hl7_server
from rcm_shared.db import create_engine
from rcm_shared.logging import configure_logging
from rcm_shared.runtime import run, tune_gc
from rcm_shared.unit import Units
from sqlalchemy.ext.asyncio import AsyncEngine

from claims.adapters.scrub_resources import load_resources
from claims.config import ClaimsSettings, get_settings
from claims.domain import codesets
from claims.models import bus
from claims.use_cases.hl7_messages import Handler

log = logging.getLogger(__name__)


def ssl_context(settings: ClaimsSettings) -> ssl.SSLContext | None:
    """TLS from the certificate and key files when both are set; client certificates required when a CA is."""
    if not (settings.hl7_tls_cert_file and settings.hl7_tls_key_file):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.hl7_tls_cert_file, settings.hl7_tls_key_file)
    if settings.hl7_tls_client_ca_file:
        context.load_verify_locations(settings.hl7_tls_client_ca_file)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class Listener:
    """The MLLP server over one engine: start it, then close it (open connections are closed too)."""

    def __init__(self, settings: ClaimsSettings, engine: AsyncEngine) -> None:
        self.settings = settings
        resources = load_resources(settings)
        self.handler = Handler(Units.of_service(settings, bus, engine), settings, resources.context)
        self.server: asyncio.Server | None = None
        self._writers: set[HL7StreamWriter] = set()

    @property
    def port(self) -> int:
        assert self.server is not None and self.server.sockets
        return int(self.server.sockets[0].getsockname()[1])

    async def start(self, host: str | None = None, port: int | None = None) -> None:
        self.server = await start_hl7_server(
            self._connection,
            host if host is not None else self.settings.hl7_host,
            port if port is not None else self.settings.hl7_port,
            limit=self.settings.hl7_max_message_bytes,
            ssl=ssl_context(self.settings),
        )

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in list(self._writers):
            writer.close()
        if self.server is not None:
            await self.server.wait_closed()

    async def _connection(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, ssl.SSLError, asyncio.CancelledError):
            pass  # the peer went away, or the listener is stopping
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _serve(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        while True:
            try:
                async with asyncio.timeout(self.settings.hl7_idle_timeout_s):  # no task a frame, as wait_for makes
                    frame = await reader.readblock()
            except InvalidBlockError:
                log.warning("hl7 frame dropped: it does not start with MLLP's start block", extra={"kind": "mllp"})
                continue
            except ValueError:
                log.warning(
                    "hl7 frame dropped: longer than CLAIMS_HL7_MAX_MESSAGE_BYTES",
                    extra={"kind": "mllp", "count": self.settings.hl7_max_message_bytes},
                )
                continue
            except (asyncio.IncompleteReadError, TimeoutError):
                return  # closed by the peer mid-frame or between frames, or idle too long
            try:
                answer = await self.handler.handle(bytes(frame))
            except Exception as exc:  # noqa: BLE001 - a frame this listener cannot read costs that frame only
                log.warning("hl7 frame dropped: it could not be read", extra={"kind": "mllp", "error": exc})
                continue
            if answer is None:
                log.warning("hl7 frame dropped: no readable MSH segment to answer to", extra={"kind": "mllp"})
                continue
            writer.writeblock(answer.ack.encode("utf-8"))
            await writer.drain()
            if answer.code != "AA" or answer.duplicate:
                log.info(
                    "hl7 message answered",
                    extra={
                        "status": answer.code,
                        "kind": "duplicate" if answer.duplicate else "new",
                        "control_id": answer.control_id,
                        "message_type": answer.message_type,
                    },
                )


async def serve(settings: ClaimsSettings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    engine = create_engine(settings.database_url, schema=settings.db_schema, pool_size=settings.db_pool_size)
    listener = Listener(settings, engine)
    # the ICD-10-CM tables load now, off the loop, not in the first message that makes a claim change
    icd: asyncio.Future[Any] = loop.run_in_executor(None, codesets.load_icd)
    await listener.start()
    tune_gc(settings.gc_gen0_threshold)
    log.info("hl7 listener started", extra={"target": f"{settings.hl7_host}:{listener.port}"})
    try:
        await stop.wait()
    finally:
        await listener.close()
        await engine.dispose()
        await icd


def main() -> None:
    settings = get_settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    run(serve(settings))


if __name__ == "__main__":
    main()
