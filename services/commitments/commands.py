"""The commitments service's `abierto` commands: the history's check and plan import."""
import sys

import click
from marshmallow import ValidationError

from shared.operator_commands import database


@click.group()
def history():
    """The commitments' public, hash-chained history."""


@history.command("verify")
def history_verify():
    """Recompute the whole chain; print the result as JSON; exit 1 unless it holds."""
    import json

    from services.commitments.tracking import verify_history

    result = verify_history(database("commitments"))
    click.echo(json.dumps(result))
    if not result["ok"]:
        sys.exit(1)


@click.group()
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
    created = import_document(database("commitments"), document, "cli", utcnow())
    click.echo(f"commitments: imported action plan {created.id} "
               f"with {len(created.commitments)} commitment(s)", err=True)
