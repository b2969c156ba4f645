"""The notification service, as `abierto` and shared/ find it (entry point `abierto.services`)."""
from pathlib import Path

from services.notifications import commands, models, published
from shared.services import Arco, ServiceDeclaration


def _export(db, email):
    from services.notifications import person
    from shared import config

    held = person.export(db, config.load("notifications").keys, email)
    return {"notifications": held["deliveries"], "subscriptions": held["subscriptions"],
            "opposed": held["opposed"]}


def _erase(settings, db, email, now):
    from services.notifications import person
    from shared.bus import Bus

    return person.erase(db, Bus.from_url(settings.redis_url), settings.keys, email, now)


def _demo(settings, db, earlier):
    from services.notifications.demo import demo

    return demo(settings, db, earlier["commitments"]["commitment"]), {}


SERVICE = ServiceDeclaration(
    name="notifications",
    port=5003,
    app="services.notifications.app:create_app",
    models=models,
    migrations=Path(__file__).with_name("migrations"),
    scopes={"deliveries:read": "read the emails sent and their states",
            "deliveries:write": "send a failed email again",
            "subscriptions:read": "read who follows what",
            # the service hosting the "Mis datos" pages, for the person who asked
            "arco:read": "read everything held for one address",
            "arco:write": "correct, oppose and erase what is held for one address",
            "webhooks:write": "register webhook endpoints and read their delivery logs",
            # beside webhooks:write: these facts name the attendee or requester
            "registrations:read": "subscribe webhooks to registration.* and arco.* events"},
    commands=(commands.consume, commands.sweep, commands.deliveries),
    arco=Arco(export=_export, erase=_erase, sends_mail=True),
    demo=_demo,
    demo_after=("commitments",),  # it follows the example commitment
    events=published.EVENTS,
)
