"""The public feeds (services/registration/feeds.py) over HTTP: the same for every reader, so
caches and calendar apps keep them (ETag, five minutes); `?lang=en` for English titles."""
import hashlib
import json
import threading

from flask import Blueprint, Response, request

from services.registration import feeds
from shared import i18n
from shared.web import service

bp = Blueprint("feeds", __name__)
MAX_AGE = 300


class FeedTags:
    """The ETags the feeds were last rendered with, by what they were rendered from; in
    process (each worker renders a feed once per change), the oldest forgotten past MAX_KEPT.
    Only work is saved: a feed not found here is rendered and its bytes hashed, as ever."""

    MAX_KEPT = 64  # four feeds, two languages: a few changes' worth each

    def __init__(self):
        self._tags = {}
        self._changing = threading.Lock()  # a worker's threads share it

    def get(self, source):
        return self._tags.get(source)

    def remember(self, source, tag):
        with self._changing:
            self._tags.pop(source, None)
            self._tags[source] = tag
            while len(self._tags) > self.MAX_KEPT:
                del self._tags[next(iter(self._tags))]


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


def _cached(events, render, mimetype, **headers):
    """The feed rendered from `events` by `render()`, with a strong ETag of its bytes; 304
    when the reader holds these already. Each feed's ETag is remembered by what it was
    rendered from (the feed, the language, each event's change number, which any change to
    the event renews), so a reader that holds the current one gets its 304 without the feed
    being rendered again: only the rows are read."""
    source = (request.path, _language(), tuple((event.id, event.change_seq) for event in events))
    known = service().feed_tags.get(source)
    if known is not None and request.if_none_match.contains_weak(known):
        return _conditional(Response(mimetype=mimetype, headers=headers), known)
    body = render()
    body = body if isinstance(body, bytes) else body.encode()
    tag = hashlib.sha256(body).hexdigest()[:32]
    service().feed_tags.remember(source, tag)
    return _conditional(Response(body, mimetype=mimetype, headers=headers), tag)


def _conditional(response, tag):
    response.set_etag(tag)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return response.make_conditional(request)


def _json(data, mimetype="application/json"):
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@bp.get("/events.ics")
def calendar_feed():
    """Every upcoming event and the recently ended: subscribe with webcal://."""
    events = feeds.listed(service().db, service().clock())
    return _cached(events, lambda: feeds.ics(events, _site(), _language()), "text/calendar",
                   **{"Content-Disposition": 'inline; filename="eventos.ics"'})


@bp.get("/events.geojson")
def map_feed():
    """The same events with coordinates, as a GeoJSON FeatureCollection for maps."""
    events = feeds.listed(service().db, service().clock())
    return _cached(events, lambda: _json(feeds.geojson(events, _site(), _language())),
                   "application/geo+json")


@bp.get("/events/open-gov-week.json")
def open_gov_week_json():
    """Every event not cancelled, in the fields of Open Gov Week's "add your event" form."""
    events = feeds.every_event(service().db)

    def render():
        rows = feeds.open_gov_week(events, _site(), _language())
        return _json({"columns": list(feeds.OPEN_GOV_WEEK_COLUMNS), "events": rows})

    return _cached(events, render, "application/json")


@bp.get("/events/open-gov-week.csv")
def open_gov_week_csv():
    """The same as CSV (partners joined by "; ")."""
    events = feeds.every_event(service().db)
    return _cached(events, lambda: feeds.open_gov_week_csv(
        feeds.open_gov_week(events, _site(), _language())), "text/csv", **{
        "Content-Disposition": 'attachment; filename="open-gov-week.csv"'})
