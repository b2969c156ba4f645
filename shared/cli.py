"""`abierto`: the operators' command — migrations, tokens, seed data, and the background processes."""
import importlib
import logging
import os
import re
import signal
import sys
from datetime import timedelta

import click
from marshmallow import ValidationError, validate
from sqlalchemy.exc import SQLAlchemyError

from shared import config
from shared.auth import SCOPES
from shared.db import Database, upgrade
from shared.domain_errors import DomainError
from shared.schemas import MAX_INT


def _models(service):
    return importlib.import_module(f"services.{service}.models")


def _db(service):
    return Database(config.load(service).database_url)


class OperatorCommands(click.Group):
    """Known failures (a database that does not answer, a busy port, a rule that says no)
    end in one line that says what to fix, not in a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SQLAlchemyError as error:
            cause = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise click.ClickException(
                f"the database refused: {cause} (check the *_DATABASE_URL settings; "
                "a new database needs `abierto db upgrade`)") from error
        except (OSError, config.ConfigError) as error:  # a busy port, a missing folder, a setting
            raise click.ClickException(str(error)) from error
        except DomainError as error:
            raise click.ClickException(error.detail) from error


@click.group(cls=OperatorCommands)
def main():
    """Abierto's operator commands (configuration comes from the environment)."""
    if any(_NOT_TEXT.search(argument) for argument in sys.argv):
        raise click.UsageError("arguments must be UTF-8 text (check the terminal's encoding)")
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    if not isinstance(logging.getLevelName(level), int):
        raise click.UsageError(f"LOG_LEVEL={level} is not a logging level (DEBUG, INFO, WARNING)")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


# Python reads bytes that are not UTF-8 in arguments as lone surrogates.
_NOT_TEXT = re.compile("[\ud800-\udfff]")


def _email(_ctx, _param, value):
    """An --email option: a person's address, so that a typo is not "0 erased"."""
    try:
        return validate.Email()(value.strip())
    except ValidationError as error:
        raise click.BadParameter(f"{value!r} is not an email address") from error


@main.group()
def db():
    """Database schema."""


@db.command("upgrade")
@click.option("--service", type=click.Choice(("all",) + config.SERVICES), default="all")
def db_upgrade(service):
    """Migrate a service's database (default: all three) to the newest schema."""
    urls = {name: config.load(name).database_url for name in config.SERVICES}
    if len(set(urls.values())) < len(urls):  # each keeps its own migration history
        raise click.ClickException(
            "two services share one database; give each its own with REGISTRATION_, "
            "COMMITMENTS_ and NOTIFICATIONS_DATABASE_URL")
    for name in config.SERVICES if service == "all" else (service,):
        upgrade(name, urls[name])
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


_DURATION = re.compile(r"(\d{1,6})([mhdy])")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
          "y": timedelta(days=365)}
_LONGEST = timedelta(days=10 * 365)  # a token for longer is a password nobody rotates


def _lifetime(_ctx, _param, value):
    """An --expires-in option such as 30m, 12h, 90d or 1y: a timedelta."""
    match = _DURATION.fullmatch(value.strip().lower())
    lifetime = int(match.group(1)) * _UNITS[match.group(2)] if match else None
    if lifetime is None or not timedelta(0) < lifetime <= _LONGEST:
        raise click.BadParameter(f"{value!r}: give a number and m, h, d or y, e.g. 90d "
                                 "(at most 10y)")
    return lifetime


@main.group()
def token():
    """API tokens (stored hashed; shown once)."""


@token.command("create")
@click.option("--service", type=click.Choice(config.SERVICES), required=True)
@click.option("--scopes", required=True, help="comma-separated, e.g. events:write,registrations:read")
@click.option("--name", default="cli",
              help="who or what uses it (1-100 characters); shown in logs and history")
@click.option("--expires-in", "lifetime", default="1y", show_default=True, callback=_lifetime,
              help="how long it works: 30m, 12h, 90d, 1y")
