"""`abierto`: the operators' command — migrations, tokens, seed data, and the background processes."""
import importlib
import logging
import os
import signal
import sys

import click

from shared import config
from shared.auth import SCOPES
from shared.db import Database, upgrade


def _models(service):
    return importlib.import_module(f"services.{service}.models")


def _db(service):
    return Database(config.load(service).database_url)


@click.group()
def main():
    """Abierto's operator commands (configuration comes from the environment)."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


@main.group()
def db():
    """Database schema."""


@db.command("upgrade")
@click.option("--service", type=click.Choice(("all",) + config.SERVICES), default="all")
def db_upgrade(service):
    """Migrate a service's database (default: all three) to the newest schema."""
    for name in config.SERVICES if service == "all" else (service,):
        upgrade(name, config.load(name).database_url)
        click.echo(f"{name}: database up to date", err=True)


@db.command("revision")
@click.option("--service", type=click.Choice(config.SERVICES), required=True)
@click.option("-m", "--message", required=True)
def db_revision(service, message):
    """Write a new migration from the difference between the models and the database."""
    from alembic import command

    from shared.db import alembic_config

    command.revision(alembic_config(service, config.load(service).database_url),
                     message=message, autogenerate=True)


@main.group()
def token():
    """API tokens (stored hashed; shown once)."""


@token.command("create")
@click.option("--service", type=click.Choice(config.SERVICES), required=True)
@click.option("--scopes", required=True, help="comma-separated, e.g. events:write,registrations:read")
@click.option("--name", default="cli", help="who or what uses it; shown in logs and history")
def token_create(service, scopes, name):
    """Create a token and print it, alone, on stdout."""
    from shared.auth import create_token

    wanted = {s.strip() for s in scopes.split(",") if s.strip()}
    unknown = wanted - SCOPES[service]
    if not wanted or unknown:
        raise click.BadParameter(f"{service} knows the scopes {', '.join(sorted(SCOPES[service]))}",
                                 param_hint="--scopes")
    with _db(service).transaction() as session:
        value = create_token(session, _models(service).ApiToken, name, wanted)
    click.echo(value)


@token.command("list")
@click.option("--service", type=click.Choice(config.SERVICES), required=True)
def token_list(service):
    """List tokens (never their values)."""
    from sqlalchemy import select

    model = _models(service).ApiToken
    with _db(service).transaction() as session:
        for row in session.scalars(select(model).order_by(model.id)):
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            click.echo(f"{row.id}\t{row.name}\t{row.scopes}\t{state}")


@token.command("revoke")
@click.option("--service", type=click.Choice(config.SERVICES), required=True)
@click.argument("token_id", type=int)
def token_revoke(service, token_id):
    """Revoke a token by the id `token list` shows."""
    from shared.db import utcnow

    with _db(service).transaction() as session:
        row = session.get(_models(service).ApiToken, token_id)
        if row is None:
            raise click.ClickException(f"no token {token_id}")
        row.revoked_at = row.revoked_at or utcnow()
    click.echo(f"token {token_id} revoked", err=True)


@main.command()
def seed():
    """Add the real seed data (the Chihuahua panel and first action plan) if it is not there."""
    from services.commitments.seed import seed as seed_commitments
    from services.registration.seed import seed as seed_registration

    event_id = seed_registration(_db("registration"))
    click.echo(f"registration: seed event {event_id}", err=True)
    plan_id = seed_commitments(_db("commitments"))
    click.echo(f"commitments: seed action plan {plan_id}", err=True)


@main.command()
@click.argument("service", type=click.Choice(config.SERVICES))
def relay(service):
    """Publish a service's outbox to the bus, forever."""
    from shared.bus import Bus, stream_name
    from shared.outbox import run_relay

    settings = config.load(service)
    _stop_on_sigterm()
    run_relay(_db(service), _models(service).Outbox, Bus.from_url(settings.redis_url),
              stream_name(service))


@main.command()
def consume():
    """Read domain events and queue the emails they ask for, forever."""
    from services.notifications import consumer

    _stop_on_sigterm()
    consumer.run()


