"""The seed: the real event the project started from (the municipality's panel on its Open
Government Action Plan), added once."""
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from services.registration.models import Event

CHIHUAHUA = ZoneInfo("America/Chihuahua")
DESCRIPTION = (
    "El Municipio de Chihuahua desde mayo del 2022, que fue admitido en la Open Government "
    "Partnership (Alianza de Gobierno Abierto), comenzó el proceso de co-creación de su Primer "
    "Plan de Acción de Gobierno Abierto. Como resultado de este ejercicio, el Municipio de "
    "Chihuahua, adquirió tres compromisos. En este Panel, se estará presentando el cumplimiento "
    "de los compromisos adquiridos y contará con la participación de los ciudadanos "
    "involucrados en la elaboración del Plan del Acción y la participación de las áreas de la "
    "administración municipal encargadas del cumplimiento."
)
DESCRIPTION_EN = (  # a translation; the Spanish above is the original
    "The Municipality of Chihuahua, admitted to the Open Government Partnership in May 2022, "
    "began co-creating its First Open Government Action Plan. As a result, the Municipality of "
    "Chihuahua made three commitments. This panel will present how those commitments have been "
    "fulfilled, with the citizens who took part in drafting the Action Plan and the municipal "
    "departments in charge of carrying them out."
)
PANEL = dict(
    title="Presentación del Cumplimiento del Plan de Acción de Gobierno Abierto",
    title_en="Presentation of the Fulfilment of the Open Government Action Plan",
    description=DESCRIPTION,
    description_en=DESCRIPTION_EN,
    category="Access to Information — Seminar/Panel",
    starts_at=datetime(2024, 5, 31, 10, 0, tzinfo=CHIHUAHUA),
    ends_at=datetime(2024, 5, 31, 12, 0, tzinfo=CHIHUAHUA),
    timezone="America/Chihuahua",
    venue="Salón del Séptimo piso del Edificio Eloy S. Vallina",
    address="Calle Victoria No.4, Centro",
    city="Chihuahua",
    country="MX",
    host_organization="Coordinación de Transparencia, Gobierno Abierto y Archivos del Municipio de Chihuahua",
    partners=[],
    capacity=None,
    language="es",
)


def seed(db):
    """Add the Chihuahua panel unless it is there; return its id."""
    with db.transaction() as session:
        existing = session.scalar(select(Event.id).where(Event.title == PANEL["title"],
                                                         Event.starts_at == PANEL["starts_at"]))
        if existing:
            return existing
        event = Event(**PANEL, confirmed_count=0)
        session.add(event)
        session.flush()
        return event.id
