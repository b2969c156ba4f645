"""`abierto seed --demo`: an example event ("Ejemplo:" in its title), a month ahead, full,
with a waiting list, reporting on the example commitment. Made through the API's own schemas
and use cases, so its registrations' emails go out as real ones would (to example.org
addresses); added once. The real event (seed.py) is not touched.
"""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from services.registration import service as use_cases
from services.registration.facts import Links
from services.registration.models import Event
from services.registration.schemas import EventSchema, RegistrationSchema
from shared.db import utcnow

TITLE = "Ejemplo: Taller de datos abiertos para vecinos"
ZONE = ZoneInfo("America/Chihuahua")
PEOPLE = [("Ana Ejemplo", "ana.ejemplo@example.org", "citizen"),
          ("Beto Ejemplo", "beto.ejemplo@example.org", "civil_society"),
          ("Carla Ejemplo", "carla.ejemplo@example.org", "academia"),
          ("Dora Ejemplo", "dora.ejemplo@example.org", "citizen")]  # the fourth waits: 3 seats


def demo(settings, db, commitment=None, now=None):
    """Add the example event and its registrations unless there; return what was done."""
    now = now or utcnow()
    links = Links(settings.public_base_url, settings.keys)  # no key, no half-made demo
    with db.transaction() as session:
        existing = session.scalar(select(Event.id).where(Event.title == TITLE))
    if existing:
        return f"demo event {existing} (already there)"
    day = (now.astimezone(ZONE) + timedelta(days=30)).date()
    starts = datetime.combine(day, time(10), ZONE)
    event = use_cases.create_event(db, EventSchema().load({
        "title": TITLE,
        "description": "Ejemplo: un evento de demostración. Cómo consultar y reutilizar los "
                       "datos abiertos del municipio. / Example: a demonstration event.",
        "category": "Access to Information — Workshop",
        "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "timezone": "America/Chihuahua", "venue": "Ejemplo: Sala de usos múltiples",
        "address": "Calle Victoria No.4, Centro", "city": "Chihuahua", "country": "MX",
        "host_organization": "Ejemplo: Coordinación de Transparencia", "capacity": 3,
        "related_commitments": [commitment["id"]] if commitment else []}), now)
    for name, email, sector in PEOPLE:
        use_cases.register(db, event.id, RegistrationSchema().load({
            "name": name, "email": email, "sector": sector, "privacy_consent": True}),
            links, now, timedelta(seconds=settings.pending_hold))
    return f"demo event {event.id}, {len(PEOPLE)} registrations (one waiting)"