def token_create(service, scopes, name, lifetime):
    """Create a token and print it, alone, on stdout."""
    from shared.auth import create_token

    wanted = {s.strip() for s in scopes.split(",") if s.strip()}
    unknown = wanted - SCOPES[service]
    if not wanted or unknown:
        raise click.BadParameter(f"{service} knows the scopes {', '.join(sorted(SCOPES[service]))}",
                                 param_hint="--scopes")
    if not 1 <= len(name.strip()) <= 100:
        raise click.BadParameter("give 1 to 100 characters", param_hint="--name")
    from shared.db import utcnow

    now = utcnow()
    with _db(service).transaction() as session:
        value = create_token(session, _models(service).ApiToken, name, wanted, lifetime, now)
    click.echo(value)
    click.echo(f"expires {_minute(now + lifetime, 'never')}", err=True)  # stdout: the token alone


@token.command("list")
@click.option("--service", type=click.Choice(config.SERVICES), required=True)
def token_list(service):
    """List tokens (never their values): id, name, scopes, state, expiry, last use (UTC)."""
    from sqlalchemy import select

    from shared.db import utcnow

    model, now = _models(service).ApiToken, utcnow()
    with _db(service).transaction() as session:
        for row in session.scalars(select(model).order_by(model.id)):
            click.echo("\t".join((str(row.id), row.name, row.scopes, _token_state(row, now),
                                  f"expires {_minute(row.expires_at, 'never')}",
                                  f"last used {_minute(row.last_used_at, 'never')}")))


def _token_state(row, now):
    if row.revoked_at:
        return f"revoked {row.revoked_at:%Y-%m-%d}"
    return "expired" if row.expired(now) else "active"


def _minute(moment, otherwise):
    return f"{moment:%Y-%m-%d %H:%M}Z" if moment else otherwise


@token.command("revoke")
@click.option("--service", type=click.Choice(config.SERVICES), required=True)
@click.argument("token_id", type=click.IntRange(1, MAX_INT))
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

    settings = config.load_process(service)
    _stop_on_sigterm()
    run_relay(_db(service), _models(service).Outbox, Bus.from_url(settings.redis_url),
              stream_name(service))


@main.command()
def consume():
    """Read domain events and queue the emails they ask for, forever."""
    from services.notifications.pipeline import consumer

    _stop_on_sigterm()
    consumer.run()


@main.command()
def sweep():
    """Requeue deliveries whose retry is due or whose worker died, forever."""
    from services.notifications.pipeline import sweeper

    _stop_on_sigterm()
    sweeper.run()


@main.command()
def holds():
    """Expire held seats nobody confirmed in PENDING_HOLD and promote the people waiting, forever."""
    from services.registration import holds as expirer

    settings = config.load_process("registration")
    _stop_on_sigterm()
    expirer.run(settings=settings)


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=lambda: config.load("notifications").smtp_port,
              type=click.IntRange(1, 65535))
def mailsink(host, port):
    """Run the local SMTP server; it keeps every message under DATA_DIR/mail."""
    import time

    from services.mailsink.server import serve

    folder = config.load_process("notifications").data_dir / "mail"
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
    if not path.is_file():
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
@click.option("--email", required=True, callback=_email)
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
@click.option("--email", required=True, callback=_email)
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
    registrations, deliveries = _db("registration"), _db("notifications")
    for db in (registrations, deliveries):
        db.ping()  # both answer before either erases: half an erasure is a promise half kept
    erased = registration.erase(registrations, email,
                                Links(settings.public_base_url, settings.keys), utcnow())
    click.echo(f"registration: {erased} erased", err=True)  # said at once, should the next fail
    sent = notifications.erase(deliveries, email)
    click.echo(f"notifications: {sent} erased", err=True)


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

    from services.commitments.transfer import ExportPlanSchema, import_document
    from shared.db import utcnow

    try:
        parsed = json.load(file)
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, or beyond the parser
        raise click.ClickException(f"{file.name} is not UTF-8 JSON: {error}") from error
    try:
        document = ExportPlanSchema().load(parsed)
    except ValidationError as error:
        raise click.ClickException(json.dumps(error.messages, ensure_ascii=False)) from error
    created = import_document(_db("commitments"), document, "cli", utcnow())
    click.echo(f"commitments: imported action plan {created.id} "
               f"with {len(created.commitments)} commitment(s)", err=True)
