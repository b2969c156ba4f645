"""What the public pages show, built from the models: dates in words, the .ics, the JSON-LD,
and the registration form (its fields, and its errors worded in the page's language). Pure."""
from datetime import timezone
from zoneinfo import ZoneInfo

import segno
from markupsafe import Markup

from services.registration import checkin_codes, domain
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


EVENT_STATUS = {  # the event's status -> schema.org's eventStatus
    "scheduled": "https://schema.org/EventScheduled",
    "rescheduled": "https://schema.org/EventRescheduled",
    "postponed": "https://schema.org/EventPostponed",
    "cancelled": "https://schema.org/EventCancelled",
}
CALLED_OFF = ("cancelled", "postponed")  # no date to come to: registration is closed


def text(event, name, language):
    """The event's `title` or `description` in `language`, else in Spanish (the original)."""
    english = getattr(event, f"{name}_en", None) if language == "en" else None
    return english or getattr(event, name)


def in_spanish(event, name, language):
    """Whether `text` fell back to Spanish on an English page (its element says lang="es")."""
    return language == "en" and not getattr(event, f"{name}_en", None)


def status_reason(event, language):
    """The organiser's word on a cancellation or postponement, in `language` if given."""
    reason = event.status_reason or {}
    return (reason.get(language) or reason.get("es") or "") if event.status in CALLED_OFF else ""


def when(event, language):
    """The event's date and times in its own zone, worded for one language."""
    zone = ZoneInfo(event.timezone)
    return (f"{wording.span(event.starts_at, event.ends_at, zone, language)} "
            f"({wording.offset(event.starts_at.astimezone(zone), language)})")


def availability(event, now):
    """One of "cancelled", "postponed", "closed", "waitlist", "seats", and the seats left
    (None: unlimited)."""
    if event.status in CALLED_OFF:
        return event.status, None
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


def ics(event, now, language, uid_domain):
    """A one-event calendar file: times in UTC, so every calendar shows them right."""
    return calendar.ics(calendar.Entry(
        uid=f"event-{event.id}@{uid_domain}", stamp=now.astimezone(timezone.utc),
        start=event.starts_at.astimezone(timezone.utc), end=event.ends_at.astimezone(timezone.utc),
        summary=text(event, "title", language), location=_location(event),
        description=text(event, "description", language) or None,
        cancelled=True if event.status == "cancelled" else None))


def registration_ics(event, registration, now, language, uid_domain):
    """The attendee's own entry, as their emails' invites make it (one UID per registration,
    their SEQUENCE), so importing it updates the entry an invite added instead of adding one."""
    stands = registration.status in domain.HOLDING_A_SEAT and event.status != "cancelled"
    return calendar.ics(calendar.Entry(
        uid=calendar.registration_uid(registration.id, uid_domain), stamp=now.astimezone(timezone.utc),
        start=event.starts_at.astimezone(timezone.utc), end=event.ends_at.astimezone(timezone.utc),
        summary=text(event, "title", language), location=_location(event),
        description=text(event, "description", language) or None,
        cancelled=not stands, sequence=registration.invite_sequence or 0), method="PUBLISH")


def _location(event):
    return ", ".join(part for part in (place(event), event.online_url) if part)


def json_ld(event, language):
    """schema.org Event, for search engines and calendar apps."""
    zone = ZoneInfo(event.timezone)
    where = []
    if place(event) or not event.online_url:
        where.append({"@type": "Place", "name": event.venue or event.city, "address": {
            "@type": "PostalAddress", "streetAddress": event.address,
            "addressLocality": event.city, "addressCountry": event.country}})
    if event.online_url:
        where.append({"@type": "VirtualLocation", "url": event.online_url})
    mode = ("Mixed" if len(where) == 2 else "Online") if event.online_url else "Offline"
    return {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": text(event, "title", language),
        "description": text(event, "description", language),
        "startDate": event.starts_at.astimezone(zone).isoformat(),
        "endDate": event.ends_at.astimezone(zone).isoformat(),
        "eventStatus": EVENT_STATUS.get(event.status, EVENT_STATUS["scheduled"]),
        "eventAttendanceMode": f"https://schema.org/{mode}EventAttendanceMode",
        "inLanguage": event.language,  # what is spoken there, not the page's language
        "location": where[0] if len(where) == 1 else where,
        "organizer": {"@type": "Organization", "name": event.host_organization},
    }


def checkin(keys, event, registration, language):
    """What the attendee shows at the door: the QR code, an inline SVG made here (no request
    to anyone, nothing a strict CSP blocks), and the short code to read aloud beside it."""
    short = checkin_codes.code(keys, event.id, registration.id)
    label = (f"Código QR de registro. Código corto: {short}" if language == "es"
             else f"Check-in QR code. Short code: {short}")
    qr = segno.make(checkin_codes.token(keys, event.id, registration.id), error="m")
    svg = qr.svg_inline(scale=6, border=4, light="#fff", title=label, svgclass="qr")
    # segno names no role: "img" makes readers announce the <title> as the picture's text.
    return {"svg": Markup(svg.replace("<svg ", '<svg role="img" ', 1)), "code": short}


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
