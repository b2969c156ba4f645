"""Where an email's CPU goes inside the worker, in process: CPU ms per reminder and per
confirmation (each with its own QR code and invite, as a 5,000-person reminder makes them),
built whole, then the QR code, the MIME tree and the wire bytes apart, beside the size on
the wire. No SMTP, database or Celery: `bench/pipeline.py` measures those with the rest.
Not part of `make bench`: a tool for working on the worker's cost per email.

    .venv/bin/python bench/email_parts.py --emails 2000 --rounds 3
"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from services.notifications.mail import checkin_qr, compose  # noqa: E402
from services.notifications.mail.mailer import _wire_bytes  # noqa: E402

MAIL_FROM = "Abierto <avisos@abierto.example.org>"
EVENT = {
    "id": 1, "title": "Presentación del Cumplimiento del Plan de Acción de Gobierno Abierto",
    "starts_at": "2024-05-31T16:00:00+00:00", "ends_at": "2024-05-31T18:00:00+00:00",
    "timezone": "America/Chihuahua",
    "venue": "Salón del Séptimo piso del Edificio Eloy S. Vallina",
    "address": "Calle Victoria No.4, Centro", "city": "Chihuahua", "country": "MX",
    "host_organization": "Coordinación de Transparencia, Gobierno Abierto y Archivos del "
                         "Municipio de Chihuahua",
    "url": "http://127.0.0.1:5001/events/1",
}


def fact(kind, number):
    """Attendee `number`'s fact, as the consumer stores it for a delivery."""
    data = {"event": EVENT, "registration": {
        "id": number, "name": f"Persona {number} López", "email": f"p{number}@example.org",
        "language": "es" if number % 3 else "en", "status": "confirmed",
        "cancel_url": f"http://127.0.0.1:5001/registrations/cancel/eyJpZCI6{number}.ZkXyQw.sig",
        "checkin_token": f"ABIERTO:1:{number}:K7M4QXABCDEFGHJK0123",
        "checkin_code": f"{number}-K7M4QX"}}
    if kind == "reminder":
        data["reminder"] = {"offset": "P1D", "due_at": "2024-05-30T16:00:00+00:00"}
    return data


def cpu_ms(step, items):
    """CPU milliseconds per item of `step` over `items`."""
    started = time.process_time()
    for item in items:
        step(item)
    return (time.process_time() - started) / len(items) * 1000


def measure(kind, emails):
    facts = [fact(kind, number) for number in range(1, emails + 1)]
    compose.warm_up()

    def build(data):
        return compose.build(kind, data, mail_from=MAIL_FROM,
                             message_id=f"<{data['registration']['id']}@x.example.org>")

    build(facts[0])  # the per-event shared parts, made once per process, out of the figure
    messages = [build(data) for data in facts]
    return {
        "whole": cpu_ms(lambda data: _wire_bytes(build(data)), facts),
        "qr": cpu_ms(lambda data: checkin_qr.png(data["registration"]["checkin_token"]), facts),
        "built": cpu_ms(build, facts),
        "wire": cpu_ms(_wire_bytes, messages),
        "kB": len(_wire_bytes(messages[0])) / 1000,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("kind                      whole ms  QR ms  built ms  wire ms   kB  (CPU per email)")
    for kind in ("reminder", "registration_confirmed"):
        for _ in range(args.rounds):
            f = measure(kind, args.emails)
            print(f"{kind:24s}  {f['whole']:8.3f}  {f['qr']:5.3f}  {f['built']:8.3f}  "
                  f"{f['wire']:7.3f}  {f['kB']:4.1f}")


if __name__ == "__main__":
    main()
