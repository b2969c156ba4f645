"""What the public pages show, built from the models: dates in words, the .ics, the JSON-LD,
and the registration form (its fields, and its errors worded in the page's language). Pure."""
from datetime import timezone
from zoneinfo import ZoneInfo

from services.registration import domain
from services.registration.schemas import NO_LINK
from shared import calendar, wording


SECTOR_LABELS = {  # value -> (es, en)
    "citizen": ("Ciudadanía", "Citizen"),
    "civil_society": ("Sociedad civil", "Civil society"),
    "government": ("Gobierno", "Government"),
    "academia": ("Academia", "Academia"),
    "private_sector": ("Sector privado", "Private sector"),
    "media": ("Medios", "Media"),
    "other": ("Otro", "Other"),
}
FORM_FIELDS = ("name", "email", "organization", "sector", "language", "accessibility_needs")
ERRORS = {  # field -> (es, en): one message per field, whatever marshmallow said
    "name": ("Escribe tu nombre (hasta 200 caracteres).", "Enter your name (up to 200 characters)."),
    "email": ("Escribe un correo electrónico válido, por ejemplo nombre@ejemplo.org.",
              "Enter a valid email address, for example name@example.org."),
    "organization": ("La organización admite hasta 200 caracteres.",
                     "Organisation can be up to 200 characters."),
    "sector": ("Elige un sector de la lista.", "Choose a sector from the list."),
    "language": ("Elige español o inglés.", "Choose Spanish or English."),
    "accessibility_needs": ("Las necesidades de accesibilidad admiten hasta 500 caracteres.",
                            "Accessibility needs can be up to 500 characters."),
    "accessibility_consent": ("Para guardar tus necesidades de accesibilidad marca la casilla de "
                              "consentimiento, o deja el campo vacío.",
                              "To keep your accessibility needs, tick the consent box, or leave "
                              "the field empty."),
    "privacy_consent": ("Para registrarte debes aceptar el aviso de privacidad.",
                        "You must accept the privacy notice to register."),
}
LINK_ERRORS = {  # field -> (es, en), when the field's trouble is a link (schemas.no_link)
    "name": ("Escribe tu nombre sin enlaces (sin «://» ni «www.»).",
             "Enter your name without links (no “://” or “www.”)."),
}


def when(event, language):
    """The event's date and times in its own zone, worded for one language."""
    zone = ZoneInfo(event.timezone)
    return (f"{wording.span(event.starts_at, event.ends_at, zone, language)} "
            f"({wording.offset(event.starts_at.astimezone(zone), language)})")


def availability(event, now):
    """One of "closed", "waitlist", "seats" and the seats left (None: unlimited)."""
    if not domain.registration_open(event, now):
        return "closed", None
    left = domain.seats_left(event)
    return ("waitlist" if left == 0 else "seats"), left


def osm_url(event):
    if event.latitude is None or event.longitude is None:
        return None
    lat, lon = f"{event.latitude:.6f}", f"{event.longitude:.6f}"
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"


def place(event):
    """Venue, address and city on one line, skipping the empty parts."""
    return ", ".join(part for part in (event.venue, event.address, event.city) if part)


def ics(event, now):
    """A one-event calendar file: times in UTC, so every calendar shows them right."""
    return calendar.ics(calendar.Entry(
        uid=f"event-{event.id}@abierto", stamp=now.astimezone(timezone.utc),
        start=event.starts_at.astimezone(timezone.utc), end=event.ends_at.astimezone(timezone.utc),
        summary=event.title, location=place(event), description=event.description or None))


def json_ld(event):
    """schema.org Event, for search engines and calendar apps."""
    zone = ZoneInfo(event.timezone)
    return {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": event.title,
        "description": event.description,
        "startDate": event.starts_at.astimezone(zone).isoformat(),
        "endDate": event.ends_at.astimezone(zone).isoformat(),
        "eventStatus": "https://schema.org/EventScheduled",
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "inLanguage": event.language,
        "location": {"@type": "Place", "name": event.venue or event.city, "address": {
            "@type": "PostalAddress", "streetAddress": event.address,
            "addressLocality": event.city, "addressCountry": event.country}},
        "organizer": {"@type": "Organization", "name": event.host_organization},
    }


def form_values(form):
    """What was typed, to show again (never the consent boxes: they must be ticked anew)."""
    return {name: form.get(name, "") for name in FORM_FIELDS}


def schema_input(form):
    """The API's RegistrationSchema input, from the HTML form's fields."""
    data = {name: form.get(name, "") for name in ("name", "email", "organization")}
    for name in ("sector", "language"):
        if form.get(name):  # absent: let the schema say "required" / use its default
            data[name] = form[name]
    data["accessibility_needs"] = form.get("accessibility_needs", "")
    data["accessibility_consent"] = form.get("accessibility_consent") == "yes"
    data["privacy_consent"] = form.get("privacy_consent") == "yes"
    return data


def form_errors(messages, language):
    """marshmallow's messages -> {field: message in the page's language}."""
    index = 0 if language == "es" else 1
    return {field: (LINK_ERRORS if _is_link(messages[field], field) else ERRORS)[field][index]
            for field in messages if field in ERRORS}


def _is_link(field_messages, field):
    return field in LINK_ERRORS and NO_LINK in field_messages
