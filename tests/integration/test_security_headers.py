"""Security headers and cookie flags, on every route of the three real apps.

Every answer: nosniff. HTML: the page CSP (no inline script or style anywhere, so the policy
holds). Everything else: `default-src 'none'`. Pages whose URL holds a signed token: no
Referer and no cache. Answers to a bearer token or carrying a cookie: no cache. With an
https PUBLIC_BASE_URL: HSTS and Secure cookies.
"""
import re
from dataclasses import replace

import pytest
from sqlalchemy import text

from services.commitments.app import create_app as create_commitments_app
from services.registration.app import create_app as create_registration_app
from services.registration.facts import Links
from shared import config
from tests.integration.commitments_helpers import (  # noqa: F401 (fixtures)
    cdb, client, commitments_app, make, writer)

PAGE_CSP = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
DATA_CSP = "default-src 'none'; frame-ancestors 'none'"
# The endpoints whose URL holds a signed token from an email, per service.
TOKEN_PAGES = {"registration": {"pages.cancel", "pages.own_calendar", "pages.confirm", "my_data.show",
                                 "my_data.download", "my_data.correct", "my_data.stop",
                                 "my_data.confirm_delete", "my_data.delete",
                                 "door_pages.door"},  # a staff link's own address
               "notifications": {"pages.confirm_page", "pages.confirm",
                                 "pages.unsubscribe_page", "pages.unsubscribe"},
               "commitments": set()}
HTTPS = "https://abierto.example.org"


def walk(app, ids):
    """(endpoint, method, response) for every rule and method of `app`, with the URL's
    variables filled from `ids` (existing rows) or with a dummy."""
    client, urls = app.test_client(), app.url_map.bind("abierto.test")
    for rule in app.url_map.iter_rules():
        values = {name: ids.get(name, {"token": "not-a-token", "filename": "abierto.css"}.get(name, 1))
                  for name in rule.arguments}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = urls.build(rule.endpoint, values, method=method)
            yield rule.endpoint, method, client.open(path, method=method)


def assert_headers(service, answers, page_csp=PAGE_CSP):
    pages = 0
    for endpoint, method, response in answers:
        where = f"{method} {endpoint} ({response.status_code})"
        headers = response.headers
        assert response.status_code != 500, where
        assert headers.get("X-Content-Type-Options") == "nosniff", where
        if response.mimetype == "text/html":
            pages += 1
            assert headers.get("Content-Security-Policy") == page_csp, where
            html = response.get_data(as_text=True)
            assert "<style" not in html and not re.search(r"\sstyle=", html), where
            scripts = re.findall(r"<script[^>]*>", html)
            # data, or a script file of our own (the check-in page's camera): never inline code
            assert all(tag == '<script type="application/ld+json">'
                       or re.fullmatch(r'<script src="/[\w/.-]+\.js" defer>', tag)
                       for tag in scripts), where
        else:
            assert headers.get("Content-Security-Policy") == DATA_CSP, where
        if endpoint in TOKEN_PAGES[service]:
            assert headers.get("Referrer-Policy") == "no-referrer", where
            assert headers.get("Cache-Control") == "no-store", where
        else:
            assert headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", where
        assert "Strict-Transport-Security" not in headers, where  # http base URL
    return pages


def test_every_registration_route(registration_app, make_event):
    _, db, settings = registration_app
    ids = {"event_id": make_event()["id"]}
    app = create_registration_app(settings, db=db)
    # events, event, privacy, cancel GET+POST, the form's POST, 404s of the static folders
    assert assert_headers("registration", walk(app, ids)) >= 6


def test_every_commitments_route(commitments_app, make):
    _, db, settings = commitments_app
    plan = make.plan()
    commitment = make.commitment(plan["id"], 1)
    milestone = make.milestone(commitment["id"])
    ids = {"plan_id": plan["id"], "ref": str(commitment["id"]), "milestone_id": milestone["id"]}
    app = create_commitments_app(settings, db=db)
    follow = config.load("notifications").public_base_url + "/follow"
    page_csp = PAGE_CSP.replace("form-action 'self'", f"form-action 'self' {follow}")
    assert assert_headers("commitments", walk(app, ids), page_csp) >= 2


