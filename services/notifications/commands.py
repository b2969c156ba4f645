"""The notification service's `abierto` commands: its background processes."""
import click

from shared.operator_commands import stop_on_sigterm


@click.command()
def consume():
    """Read domain events and queue the emails they ask for, forever."""
    from services.notifications.pipeline import consumer

    stop_on_sigterm()
    consumer.run()


@click.command()
def sweep():
    """Requeue deliveries whose retry is due or whose worker died, forever."""
    from services.notifications.pipeline import sweeper

    stop_on_sigterm()
    sweeper.run()
