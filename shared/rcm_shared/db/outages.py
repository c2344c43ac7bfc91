"""Whether the database can be reached for now, and how long to wait before trying again."""

from __future__ import annotations

import socket
import sqlite3

from sqlalchemy.exc import DBAPIError

# SQLSTATE classes of a database that cannot be reached for now: connection exceptions (08), operator
# intervention (57P: shut down by an administrator or a crash, starting up, shutting down), too many connections
_UNREACHABLE_SQLSTATES = ("08", "57P", "53300")


DATABASE_WAIT_MAX = 5.0  # seconds between tries, at most, while the database cannot be reached


def outage_delay(first: float, tries: int) -> float:
    """The wait before try ``tries`` + 1 while the database cannot be reached: ``first``, doubling, at most
    ``DATABASE_WAIT_MAX``."""
    return min(DATABASE_WAIT_MAX, first * 2.0 ** min(tries - 1, 16))


def database_unreachable(exc: BaseException) -> bool:
    """The database refused or lost the connection, is restarting, or (SQLite) stayed locked by another process
    past the busy timeout: a state of the database, not of the request or event at hand, so the same work can
    succeed later. (A refused connection surfaces as the driver's own exception; one lost mid-statement as
    SQLAlchemy's, marked invalidated, the pool replacing it.)"""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if isinstance(exc.orig, BaseException) else exc
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return True
    if isinstance(exc, OSError) and exc.errno is None and str(exc).startswith("Multiple exceptions:"):
        return True  # asyncio could connect to none of the host's addresses
    if isinstance(exc, sqlite3.OperationalError):
        return exc.sqlite_errorname.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))  # extended codes too
    return str(getattr(exc, "sqlstate", None) or "").startswith(_UNREACHABLE_SQLSTATES)
