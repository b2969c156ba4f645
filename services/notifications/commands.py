"""The notification service's `abierto` commands: its background processes."""
import click

from shared import config
from shared.operator_commands import stop_on_sigterm


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
