"""The HL7 v2 listener: `python -m claims.listener`, MLLP over TCP (TLS when a certificate is set), port
2575 by default (``CLAIMS_HL7_HOST``/``CLAIMS_HL7_PORT``).

Each connection is read frame by frame (python-hl7's ``hl7.mllp`` streams) and every frame answered in
order, as MLLP's senders expect: one message, its ACK, the next. A frame that is not MLLP (no start block),
is over ``CLAIMS_HL7_MAX_MESSAGE_BYTES`` or has no readable MSH is dropped with a warning and the
connection read on (bytes between frames, as an LF after FS CR, are passed over); nothing a sender
writes stops the listener or loses what it already acknowledged. The lines logged name control ids and
message types, never a message's content.
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

START_BLOCK, END_BLOCK = b"\x0b", b"\x1c\x0d"


async def read_frame(reader: HL7StreamReader) -> bytes:
    """The next MLLP frame's content. Bytes before its start block are passed over: a sender ending its
    frames with FS CR LF leaves an LF before the next VT, which ``readblock`` takes for a frame without a
    start block (and drops the message). ``InvalidBlockError`` when there is no start block at all,
    ``ValueError`` when the frame is over the reader's limit (read to its end and dropped)."""
    try:
        block = await reader.readuntil(END_BLOCK)
    except asyncio.LimitOverrunError as exc:
        consumed = exc.consumed
        while True:  # drop the frame up to its end block, a limit's worth at a time
            await reader.readexactly(consumed)
            try:
                await reader.readuntil(END_BLOCK)
                break
            except asyncio.LimitOverrunError as more:
                consumed = more.consumed
        raise ValueError("frame over the limit") from None
    start = block.find(START_BLOCK)
    if start < 0:
        raise InvalidBlockError("Block does not begin with Start Block character <VT>")
    return bytes(block[start + 1 : -len(END_BLOCK)])


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


def check_settings(settings: ClaimsSettings) -> None:
    """Refuse to start on settings that would mix practices: two facilities mapped to one tenant share its
    MRN and visit number spaces (a patient or visit of one would be taken for the other's), and client
    certificates without the facilities each may send for would let any of them send as any practice."""
    tenants: dict[str, str] = {}
    for facility, tenant in settings.hl7_senders.items():
        if tenant in tenants:
            raise ValueError(
                f"CLAIMS_HL7_SENDERS maps facilities {tenants[tenant]} and {facility} to one tenant: their MRNs and "
                "visit numbers would share one space; give each tenant one sending facility"
            )
        tenants[tenant] = facility
    if settings.hl7_tls_client_ca_file and not settings.hl7_tls_client_facilities:
        raise ValueError(
            "CLAIMS_HL7_TLS_CLIENT_CA_FILE is set without CLAIMS_HL7_TLS_CLIENT_FACILITIES: name the facilities "
            "each client certificate (subject CN or SAN) may send for"
        )


def certificate_names(peer: dict[str, Any] | None) -> set[str]:
    """A verified client certificate's subject common names and DNS/IP subject alternative names."""
    if not peer:
        return set()
    names = {value for rdn in peer.get("subject", ()) for key, value in rdn if key == "commonName"}
    names |= {value for kind, value in peer.get("subjectAltName", ()) if kind in ("DNS", "IP Address")}
    return names


class Listener:
    """The MLLP server over one engine: start it, then close it (open connections are closed too)."""

    def __init__(self, settings: ClaimsSettings, engine: AsyncEngine) -> None:
        check_settings(settings)
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

    def _facilities(self, writer: HL7StreamWriter) -> frozenset[str] | None:
        """The facilities the connection's client certificate may send for (None: any, without client
        certificates)."""
        if not self.settings.hl7_tls_client_ca_file:
            return None
        names = certificate_names(writer.get_extra_info("peercert"))
        mapping = self.settings.hl7_tls_client_facilities
        return frozenset(f for name in names for f in mapping.get(name, ()))

    async def _serve(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        facilities = self._facilities(writer)
        while True:
            try:
                async with asyncio.timeout(self.settings.hl7_idle_timeout_s):  # no task a frame, as wait_for makes
                    frame = await read_frame(reader)
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
                answer = await self.handler.handle(bytes(frame), facilities)
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