def test_every_notifications_route(deliveries_app):
    _, db, settings = deliveries_app
    from services.notifications.app import create_app
    app = create_app(settings, db=db, enqueue=lambda ids: None)
    # the confirm and unsubscribe pages (GET and POST), the follow form's answer
    assert assert_headers("notifications", walk(app, {})) >= 5


def test_the_follow_form_may_post_to_the_notification_service(commitments_app, make):
    """form-action names exactly where the commitment page's follow form posts."""
    client = commitments_app[0]
    commitment = make.commitment(make.plan()["id"], 1)
    response = client.get(f"/commitments/{commitment['id']}")
    (action,) = re.findall(r'<form method="post" action="([^"]+)"', response.get_data(as_text=True))
    assert action == config.load("notifications").public_base_url + "/follow"
    assert f"form-action 'self' {action};" in response.headers["Content-Security-Policy"]


def _registration_id(db):
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT id FROM registrations")).scalar_one()


def test_the_cancel_page_of_a_real_link_is_neither_cached_nor_referred(
        registration_app, make_event, register):
    """It shows the person's registration: no cache may keep it, no Referer may carry its token."""
    client, db, settings = registration_app
    assert register(make_event()["id"]).status_code == 201
    link = Links("", settings.keys).cancel(_registration_id(db))
    shown = client.get(link)
    assert "Persona 1" in shown.get_data(as_text=True)
    for response in (shown, client.post(link)):
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_answers_to_a_bearer_token_are_not_cached(registration_app, make_event, organiser_headers,
                                                  deliveries_app, deliveries_headers):
    client = registration_app[0]
    event_id = make_event()["id"]
    attendees = client.get(f"/api/v1/events/{event_id}/registrations", headers=organiser_headers)
    deliveries = deliveries_app[0].get("/api/v1/deliveries", headers=deliveries_headers)
    for response in (attendees, deliveries):
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    public = client.get(f"/api/v1/events/{event_id}")
    assert public.status_code == 200 and "no-store" not in public.headers.get("Cache-Control", "")


def test_answers_that_set_a_cookie_are_not_cached(registration_app, make_event):
    """The form's CSRF session cookie, the language switch's cookie; a plain page stays cacheable."""
    client = registration_app[0]
    form = client.get(f"/events/{make_event()['id']}")
    switch = client.get("/privacy?lang=en")
    for response, name in ((form, "session"), (switch, "lang")):
        assert any(c.startswith(f"{name}=") for c in response.headers.getlist("Set-Cookie"))
        assert response.headers["Cache-Control"] == "no-store"
    plain = registration_app[0].application.test_client().get("/privacy")
    assert "Set-Cookie" not in plain.headers and "no-store" not in plain.headers.get("Cache-Control", "")


def _cookies(client, event_id):
    """{name: set of lowercased attributes} of the session and language cookies."""
    responses = (client.get(f"/events/{event_id}"), client.get("/?lang=en"))
    cookies = {}
    for response in responses:
        for header in response.headers.getlist("Set-Cookie"):
            name, *attributes = [part.strip() for part in header.split(";")]
            cookies[name.split("=")[0]] = {a.lower() for a in attributes}
    assert set(cookies) == {"session", "lang"}
    return cookies


@pytest.mark.parametrize("base_url, secure", [(HTTPS, True), ("http://abierto.test", False)])
def test_cookies_are_httponly_lax_and_secure_under_https(registration_app, make_event, base_url,
                                                         secure):
    _, db, settings = registration_app
    app = create_registration_app(replace(settings, public_base_url=base_url), db=db)
    for name, attributes in _cookies(app.test_client(), make_event()["id"]).items():
        assert {"httponly", "samesite=lax"} <= attributes, name
        assert ("secure" in attributes) is secure, name


@pytest.mark.parametrize("base_url, hsts", [(HTTPS, "max-age=31536000"), ("http://abierto.test", None)])
def test_hsts_only_when_the_public_base_url_is_https(registration_app, make_event, base_url, hsts):
    _, db, settings = registration_app
    client = create_registration_app(replace(settings, public_base_url=base_url), db=db).test_client()
    event_id = make_event()["id"]
    for path in ("/", f"/events/{event_id}", f"/api/v1/events/{event_id}", "/assets/abierto.css",
                 "/no-such-page"):
        assert client.get(path).headers.get("Strict-Transport-Security") == hsts, path
