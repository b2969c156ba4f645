"""Every link an email or invite gives a person opens a page in their language: each kind,
built from facts the real use cases recorded (registration, commitments) and the contexts the
notification pipeline keeps, has its hrefs, text URLs and invite URLs walked against the
three real apps (each at its own address), on both backends. JSON is for machines only."""
import email
import email.policy
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.commitments.app import create_app as create_commitments_app
from services.commitments.models import Base as CommitmentsBase
from services.notifications.app import create_app as create_notifications_app
from services.notifications.mail import compose, kinds
from services.notifications.mail.kind import KINDS_TEMPLATES
from services.notifications.mail.links import Links as FollowerLinks
from services.notifications.models import Delivery, WebhookEndpoint
from services.notifications.pipeline import handlers, subscriptions
from services.notifications.webhooks import delivering
from services.registration import my_data
from services.registration import service as use_cases
from services.registration.facts import Links, registration_fact
from services.registration.models import Event, Registration
from shared import calendar, config
from tests.integration.commitments_helpers import (
    NOW as COMMITMENTS_NOW, commitment_body, milestone_body, plan_body, token_headers, unguarded)

REGISTRATION_URL = "http://abierto.test"  # the registration_app fixture's
COMMITMENTS_URL = "http://compromisos.test"
NOTIFICATIONS_URL = "http://avisos.test"
MAIL_FROM = "Abierto <abierto@chihuahua.example>"
ONLINE = "https://meet.example/panel"
EVIDENCE = "https://chihuahua.example/acta.pdf"
RECEIVER = "https://portal.example/webhooks"  # an integrator's webhook endpoint
LEASE = timedelta(minutes=2)


@pytest.fixture
def commitments(service_databases):
    """The commitments app at its own address, on its emptied database."""
    db = service_databases("commitments")
    with unguarded(db), db.transaction() as session:
        for table in reversed(CommitmentsBase.metadata.sorted_tables):
            session.execute(table.delete())
    settings = config.load("commitments", database_url=db.url, public_base_url=COMMITMENTS_URL,
                           secret_key="integration-test-secret")
    return create_commitments_app(settings, db=db, clock=lambda: COMMITMENTS_NOW).test_client(), db


@pytest.fixture
def follower_app(empty_database):
    db = empty_database("notifications")
    settings = config.load("notifications", database_url=db.url,
                           public_base_url=NOTIFICATIONS_URL, secret_key="integration-test-secret")
    return create_notifications_app(settings, db=db).test_client(), db, settings


def milestone_changed(client, db, outbox_facts):
    """`milestone.changed` as the commitments API records it, and the commitment's JSON."""
    writer = token_headers(db, {"commitments:write"})
    plan = client.post("/api/v1/action-plans", json=plan_body(), headers=writer).get_json()
    commitment = client.post("/api/v1/commitments", json=commitment_body(plan["id"], 3),
                             headers=writer).get_json()
    milestone = client.post(f"/api/v1/commitments/{commitment['id']}/milestones",
                            json=milestone_body(), headers=writer).get_json()
    response = client.patch(f"/api/v1/milestones/{milestone['id']}", headers=writer, json={
        "status": "met", "progress_pct": 100, "date_met": "2024-02-15",
        "justification": "Se instaló el grupo.", "evidence": [{"title": "Acta", "url": EVIDENCE}]})
    assert response.status_code == 200, response.get_json()
    (fact,) = [f for f in outbox_facts(db) if f["type"] == "milestone.changed"]
    return fact, client.get(f"/api/v1/commitments/{commitment['id']}").get_json()


def registration_facts(registration_app, make_event, register, register_anonymously,
                       outbox_facts):
    """A fact of every `registration.*` type that emails someone, from the real use cases."""
    client, db, settings = registration_app
    links, now = Links(settings.public_base_url, settings.keys), datetime.now(timezone.utc)
    full = make_event(capacity=1, description="Panel con ciudadanía.\n\nSe presenta el avance del plan.")
    first = register(full["id"], 1).get_json()  # confirmed
    register(full["id"], 2, language="en")  # waitlisted, first in line
    register_anonymously(full["id"], 1)  # repeated
    held = make_event(confirm_by_email=True)
    register(held["id"], 3, language="en")  # pending
    use_cases.cancel(db, first["id"], links, now)  # cancelled; person 2 promoted
    my_data.request_link(db, "persona1@example.org", "en", links, now)  # arco.requested
    recorded = outbox_facts(db)
    # The organiser's moves: the facts their use cases record, from the same builder.
    with Session(db.engine) as session:  # changed in memory only
        event = session.get(Event, full["id"])
        seated = session.scalar(select(Registration).where(
            Registration.event_id == event.id, Registration.status == "confirmed"))
        old_venue, event.venue, event.online_url = event.venue, "Sala de Cabildo", ONLINE
        recorded.append(registration_fact(
            "registration.event_changed", seated, event, links, now,
            changes={"venue": {"old": old_venue, "new": event.venue},
                     "online_url": {"old": "", "new": ONLINE}}))
        recorded.append(registration_fact("registration.reminder", seated, event, links, now,
                                          reminder={"offset": "P1D", "due_at": now.isoformat()}))
        event.status = "postponed"
        recorded.append(registration_fact("registration.event_postponed", seated, event, links,
                                          now, reason={"es": "Lluvia", "en": "Rain"}))
        event.status = "cancelled"
        recorded.append(registration_fact("registration.event_cancelled", seated, event, links,
                                          now, reason={"es": "Lluvia", "en": "Rain"}))
        session.rollback()
    return recorded


