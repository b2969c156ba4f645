"""The commitments service's `abierto` commands: the history's check and plan import."""
import sys
from pathlib import Path

import click
from marshmallow import ValidationError

from shared.operator_commands import database


@click.group()
def history():
    """The commitments' public history: hash-chained, and a signed transparency log."""


def _saved_head(_context, _parameter, value):
    """SIZE:ROOT, as an alert or GET /api/v1/history/head gives them."""
    if value is None:
        return None
    size, _, root = value.partition(":")
    if not (size.isdigit() and int(size) > 0 and len(root) == 64
            and all(c in "0123456789abcdefABCDEF" for c in root)):
        raise click.BadParameter("expected SIZE:ROOT, e.g. 12:3f5a…(64 hex digits)")
    return int(size), root


@history.command("verify")
@click.option("--against", metavar="SIZE:ROOT", callback=_saved_head,
              help="A tree head saved earlier: today's log must extend it.")
def history_verify(against):
    """Recompute the whole chain (and, --against, the tree of the saved head's first SIZE
    entries); print the result as JSON; exit 1 unless it holds."""
    import json

    from services.commitments.tracking import verify_history
    from services.commitments.transparency import check_against

    db = database("commitments")
    result = verify_history(db)
    if against:
        result = {**result, "against": check_against(db, *against)}
        result["ok"] = result["ok"] and result["against"]["ok"]
    click.echo(json.dumps(result))
    if not result["ok"]:
        sys.exit(1)


@history.command("keygen")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
def history_keygen(path):
    """Make the key that signs the history's tree heads, at PATH (default:
    HISTORY_SIGNING_KEY_FILE); never overwrites one. Prints the public key."""
    from services.commitments.tree_heads import keygen
    from shared import config

    path = path or config.load("commitments").history_signing_key_file
    if path is None:
        raise click.UsageError("give a PATH or set HISTORY_SIGNING_KEY_FILE")
    try:
        signer = keygen(path)
    except FileExistsError:
        raise click.ClickException(f"{path} exists; a key is never overwritten") from None
    click.echo(f"history signing key written to {path} (keep it outside the database's "
               f"backups); public key:", err=True)
    click.echo(signer.describe()["public_key"])


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
