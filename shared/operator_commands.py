"""What the `abierto` commands of every service share: a service's database, and stopping
cleanly when the process manager says so."""
import signal
import sys

from shared import config
from shared.db import Database


def database(service):
    """The service's database, from its settings."""
    return Database(config.load(service).database_url)


def stop_on_sigterm():
    # honcho and docker stop with SIGTERM; leave through the normal exit path.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
