"""rcm: the one operator command line of the platform."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rcm_shared.config import KafkaSettings
from rcm_shared.topics import CATALOG, dlq_topic
from sqlalchemy.exc import SQLAlchemyError

from rcm_cli import ops
from rcm_cli.services import NAMES, repo_root, settings_for

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Operate the RCM platform.")
events_app = typer.Typer(no_args_is_help=True, help="Outbox events: status and replay.")
dlq_app = typer.Typer(no_args_is_help=True, help="Dead-letter topics: list and re-drive.")
app.add_typer(events_app, name="events")
app.add_typer(dlq_app, name="dlq")
auth_app = typer.Typer(no_args_is_help=True, help="The embedded local token issuer: clients and tokens.")
client_app = typer.Typer(no_args_is_help=True, help="API clients of the local issuer.")
auth_app.add_typer(client_app, name="client")
app.add_typer(auth_app, name="auth")


def _x12() -> None:
    from rcm_cli.x12cmd import app as x12_app

    app.add_typer(x12_app, name="x12")


_x12()

ServiceOpt = Annotated[str, typer.Option("--service", "-s", help=f"one of: {', '.join(NAMES)}")]
EveryServiceOpt = Annotated[
    str | None, typer.Option("--service", "-s", help=f"only this one of: {', '.join(NAMES)} (default: all)")
]


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _service_settings(name: str):  # type: ignore[no-untyped-def]
    try:
        return settings_for(name)
    except (KeyError, ValueError) as exc:
        _fail(str(exc).strip("'\""), 2)


@app.command()
def run(
    broker_port: Annotated[
        int | None, typer.Option(help="embedded broker port (default from KAFKA_BOOTSTRAP_SERVERS)")
    ] = None,
    external_broker: Annotated[
        bool, typer.Option(help="use KAFKA_BOOTSTRAP_SERVERS instead of starting Tansu")
    ] = False,
) -> None:
    """Start the embedded stack: broker, topics, migrations, four APIs and their workers."""
    from rcm_cli.supervisor import run as run_stack

    try:
        root = repo_root()
    except FileNotFoundError as exc:
        _fail(str(exc))
    raise typer.Exit(run_stack(root, broker_port=broker_port, embedded_broker=not external_broker))


@client_app.command("create")
def auth_client_create(
    org: Annotated[str, typer.Option(help="the organization (tenant) the client acts for")],
    scopes: Annotated[
        list[str],
        typer.Option(
            "--scopes",
            "-s",
            help="repeat, or space separated: ours (claims:read ...) or SMART system scopes (system/Claim.read, "
            "system/*.rs, system/Claim.cruds ...)",
        ),
    ],
    name: Annotated[str, typer.Option(help="a label for the client")] = "",
    jwks: Annotated[
        Path | None,
        typer.Option(
            "--jwks",
            help="a JWKS file of the client's PUBLIC keys (each with a kid; RS384, ES384, RS256, ES256 or "
            "EdDSA): it then authenticates with JWTs signed by them (private_key_jwt, SMART Backend Services)",
        ),
    ] = None,
    jwks_url: Annotated[
        str, typer.Option("--jwks-url", help="instead of --jwks: the https URL the client serves its JWKS at")
    ] = "",
    secret: Annotated[
        bool | None,
        typer.Option("--secret/--no-secret", help="issue a client secret too (default: only when no keys are given)"),
    ] = None,
) -> None:
    """Register an API client with the local issuer and print its credentials (the secret only now)."""
    import json

    from rcm_cli.client_assertion import ASSERTION_TYPE
    from rcm_cli.issuer import Issuer

    keys = None
    if jwks is not None:
        try:
            keys = json.loads(jwks.read_text())
        except OSError as exc:
            _fail(f"cannot read {jwks}: {exc.strerror}", 2)
        except ValueError as exc:
            _fail(f"{jwks} is not JSON: {exc}", 2)
    issuer = Issuer.embedded()
    issuer.ensure_key()
    wanted = [s for item in scopes for s in item.replace(",", " ").split()]
    try:
        client_id, plain = issuer.create_client(org, wanted, name, secret=secret, jwks=keys, jwks_url=jwks_url)
    except ValueError as exc:
        _fail(str(exc), 2)
    print(f"client_id     {client_id}")
    if plain:
        print(f"client_secret {plain}")
    if keys is not None:
        print(f"keys          {' '.join(key['kid'] for key in keys['keys'])}")
    if jwks_url:
        print(f"keys at       {jwks_url}")
    print(f"org           {org}\nscopes        {' '.join(sorted(set(wanted)))}")
    print(f"token         POST {issuer.settings.token_url} grant_type=client_credentials")
    if keys is not None or jwks_url:
        print(f"              client_assertion_type={ASSERTION_TYPE}")
        print(f"              client_assertion=<a JWT signed by a key: iss=sub={client_id}, aud=the token URL>")


@app.command()
def demo(
    patients: Annotated[int, typer.Option(min=1, max=5000, help="encounters in the clinic day")] = 200,
    second_patients: Annotated[
        int | None,
        typer.Option(min=0, max=5000, help="encounters at the second organization (default: a quarter; 0: none)"),
    ] = None,
    seed: Annotated[int, typer.Option(help="the same seed gives the same day")] = 1,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the whole cycle")] = 110.0,
    json_out: Annotated[str | None, typer.Option("--json", help="also write the summary as JSON here")] = None,
) -> None:
    """Push a seeded clinic day of two organizations through the running stack (`make run`) and print the
    summary and KPIs."""
    import json

    from rcm_cli.console import ProgressPrinter
    from rcm_cli.demo import run_demo

    try:
        second = {} if second_patients is None else {"second_patients": second_patients}
        summary = asyncio.run(run_demo(patients, seed, timeout, ProgressPrinter(), **second))
    except RuntimeError as exc:
        _fail(str(exc))
    if json_out:
        with open(json_out, "w") as fh:
            json.dump(summary, fh, indent=2, default=str)
    each = summary.get("tenants", {}).values() or [summary]
    raise typer.Exit(1 if summary["mismatches"] or any(s["money"]["unaccounted_cents"] for s in each) else 0)


@app.command()
def migrate(service: Annotated[str | None, typer.Option("--service", "-s")] = None) -> None:
    """Run Alembic migrations of one service (or all) against their configured databases."""
    import os

    from rcm_cli.services import SERVICES
    from rcm_cli.supervisor import migrate_all

    if service and service not in NAMES:
        _fail(f"unknown service {service!r}; one of: {', '.join(NAMES)}", 2)
    root = repo_root()
    env = {**os.environ, "RCM_VAR_DIR": os.environ.get("RCM_VAR_DIR", str(root / "var"))}
    try:
        migrate_all(root, env, sys.executable, tuple(s for s in SERVICES if service in (None, s.name)))
    except RuntimeError as exc:
        _fail(str(exc))


@app.command("contracts")
def contracts_generate() -> None:
    """Regenerate contracts/ (JSON Schema per event, topic catalog) from the payload classes."""
    from rcm_cli.contracts import write

    for path in write(repo_root() / "contracts"):
        typer.echo(f"wrote {path.relative_to(repo_root())}")


@app.command("topics")
def topics_create() -> None:
    """Create every topic the services declare (and their DLQs) on KAFKA_BOOTSTRAP_SERVERS."""
    from rcm_shared.bus.admin import ensure_topics

    from rcm_cli.supervisor import all_topics

    kafka = KafkaSettings()
    created = asyncio.run(ensure_topics(kafka, all_topics(kafka)))
    typer.echo(f"{len(all_topics(kafka))} topics declared, {len(created)} created")


@events_app.command("replay")
def events_replay(
    service: ServiceOpt,
    since: Annotated[datetime, typer.Option(help="re-publish events created at or after this time (UTC)")],
    topic: Annotated[str | None, typer.Option(help="only this topic")] = None,
) -> None:
    """Re-queue a service's published outbox events; its worker's relay publishes them again."""
    settings = _service_settings(service)
    since_utc = since if since.tzinfo else since.replace(tzinfo=UTC)
    try:
        count = asyncio.run(ops.replay(settings, since_utc, topic))
    except ValueError as exc:
        _fail(str(exc), 2)
    typer.echo(f"{count} event(s) of {service} queued for re-publishing since {since_utc.isoformat()}")


@events_app.command("status")
def events_status(service: EveryServiceOpt = None) -> None:
    """Outbox totals per topic, published and pending: of every service, one block each (or of -s only)."""
    chosen = [(name, _service_settings(name)) for name in ((service,) if service else NAMES)]
    unreadable = False
    for name, settings in chosen:
        typer.echo(name)
        if not ops.database_exists(settings):
            typer.echo("  no database yet (`rcm run` or `rcm migrate` creates it)")
            continue
        try:
            totals = asyncio.run(ops.outbox_status(settings))
        except (SQLAlchemyError, OSError) as exc:  # OSError: a database server that refuses the connection
            unreadable = True
            typer.echo(f"  cannot read its outbox: {ops.first_line(exc)}")
            continue
        if not totals:
            typer.echo("  no events in its outbox")
        for topic, row in sorted(totals.items()):
            typer.echo(f"  {topic}: {row['published']} published, {row['pending']} pending")
    if unreadable:
        raise typer.Exit(1)


def _dlq_name(kafka: KafkaSettings, topic: str) -> str:
    """The dead-letter topic (prefix included) of an original topic, given by either name."""
    return kafka.topic_prefix + (topic if topic.endswith(".dlq") else dlq_topic(topic))


@dlq_app.command("list")
def dlq_list(
    topic: Annotated[
        str | None,
        typer.Option(help="only this topic's dead letters, e.g. claims.claim.status-changed (default: every topic)"),
    ] = None,
    limit: int = 100,
) -> None:
    """Print dead-lettered messages as JSON lines (reason, original coordinates), then their count on stderr."""
    kafka = KafkaSettings()
    dlqs = [_dlq_name(kafka, topic)] if topic else [kafka.topic_prefix + t.dlq for t in CATALOG if t.consumers]
    messages = asyncio.run(ops.read_dlqs(kafka, dlqs, limit))
    for m in messages:
        typer.echo(ops.public(m))
    where = dlqs[0].removeprefix(kafka.topic_prefix) if topic else f"{len(dlqs)} dead-letter topics"
    count = f"{len(messages)} dead letter{'' if len(messages) == 1 else 's'}"
    more = f" (stopped at --limit {limit})" if len(messages) == limit else ""
    typer.echo(f"{count} in {where}{more}", err=True)


@dlq_app.command("redrive")
def dlq_redrive(
    topic: Annotated[str, typer.Option(help="the original topic (or its .dlq name)")],
    event_id: Annotated[list[str] | None, typer.Option("--event-id", help="only these events (repeatable)")] = None,
) -> None:
    """Re-publish dead-lettered messages to their original topic (after the cause is fixed)."""
    kafka = KafkaSettings()
    sent = asyncio.run(ops.redrive(kafka, _dlq_name(kafka, topic), set(event_id) if event_id else None))
    typer.echo(f"{sent} message(s) re-driven to {topic.removesuffix('.dlq')}")


if __name__ == "__main__":
    app()