def endpoint_switched_off(db, now):
    """The notice the webhook worker records when it switches an endpoint off (no fact from
    the bus makes it): its contact is emailed."""
    with db.transaction() as session:
        endpoint = WebhookEndpoint(url=RECEIVER, event_types=["milestone.changed"],
                                   contact_email="ti@portal.example", secret="whsec_" + "a" * 44,
                                   enabled=True, owner_token_id=1, created_by="portal",
                                   created_at=now, failing_since=now)
        session.add(endpoint)
        session.flush()
        delivering._disable(session, SimpleNamespace(lease=LEASE, mail_domain="abierto.test"),
                            endpoint, "gone", now)


def links_of(message):
    """Every URL a reader can follow: hrefs of the HTML part, URLs of the text part, and the
    invite's URL and the URLs its description gives."""
    found = set()
    collector = _Hrefs(found)
    collector.feed(message.get_body(("html",)).get_content())
    found.update(re.findall(r"https?://[^\s<>\"')]+", message.get_body(("plain",)).get_content()))
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            for entry in icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT"):
                found.add(str(entry["URL"]))
                found.update(re.findall(r"https?://\S+", str(entry.get("DESCRIPTION", ""))))
    return {url.rstrip(".,") for url in found}


class _Hrefs(HTMLParser):
    def __init__(self, found):
        super().__init__()
        self.found = found

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.found.add(href)


def test_every_link_of_every_email_kind_opens_a_page_in_the_readers_language(
        registration_app, commitments, follower_app, make_event, register,
        register_anonymously, outbox_facts):
    notifications, ndb, nsettings = follower_app
    follower_links = FollowerLinks(NOTIFICATIONS_URL, nsettings.keys)
    now = datetime.now(timezone.utc)
    changed, commitment = milestone_changed(*commitments, outbox_facts)
    # Two followers, one per language: each asks (the opt-in), one confirms (the alert).
    for address, language in (("bea@example.org", "es"), ("carl@example.org", "en")):
        subscriptions.request(ndb, address, f"commitment:{commitment['id']}", language,
                              commitment, follower_links, now, LEASE, "abierto.test", None)
    with ndb.transaction() as session:
        asked = [row.context["subscription"]["id"] for row in session.scalars(select(Delivery))]
    subscriptions.confirm(ndb, asked[0], now)
    facts = registration_facts(registration_app, make_event, register, register_anonymously,
                               outbox_facts) + [changed]
    for fact in facts:
        handlers.handle(ndb, fact, now, LEASE, "abierto.test", follower_links)
    endpoint_switched_off(ndb, now)
    with ndb.transaction() as session:
        rows = [(row.kind, row.context, row.message_id)
                for row in session.scalars(select(Delivery).order_by(Delivery.id)).all()]
    ours = {name for name, kind in kinds.REGISTRY.items() if kind.templates == KINDS_TEMPLATES}
    assert {kind for kind, _, _ in rows} == ours  # every kind the project has is walked

    apps = {urlsplit(REGISTRATION_URL).netloc: registration_app[0],
            urlsplit(COMMITMENTS_URL).netloc: commitments[0],
            urlsplit(NOTIFICATIONS_URL).netloc: notifications}
    uid_domain = calendar.uid_domain(REGISTRATION_URL, MAIL_FROM)
    walked = {}
    for kind, context, message_id in rows:
        built = compose.build(kind, context, mail_from=MAIL_FROM, message_id=message_id,
                              my_data_url=f"{REGISTRATION_URL}/my-data", uid_domain=uid_domain)
        message = email.message_from_bytes(built.as_bytes(), policy=email.policy.default)
        for url in links_of(message):
            if url in (ONLINE, EVIDENCE, RECEIVER):  # the organiser's, evidence's, integrator's
                continue
            walked.setdefault(url, kind)
    assert len(walked) > 20
    for url, kind in walked.items():
        parts = urlsplit(url)
        assert parts.netloc in apps, f"{kind}: {url} is not one of our sites"
        assert "/api/" not in parts.path, f"{kind}: {url} is the API's"
        language = parse_qs(parts.query).get("lang", [None])[0]
        assert language in ("es", "en"), f"{kind}: {url} does not say the reader's language"
        client = apps[parts.netloc]
        client.delete_cookie("lang")  # the page's language comes from the link alone
        response = client.get(parts.path, query_string=parts.query,
                              headers={"Accept-Language": "en" if language == "es" else "es"})
        assert response.status_code == 200, f"{kind}: {url} -> {response.status_code}"
        assert response.mimetype == "text/html", f"{kind}: {url} -> {response.mimetype}"
        page = response.get_data(as_text=True)
        assert f'lang="{language}"' in page, f"{kind}: {url}"
        if parts.path == "/history/verify":  # the head the alert gave still checks out
            assert "✔" in page and 'role="alert"' not in page


def test_facts_carry_the_pages_for_people_and_the_api_for_machines(
        registration_app, commitments, make_event, register, outbox_facts):
    event = make_event()
    register(event["id"], 1)
    (fact,) = outbox_facts(registration_app[1])
    assert fact["data"]["event"]["url"] == f"{REGISTRATION_URL}/events/{event['id']}"
    assert fact["data"]["event"]["api_url"] == f"{REGISTRATION_URL}/api/v1/events/{event['id']}"
    assert fact["data"]["event"]["description"] == "Panel con ciudadanía y áreas responsables."
    changed, commitment = milestone_changed(*commitments, outbox_facts)
    shown, page = changed["data"]["commitment"], f"{COMMITMENTS_URL}/commitments/{commitment['id']}"
    assert (shown["page_url"], shown["history_page_url"]) == (page, page + "#s-history")
    assert shown["url"] == commitment["url"]  # the API's, as before
    head = changed["data"]["history_head"]
    assert head["verify_page_url"] == (f"{COMMITMENTS_URL}/history/verify?size={head['size']}"
                                       f"&root={head['root_hash']}")
