"""The local mail sink's `abierto` commands: run it, and read what it received."""
import os
import sys

import click

from shared import config
from shared.operator_commands import stop_on_sigterm


@click.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=lambda: config.load("mailsink").smtp_port,
              type=click.IntRange(1, 65535))
def mailsink(host, port):
    """Run the local SMTP server; it keeps every message under DATA_DIR/mail."""
    import time

    from services.mailsink.server import serve

    folder = config.load_process("mailsink").data_dir / "mail"
    controller = serve(folder, host, port)
    click.echo(f"mailsink: SMTP on {host}:{port}, messages in {folder}", err=True)
    stop_on_sigterm()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


@click.group()
def mail():
    """Read what the local mail sink received."""


@mail.command("list")
def mail_list():
    """One line per message: file, date, to, subject."""
    from services.mailsink.server import list_messages

    for row in list_messages(config.load("mailsink").data_dir / "mail"):
        click.echo("\t".join(str(part) for part in row))


@mail.command("show")
@click.argument("name")
@click.option("--raw", is_flag=True, help="print the MIME source as received")
def mail_show(name, raw):
    """Show one message as a mail client would: headers, the text part, the attachments
    (its file name from `mail list`, e.g. 000001.eml)."""
    path = config.load("mailsink").data_dir / "mail" / os.path.basename(name)
    if not path.is_file():
        raise click.ClickException(f"no message {name}")
    if raw:
        sys.stdout.write(path.read_text(errors="replace"))
        return
    from services.mailsink.reading import as_read

    click.echo(as_read(path.read_bytes()), nl=False)
