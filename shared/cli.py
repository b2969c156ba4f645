"""`abierto`: the operators' command — migrations, tokens, seed data, ARCO requests, and the
commands and background processes each declared service adds (shared.services)."""
import logging
import os
import re
import sys
from datetime import timedelta

import click
from marshmallow import ValidationError, validate
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from shared import config, services
from shared.db import upgrade
from shared.domain_errors import DomainError
from shared.operator_commands import database, stop_on_sigterm
from shared.schemas import MAX_INT

DATABASES = services.with_database()  # the services whose tokens and schema `abierto` keeps
PUBLISHERS = services.names(lambda declaration: declaration.publishes)  # those with an outbox
PERSONAL_DATA = services.names(lambda declaration: declaration.arco)  # those holding personal data


def _models(service):
    return services.declared()[service].models


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
        except RedisError as error:
            raise click.ClickException(f"the bus did not answer: {error} (check REDIS_URL)") from error
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
@click.option("--service", type=click.Choice(("all",) + DATABASES), default="all")
def db_upgrade(service):
    """Migrate a service's database (default: all) to the newest schema."""
    urls = {name: config.load(name).database_url for name in DATABASES}
    if len(set(urls.values())) < len(urls):  # each keeps its own migration history
        prefixes = [f"{name.upper()}_" for name in DATABASES]
        raise click.ClickException(
            "two services share one database; give each its own with "
            f"{', '.join(prefixes[:-1])} and {prefixes[-1]}DATABASE_URL")
    for name in DATABASES if service == "all" else (service,):
        upgrade(name, urls[name])
        click.echo(f"{name}: database up to date", err=True)


@db.command("revision")
@click.option("--service", type=click.Choice(DATABASES), required=True)
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
@click.option("--service", type=click.Choice(DATABASES), required=True)
@click.option("--scopes", required=True, help="comma-separated, e.g. events:write,registrations:read")
@click.option("--name", default="cli",
              help="who or what uses it (1-100 characters); shown in logs and history")
@click.option("--expires-in", "lifetime", default="1y", show_default=True, callback=_lifetime,
              help="how long it works: 30m, 12h, 90d, 1y")
def token_create(service, scopes, name, lifetime):
    """Create a token and print it, alone, on stdout."""
    from shared.tokens import create_token

    known = set(services.declared()[service].scopes)
    wanted = {s.strip() for s in scopes.split(",") if s.strip()}
    unknown = wanted - known
    if not wanted or unknown:
        raise click.BadParameter(f"{service} knows the scopes {', '.join(sorted(known))}",
                                 param_hint="--scopes")
    if not 1 <= len(name.strip()) <= 100:
        raise click.BadParameter("give 1 to 100 characters", param_hint="--name")
    from shared.db import utcnow

    now = utcnow()
    with database(service).transaction() as session:
        value = create_token(session, _models(service).ApiToken, name, wanted, lifetime, now)
    click.echo(value)
    click.echo(f"expires {_minute(now + lifetime, 'never')}", err=True)  # stdout: the token alone


@token.command("list")
@click.option("--service", type=click.Choice(DATABASES), required=True)
def token_list(service):
    """List tokens (never their values): id, name, scopes, state, expiry, last use (UTC)."""
    from sqlalchemy import select

    from shared.db import utcnow

    model, now = _models(service).ApiToken, utcnow()
    with database(service).transaction() as session:
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
@click.option("--service", type=click.Choice(DATABASES), required=True)
@click.argument("token_id", type=click.IntRange(1, MAX_INT))
def token_revoke(service, token_id):
    """Revoke a token by the id `token list` shows."""
    from shared.db import utcnow

    with database(service).transaction() as session:
        row = session.get(_models(service).ApiToken, token_id)
        if row is None:
            raise click.ClickException(f"no token {token_id}")
        row.revoked_at = row.revoked_at or utcnow()
    click.echo(f"token {token_id} revoked", err=True)


@main.command()
@click.option("--demo", is_flag=True, help="also add example data, every title marked "
                                           "\"Ejemplo:\", to see every feature")
def seed(demo):
    """Add the real seed data (the Chihuahua panel and first action plan) if it is not there;
    with --demo, labelled example data besides (added once)."""
    for name in services.names(lambda declaration: declaration.seed):
        added = services.declared()[name].seed(database(name))
        click.echo(f"{name}: {added}", err=True)
    if demo:
        earlier = {}
        for name in _demo_order():
            added, earlier[name] = services.declared()[name].demo(
                config.load(name), database(name), earlier)
            click.echo(f"{name}: {added}", err=True)


def _demo_order():
    """The services with a demo, each after those it names in `demo_after`."""
    waiting = {name: set(services.declared()[name].demo_after)
               for name in services.names(lambda declaration: declaration.demo)}
    order = []
    while waiting:
        ready = [name for name, after in waiting.items() if after <= set(order)]
        if not ready:
            raise RuntimeError(f"the demos of {', '.join(waiting)} wait for each other")
        order.append(ready[0])
        del waiting[ready[0]]
    return order


@main.command()
@click.argument("service", type=click.Choice(PUBLISHERS))
def relay(service):
    """Publish a service's outbox to the bus, forever; hourly, prune its feeds' tombstones."""
    from shared import changes
    from shared.bus import Bus, stream_name
    from shared.outbox import run_relay

    settings = config.load_process(service)
    stop_on_sigterm()
    db, models = database(service), _models(service)
    run_relay(db, models.Outbox, Bus.from_url(settings.redis_url), stream_name(service),
              upkeep=lambda: changes.prune_old(db, models.FeedTombstone,
                                               settings.feed_tombstone_retention))


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

    held = {"email": email}
    for name in PERSONAL_DATA:
        held.update(services.declared()[name].arco.export(database(name), email))
    click.echo(json.dumps(held, indent=2, ensure_ascii=False))


@arco.command("erase")
@click.option("--email", required=True, callback=_email)
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def arco_erase(email, yes):
    """Erase an email's registrations (freeing their seats), the emails kept for it and every
    copy on the bus."""
    from shared.db import utcnow

    if not yes:
        click.confirm(f"Erase every piece of data held for {email}?", abort=True)
    from shared.bus import Bus

    mail_first = sorted(PERSONAL_DATA, key=lambda name: not services.declared()[name].arco.sends_mail)
    held = {name: database(name) for name in mail_first}
    for db in held.values():
        db.ping()  # all answer before any erases: half an erasure is a promise half kept
    Bus.from_url(config.load(mail_first[0]).redis_url).ping()  # so does the bus, which keeps copies
    now = utcnow()
    for name, db in held.items():
        erased = services.declared()[name].arco.erase(config.load(name), db, email, now)
        click.echo(f"{name}: {erased} erased", err=True)  # said at once, should the next fail


@arco.command("log")
def arco_log():
    """Print every ARCO request on record, tab-separated, oldest first: request id, right,
    received, done, outcome, deadline and the person's keyed hash (never the address)."""
    columns = ("request_id", "right", "received_at", "done_at", "outcome", "deadline", "person")
    click.echo("\t".join(columns))
    for name in services.names(lambda declaration: declaration.arco and declaration.arco.log):
        for entry in services.declared()[name].arco.log(database(name)):
            click.echo("\t".join(str(entry[column] or "-") for column in columns))


def _add_declared_commands():
    for declaration in services.declared().values():
        for command in declaration.commands:
            if command.name in main.commands:
                raise RuntimeError(f"{declaration.name} declares `{command.name}`, "
                                   "a command `abierto` already has")
            main.add_command(command)


_add_declared_commands()
