"""The notification service's `abierto` commands: its background processes."""
import click

from shared import config
from shared.operator_commands import stop_on_sigterm


def _public_statuses():
    from services.notifications.pipeline.deliveries import PUBLIC_STATUSES

    return PUBLIC_STATUSES


@click.command()
def consume():
    """Read domain events and queue the emails they ask for, forever."""
    from services.notifications import wiring
    from services.notifications.pipeline import consumer

    notifications = wiring.build(config.load_process("notifications"))
    stop_on_sigterm()
    consumer.run(notifications)


@click.command()
def sweep():
    """Requeue deliveries whose retry is due or whose worker died, forever."""
    from services.notifications import wiring
    from services.notifications.pipeline import sweeper

    notifications = wiring.build(config.load_process("notifications"))
    stop_on_sigterm()
    sweeper.run(notifications)


@click.group()
def deliveries():
    """The emails sent and to send: list them, send a failed one again."""


@deliveries.command("list")
@click.option("--status", type=click.Choice(_public_statuses()), help="pending, sent, failed ...")
@click.option("--kind", help="one email template, e.g. registration_confirmed")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--show-addresses", is_flag=True,
              help="print recipients in clear (else masked: a***@example.org)")
def deliveries_list(status, kind, limit, show_addresses):
    """Newest first, tab-separated: id, state, kind, tries, created (UTC), recipient, last error."""
    from services.notifications.pipeline import deliveries as pipeline
    from shared.operator_commands import database

    with database("notifications").transaction() as session:
        rows, total = pipeline.search(session, 1, limit, status=status, kind=kind)
    click.echo("\t".join(("id", "state", "kind", "tries", "created", "recipient", "last_error")))
    for row in rows:
        recipient = row.recipient if show_addresses else masked(row.recipient)
        click.echo("\t".join((str(row.id), row.state, row.kind, str(row.attempts),
                              f"{row.created_at:%Y-%m-%d %H:%M}Z", recipient,
                              _one_line(row.last_error))))
    click.echo(f"{len(rows)} of {total} shown", err=True)


@deliveries.command("retry")
@click.argument("delivery_ids", nargs=-1, required=True, type=click.IntRange(1, 2**31 - 1))
@click.option("--by", default=lambda: _operator(), show_default="cli:<login name>",
              help="who asks, for the delivery's history")
def deliveries_retry(delivery_ids, by):
    """Send failed deliveries again (their ids from `deliveries list --status failed`); the
    sweeper sends them within SWEEP_EVERY seconds."""
    from services.notifications.pipeline import deliveries as pipeline
    from shared.db import utcnow
    from shared.domain_errors import DomainError
    from shared.operator_commands import database

    db, refused = database("notifications"), 0
    for delivery_id in delivery_ids:
        try:
            with db.transaction() as session:
                pipeline.retry(session, delivery_id, by, utcnow())
        except DomainError as error:  # one refused does not stop the others
            click.echo(f"Error: {error.detail}", err=True)
            refused += 1
        else:
            click.echo(f"delivery {delivery_id}: queued again")
    if refused:
        raise SystemExit(1)


def masked(address):
    """a***@example.org: enough to tell mailboxes and domains apart on a shared screen."""
    local, at, domain = address.rpartition("@")
    return f"{local[:1]}***{at}{domain}" if at else "***"


def _one_line(text):
    return " ".join((text or "-").split())[:120]


def _operator():
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # a container user with no name
        return "cli"
