"""The registration service's `abierto` commands."""
import click

from shared import config
from shared.operator_commands import stop_on_sigterm


@click.command()
def holds():
    """Expire held seats nobody confirmed in PENDING_HOLD and promote the people waiting, and
    anonymise the registrations of events ended RETENTION_DAYS ago, forever."""
    from services.registration import holds as expirer

    settings = config.load_process("registration")
    stop_on_sigterm()
    expirer.run(settings=settings)
