"""The public feeds (services/registration/feeds.py) over HTTP: the same for every reader, so
caches and calendar apps keep them (ETag, five minutes); `?lang=en` for English titles."""
import hashlib
import json

from flask import Blueprint, Response, request

from services.registration import feeds
from shared import i18n
from shared.web import service

bp = Blueprint("feeds", __name__)
MAX_AGE = 300


@bp.app_context_processor
def _feed_links():
    def feed_url(path, scheme=None):
        """A feed's address in the page's language; scheme "webcal" for calendar apps."""
        url = service().settings.public_base_url + path
        if scheme:
            url = scheme + url[url.index(":"):]
        return url + ("?lang=en" if i18n.language() == "en" else "")

    return {"feed_url": feed_url}


def _site():
    return feeds.Site(service().settings.public_base_url, service().uid_domain)


def _language():
    return "en" if request.args.get("lang") == "en" else "es"


def _cached(body, mimetype, **headers):
    """The answer with a strong ETag of its bytes; 304 when the reader holds these already."""
    body = body if isinstance(body, bytes) else body.encode()
    response = Response(body, mimetype=mimetype, headers=headers)
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return response.make_conditional(request)


def _json(data, mimetype="application/json"):
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@bp.get("/events.ics")
def calendar_feed():
    """Every upcoming event and the recently ended: subscribe with webcal://."""
    events = feeds.listed(service().db, service().clock())
    return _cached(feeds.ics(events, _site(), _language()), "text/calendar",
                   **{"Content-Disposition": 'inline; filename="eventos.ics"'})


@bp.get("/events.geojson")
def map_feed():
    """The same events with coordinates, as a GeoJSON FeatureCollection for maps."""
    events = feeds.listed(service().db, service().clock())
    return _cached(_json(feeds.geojson(events, _site(), _language())), "application/geo+json")


@bp.get("/events/open-gov-week.json")
def open_gov_week_json():
    """Every event not cancelled, in the fields of Open Gov Week's "add your event" form."""
    rows = feeds.open_gov_week(feeds.every_event(service().db), _site(), _language())
    return _cached(_json({"columns": list(feeds.OPEN_GOV_WEEK_COLUMNS), "events": rows}),
                   "application/json")


@bp.get("/events/open-gov-week.csv")
def open_gov_week_csv():
    """The same as CSV (partners joined by "; ")."""
    rows = feeds.open_gov_week(feeds.every_event(service().db), _site(), _language())
    return _cached(feeds.open_gov_week_csv(rows), "text/csv", **{
        "Content-Disposition": 'attachment; filename="open-gov-week.csv"'})
