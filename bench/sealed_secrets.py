"""What sealing webhook secrets at rest costs each call: CPU to open the endpoint's sealed
secret (webhooks/sealing.py: SECRET_KEY's derived key, Fernet) beside signing the call,
which was already done; in process, CPU seconds (time.process_time), so other work on the
host does not move the figures. Usage: ABIERTO_ENV=development python bench/sealed_secrets.py
"""
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ABIERTO_ENV", "development")
from services.notifications.webhooks import endpoints, sealing, transport  # noqa: E402
from shared import config  # noqa: E402
from shared.db import utcnow  # noqa: E402

CALLS = 20_000


def cpu_per_call(step):
    step()  # caches warm, as in a worker that has sent before
    start = time.process_time()
    for _ in range(CALLS):
        step()
    return (time.process_time() - start) / CALLS * 1e6


def main():
    settings = config.load("notifications")
    secret, now, body = endpoints.new_secret(), utcnow(), b'{"data": "..."}' * 100
    endpoint = SimpleNamespace(secret=sealing.seal(settings.keys, secret), previous_secret=None,
                               previous_secret_until=None)
    opened = cpu_per_call(lambda: endpoints.signing_secrets(endpoint, now, settings.keys))
    signed = cpu_per_call(lambda: transport.headers("msg_1", now, [secret], body))
    print(f"open the sealed secret: {opened:.1f} us CPU per call")
    print(f"sign the call (standardwebhooks): {signed:.1f} us CPU per call")


if __name__ == "__main__":
    main()
