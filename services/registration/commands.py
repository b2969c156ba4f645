"""The registration service's `abierto` commands."""
import click

from shared import config
from shared.operator_commands import stop_on_sigterm

_TIMERS_HELP = """Every SWEEP_EVERY seconds: expire held seats nobody confirmed in PENDING_HOLD
and promote the people waiting, tell attendees of event changes (CHANGE_COALESCE after the
first edit), send the REMINDERS due; every hour, anonymise the registrations of events ended
RETENTION_DAYS ago. Forever; several at once are safe."""


def _run_timers():
    from services.registration import timers as registration_timers

    settings = config.load_process("registration")
    stop_on_sigterm()
    registration_timers.run(settings=settings)


timers = click.command("timers", help=_TIMERS_HELP)(_run_timers)
# The process's name before it sent changes and reminders, kept for operators' old scripts.
holds = click.command("holds", hidden=True, help=_TIMERS_HELP)(_run_timers)