@main.command()
def sweep():
    """Requeue deliveries whose retry is due or whose worker died, forever."""
    from services.notifications import sweeper

    _stop_on_sigterm()
    sweeper.run()


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=lambda: int(config.env("SMTP_PORT", "8025")), type=int)
def mailsink(host, port):
    """Run the local SMTP server; it keeps every message under DATA_DIR/mail."""
    import time

    from services.mailsink.server import serve

    folder = config.load("notifications").data_dir / "mail"
    controller = serve(folder, host, port)
    click.echo(f"mailsink: SMTP on {host}:{port}, messages in {folder}", err=True)
    _stop_on_sigterm()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


@main.group()
def mail():
    """Read what the local mail sink received."""


@mail.command("list")
def mail_list():
    """One line per message: file, date, to, subject."""
    from services.mailsink.server import list_messages

    for row in list_messages(config.load("notifications").data_dir / "mail"):
        click.echo("\t".join(str(part) for part in row))


@mail.command("show")
@click.argument("name")
def mail_show(name):
    """Print one message (its file name from `mail list`, e.g. 000001.eml)."""
    path = config.load("notifications").data_dir / "mail" / os.path.basename(name)
    if not path.exists():
        raise click.ClickException(f"no message {name}")
    sys.stdout.write(path.read_text(errors="replace"))


@main.command()
def events():
    """Print the event catalogue as the README's Markdown table."""
    from shared.events import markdown_table

    click.echo(markdown_table())


@main.group()
def arco():
    """ARCO requests: a person's access to, and erasure of, their data (by email)."""


@arco.command("export")
@click.option("--email", required=True)
def arco_export(email):
    """Print, as JSON, every piece of personal data each service holds for an email."""
    import json

    from services.notifications import privacy as notifications
    from services.registration import privacy as registration

    held = {"email": email, "registration": registration.export(_db("registration"), email),
            "notifications": notifications.export(_db("notifications"), email),
            "subscriptions": notifications.export_subscriptions(_db("notifications"), email)}
    click.echo(json.dumps(held, indent=2, ensure_ascii=False))


@arco.command("erase")
@click.option("--email", required=True)
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def arco_erase(email, yes):
    """Erase an email's registrations (freeing their seats) and the emails kept for it."""
    from services.notifications import privacy as notifications
    from services.registration import privacy as registration
    from services.registration.facts import Links
    from shared.db import utcnow

    if not yes:
        click.confirm(f"Erase every piece of data held for {email}?", abort=True)
    settings = config.load("registration")
    erased = registration.erase(_db("registration"), email,
                                Links(settings.public_base_url, settings.secret_key), utcnow())
    sent = notifications.erase(_db("notifications"), email)
    click.echo(f"registration: {erased} erased; notifications: {sent} erased", err=True)


def _stop_on_sigterm():
    # honcho and docker stop with SIGTERM; leave through the normal exit path.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


@main.group()
def history():
    """The commitments' public, hash-chained history."""


@history.command("verify")
def history_verify():
    """Recompute the whole chain; print the result as JSON; exit 1 unless it holds."""
    import json

    from services.commitments.tracking import verify_history

    result = verify_history(_db("commitments"))
    click.echo(json.dumps(result))
    if not result["ok"]:
        sys.exit(1)


@main.group()
def plan():
    """Action plans in OGP's terms (the documents GET /action-plans/{id}/export gives)."""


@plan.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def plan_import(file):
    """Create an action plan from an export document (FILE, or - for stdin); history actor `cli`."""
    import json

    from marshmallow import ValidationError

    from services.commitments.transfer import ExportPlanSchema, import_document
    from shared.db import utcnow
    from shared.errors import DomainError

    try:
        document = ExportPlanSchema().load(json.load(file))
        created = import_document(_db("commitments"), document, "cli", utcnow())
    except json.JSONDecodeError as error:
        raise click.ClickException(f"{file.name} is not JSON: {error}") from error
    except ValidationError as error:
        raise click.ClickException(json.dumps(error.messages, ensure_ascii=False)) from error
    except DomainError as error:
        raise click.ClickException(error.detail) from error
    click.echo(f"commitments: imported action plan {created.id} "
               f"with {len(created.commitments)} commitment(s)", err=True)
