"""The registration service, as `abierto` and shared/ find it (entry point `abierto.services`)."""
from pathlib import Path

from services.registration import commands, models, published
from shared.services import Arco, ServiceDeclaration


def _seed(db):
    from services.registration.seed import seed

    return f"seed event {seed(db)}"


def _demo(settings, db, earlier):
    from services.registration.demo import demo

    return demo(settings, db, earlier.get("commitments", {}).get("commitment")), {}


def _export(db, email):
    from services.registration import privacy

    return {"registration": privacy.export(db, email)}


def _log(db):
    from services.registration import arco_log

    rows, _ = arco_log.entries(db)
    return [arco_log.as_dict(row) for row in rows]


def _erase(settings, db, email, now):
    """Erasing a registration frees its seat: the person promoted gets their links."""
    from services.registration import my_data
    from services.registration.facts import Links
    from shared.bus import Bus

    return my_data.erase(db, Bus.from_url(settings.redis_url), email,
                         Links(settings.public_base_url, settings.keys), now)


SERVICE = ServiceDeclaration(
    name="registration",
    port=5001,
    app="services.registration.app:create_app",
    models=models,
    migrations=Path(__file__).with_name("migrations"),
    scopes={
        "events:write": "publish events, and change the events the same token published",
        "events:admin": "change any event",
        "registrations:read": "read an event's registrations",
        # kiosks and municipal systems
        "registrations:write": "register people, and be told the outcome",
        # the transparency office
        "arco:read": "read the ARCO requests on record (no addresses)",
    },
    seed=_seed,
    demo=_demo,
    demo_after=("commitments",),  # the example event reports on the example commitment
    commands=(commands.timers, commands.holds),
    arco=Arco(export=_export, erase=_erase, log=_log),
    events=published.EVENTS,
)
