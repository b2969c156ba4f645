"""The "Mis datos" pages on both backends: the link by email (real Redis, real SMTP), and the
page that gathers what registration holds and, over real HTTP with a service token, what
the notification service holds; download, correct, stop and delete, each on record."""
import os
import re
import subprocess
import sys
import threading
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from werkzeug.serving import make_server

from services.notifications.app import create_app as create_notifications_app
from services.notifications.models import ApiToken as NotificationsToken
from services.notifications.models import Subscription, WebhookEndpoint
from services.notifications.pipeline import deliveries
from services.notifications.webhooks import recording
from services.registration import service as use_cases
from services.registration.app import create_app as create_registration_app
from services.registration.facts import Links
from services.registration.models import ApiToken as RegistrationToken
from services.registration.notifications_client import NotificationsClient
from shared import envelope
from shared.db import utcnow
from tests.integration.conftest import PUBLIC_BASE_URL, _settings
from tests.integration.test_consumer import bus, pending, published, read_all  # noqa: F401 (fixture)
from tests.integration.test_mail_cap import consume
from tests.integration.test_webhooks import registration_fact

ANA = "Ana.Lopez@Example.org"
NOBODY = "nadie@example.org"
NEEDS = "Intérprete de lengua de señas"


class Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now


@pytest.fixture
def notifications_api(notifications, new_token):
    """The notification app served over real HTTP on its test database: (url, token, db)."""
    db = notifications.db
    app = create_notifications_app(_settings("notifications", db), db=db, enqueue=lambda ids: None)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = new_token(db, {"arco:read", "arco:write"}, model=NotificationsToken)
    yield f"http://127.0.0.1:{server.server_port}", token, db
    server.shutdown()


@pytest.fixture
def site(notifications_api, empty_database, new_token, future_event):
    """The registration site, its notification client pointed at the served app."""
    url, token, _ = notifications_api
    db, clock = empty_database("registration"), Clock()
    settings = _settings("registration", db)
    app = create_registration_app(settings, db=db, clock=clock,
                                  notifications=NotificationsClient(url, token))
    client = app.test_client()
    organiser = {"Authorization": "Bearer " + new_token(
        db, {"events:write", "registrations:write"}, model=RegistrationToken, now=clock())}
    event = client.post("/api/v1/events", json=future_event(capacity=1), headers=organiser)
    assert event.status_code == 201, event.get_json()
    return client, db, settings, clock, event.get_json()["id"], organiser


def count(db, table):
    with db.engine.connect() as connection:
        return connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def ask(client, email):
    form = client.get("/my-data")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True))[1]
    return client.post("/my-data", data={"email": email, "csrf_token": csrf})


def requested(db):
    """The `arco.requested` facts in registration's outbox."""
    with db.engine.connect() as connection:
        payloads = connection.execute(text(
            "SELECT payload FROM outbox WHERE cloudevent_type = 'arco.requested' ORDER BY id")).scalars()
        return [envelope.loads(payload) for payload in payloads]


def link_path(db):
    return requested(db)[-1]["data"]["requester"]["url"].removeprefix(PUBLIC_BASE_URL)


def register(client, event_id, headers, email=ANA, name="Ana López", **extra):
    response = client.post(f"/api/v1/events/{event_id}/registrations", headers=headers, json={
        "name": name, "email": email, "sector": "citizen", "privacy_consent": True, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def follow_and_mail(db, email=ANA):
    """What the notification service holds for a follower: a follow and an email sent."""
    now = utcnow()
    with db.transaction() as session:
        session.add(Subscription(email=email, email_key=email.lower(), topic="commitment:3",
                                 language="es", status="confirmed", created_at=now,
                                 confirmed_at=now))
        fact = {"id": "3f1c6c1e-0000-4000-8000-000000000001", "type": "registration.confirmed",
                "subject": "events/1/registrations/1"}
        delivery = deliveries.record(session, fact, "registration_confirmed", email,
                                     {"registration": {"email": email}}, now, timedelta(0), "x")
        delivery.state, delivery.sent_at = deliveries.SENT, now
        # and a municipal system whose webhook is sent registrations
        session.add(WebhookEndpoint(
            url="https://tramites.example/hooks?key=k", description="Trámites",
            event_types=["registration.confirmed"], contact_email="ti@tramites.example",
            secret="sealed", enabled=True, owner_token_id=1, created_by="Portal ciudadano",
            created_at=now))
    recording.record_batch(db, [registration_fact(email)], now, timedelta(0))


def test_the_link_goes_by_email_once_an_hour_and_the_answer_never_changes(site, worker, bus, smtp):
    client, db, _, clock, _, _ = site
    first = ask(client, ANA)
    assert first.status_code == 200 and "Revisa tu correo" in first.get_data(as_text=True)
    (fact,) = requested(db)
    assert fact["data"]["requester"]["url"].startswith(f"{PUBLIC_BASE_URL}/my-data/")
    before = {table: count(db, table) for table in ("my_data_links", "outbox", "arco_requests")}
    again, unknown = ask(client, ANA.upper()), ask(client, NOBODY)
    assert again.get_data() == first.get_data() == unknown.get_data()
    assert count(db, "my_data_links") == before["my_data_links"] + 1  # only the unknown one
    assert [f["data"]["requester"]["email"] for f in requested(db)] == [ANA, NOBODY]

    consume(bus, [fact])  # the real consumer, worker and SMTP server
    inbox, _ = smtp
    (message,) = inbox.wait_for([ANA])[ANA]
    body = message.get_body(("plain",)).get_content()
    assert "Tu enlace para consultar tus datos" in message["Subject"]
    assert fact["data"]["requester"]["url"] in body and "24 horas" in body
    assert "http://127.0.0.1:5001/my-data" in body  # every email's footer


def test_a_bad_address_is_refused_and_nothing_is_written(site):
    client, db, *_ = site
    response = ask(client, "no es un correo")
    assert response.status_code == 422
    assert "Escribe un correo electrónico válido" in response.get_data(as_text=True)
    assert count(db, "my_data_links") == 0 and requested(db) == []


def test_the_page_shows_everything_every_service_holds(site, notifications_api):
    client, db, _, _, event_id, organiser = site
    register(client, event_id, organiser, accessibility_needs=NEEDS, accessibility_consent=True,
             organization="Colectivo")
    follow_and_mail(notifications_api[2])
    ask(client, ANA)
    page = client.get(link_path(db))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    for shown in ("Presentación del Plan de Acción", "confirmado", "Ana López", NEEDS,
                  "Compromiso 3", "Confirmación de registro", "enviado", "Colectivo",
                  "Portal ciudadano (Trámites), https://tramites.example"):
        assert shown in html

    download = client.get(link_path(db) + "/data.json")
    held = download.get_json()
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert held["registration"][0]["accessibility_needs"] == NEEDS
    assert held["notifications"]["subscriptions"][0]["topic"] == "commitment:3"
    assert held["notifications"]["deliveries"][0]["kind"] == "registration_confirmed"
    assert held["notifications"]["opposed"] is False
    (call,) = held["notifications"]["webhook_calls"]
    assert call["endpoint"]["site"] == "https://tramites.example" and "key=k" not in html


def test_event_titles_are_in_the_readers_language(site, future_event):
    """A bilingual event's title in English on the English page; a Spanish-only one stays in
    Spanish, marked so (lang="es")."""
    client, db, _, _, spanish_only, organiser = site
    bilingual = client.post("/api/v1/events", headers=organiser, json=future_event(title={
        "es": "Mesa de diálogo ciudadano", "en": "Citizen dialogue round table"})).get_json()["id"]
    for event_id in (spanish_only, bilingual):
        register(client, event_id, organiser)
    ask(client, ANA)
    english = client.get(link_path(db) + "?lang=en").get_data(as_text=True)
    assert f'<a href="/events/{bilingual}">Citizen dialogue round table</a>' in english
    assert "Mesa de diálogo ciudadano" not in english
    assert f'<a href="/events/{spanish_only}" lang="es">Presentación del Plan de Acción' in english
    spanish = client.get(link_path(db) + "?lang=es").get_data(as_text=True)
    assert f'<a href="/events/{bilingual}">Mesa de diálogo ciudadano</a>' in spanish
    assert "Citizen dialogue" not in spanish
    held = client.get(link_path(db) + "/data.json").get_json()["registration"]
    assert [(r["event_title"], r["event_title_en"]) for r in held] == [
        ("Presentación del Plan de Acción de Gobierno Abierto", None),
        ("Mesa de diálogo ciudadano", "Citizen dialogue round table")]


def test_tampered_expired_and_erased_links_open_nothing(site):
    client, db, _, clock, *_ = site
    ask(client, ANA)
    path = link_path(db)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert client.get(tampered).status_code == 400
    assert client.post(tampered + "/delete").status_code == 400
    clock.now += timedelta(hours=25)
    expired = client.get(path)
    assert expired.status_code == 410 and "Enlace vencido" in expired.get_data(as_text=True)
    assert client.post(path + "/correct", data={"name": "X"}).status_code == 410
    assert count(db, "arco_requests") == 0  # bad links are no request


def test_a_correction_shows_in_the_next_email_and_an_oversized_one_writes_nothing(
        site, notifications_api):
    client, db, settings, clock, event_id, organiser = site
    registration_id = register(client, event_id, organiser)
    ask(client, ANA)
    path = link_path(db)
    too_long = client.post(path + "/correct", data={
        "name": "A" * 201, "organization": "", "accessibility_needs": "", "language": "es"})
    assert too_long.status_code == 422
    assert "hasta 200 caracteres" in too_long.get_data(as_text=True)
    assert count(db, "arco_requests") == 0

    corrected = client.post(path + "/correct", data={
        "name": "Ana María López", "organization": "Red Ciudadana", "accessibility_needs": "",
        "language": "en"})
    assert corrected.status_code == 200 and "Datos corregidos" in corrected.get_data(as_text=True)
    use_cases.cancel(db, registration_id, Links(PUBLIC_BASE_URL, settings.keys), clock())
    cancelled = [fact for fact in requested_all(db) if fact["type"] == "registration.cancelled"]
    assert cancelled[0]["data"]["registration"]["name"] == "Ana María López"
    assert cancelled[0]["data"]["registration"]["language"] == "en"


def test_needs_given_in_a_correction_ask_their_own_consent(site, notifications_api):
    client, db, *_ = site
    register(client, event_id=site[4], headers=site[5])
    ask(client, ANA)
    path = link_path(db)
    fields = {"name": "Ana López", "organization": "", "accessibility_needs": NEEDS,
              "language": "es"}
    refused = client.post(path + "/correct", data=fields)
    assert refused.status_code == 422
    assert 'id="accessibility_consent-error"' in refused.get_data(as_text=True)
    assert count(db, "arco_requests") == 0
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT accessibility_needs FROM registrations")).scalar() is None

    given = client.post(path + "/correct", data={**fields, "accessibility_consent": "yes"})
    assert given.status_code == 200
    with db.engine.connect() as connection:
        needs, consented = connection.execute(text(
            "SELECT accessibility_needs, accessibility_consent_at FROM registrations")).one()
    assert needs == NEEDS and consented is not None


def requested_all(db):
    with db.engine.connect() as connection:
        payloads = connection.execute(text("SELECT payload FROM outbox ORDER BY id")).scalars()
        return [envelope.loads(payload) for payload in payloads]


def test_opposition_suppresses_alerts_but_not_what_a_registration_needs(site, notifications_api):
    client, db, *_ = site
    _, _, notifications_db = notifications_api
    ask(client, ANA)
    stopped = client.post(link_path(db) + "/stop", data={"opposed": "yes"})
    assert stopped.status_code == 200 and "Ya no te escribiremos" in stopped.get_data(as_text=True)
    alert = {"id": str(uuid.uuid4()), "type": "milestone.changed", "subject": "milestones/1"}
    registration = {"id": str(uuid.uuid4()), "type": "registration.confirmed",
                    "subject": "events/1/registrations/1"}
    with notifications_db.transaction() as session:
        states = deliveries.record_all(session, [
            (alert, "milestone_alert", "ana.lopez+alerts@example.org", {}),
            (registration, "registration_confirmed", ANA, {})], utcnow(), timedelta(0), "x")
    assert [state for _, state in states] == [deliveries.SUPPRESSED, deliveries.QUEUED]
    assert "Volver a recibir avisos" in client.get(link_path(db)).get_data(as_text=True)


def test_delete_asks_first_then_erases_everything_everywhere(site, notifications_api):
    client, db, _, _, event_id, organiser = site
    register(client, event_id, organiser)
    waiting = register(client, event_id, organiser, email="luis@example.org", name="Luis")
    follow_and_mail(notifications_api[2])
    ask(client, ANA)
    path = link_path(db)
    confirm = client.get(path + "/delete")
    assert confirm.status_code == 200 and "¿Borrar todos tus datos?" in confirm.get_data(as_text=True)
    assert count(db, "registrations") == 2  # the GET changed nothing

    done = client.post(path + "/delete")
    assert done.status_code == 200 and "Datos borrados" in done.get_data(as_text=True)
    assert client.get(path).status_code == 404
    for database in (db, notifications_api[2]):
        for table in inspect(database.engine).get_table_names():
            with database.engine.connect() as connection:
                for row in connection.execute(text(f"SELECT * FROM {table}")):
                    assert not {"ana.lopez", "ana lópez"} & set(_words(row)), (table, row)
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT status FROM registrations WHERE id = :i"),
                                  {"i": waiting}).scalar_one() == "confirmed"  # promoted


def _words(row):
    text_ = str(row).lower()
    return {word for word in ("ana.lopez", "ana lópez") if word in text_}


def test_a_silent_notification_service_leaves_everything_and_is_on_record(site, notifications):
    client, db, settings, clock, event_id, organiser = site
    register(client, event_id, organiser)
    app = create_registration_app(settings, db=db, clock=clock,
                                  notifications=NotificationsClient("http://127.0.0.1:9", "t"))
    lonely = app.test_client()
    ask(lonely, ANA)
    failed = lonely.post(link_path(db) + "/delete")
    assert failed.status_code == 503 and failed.headers["Retry-After"]
    assert count(db, "registrations") == 1
    with db.engine.connect() as connection:
        ((right, outcome, done_at),) = connection.execute(text(
            "SELECT \"right\", outcome, done_at FROM arco_requests")).all()
    assert (right, done_at) == ("cancellation", None) and outcome.startswith("failed")


def test_every_request_is_on_record_without_the_address(site, notifications_api, new_token):
    client, db, settings, clock, event_id, organiser = site
    register(client, event_id, organiser)
    ask(client, ANA)
    path = link_path(db)
    client.get(path + "/data.json")
    client.post(path + "/stop", data={"opposed": "yes"})
    client.post(path + "/delete")
    assert client.get("/api/v1/arco/requests").status_code == 401
    reader = {"Authorization": "Bearer " + new_token(db, {"arco:read"}, now=clock())}
    log = client.get("/api/v1/arco/requests", headers=reader).get_json()
    assert [item["right"] for item in log["items"]] == ["access", "opposition", "cancellation"]
    assert len({item["person"] for item in log["items"]}) == 1  # one person, linked
    assert all(item["outcome"] == "done" and item["done_at"] for item in log["items"])
    assert not _words(log)
    received = clock().date()
    deadline = date.fromisoformat(log["items"][0]["deadline"])
    business_days = sum(1 for n in range(1, (deadline - received).days + 1)
                        if (received + timedelta(days=n)).weekday() < 5)
    assert business_days == settings.arco_response_days == 20

    printed = subprocess.run(
        [str(Path(sys.executable).with_name("abierto")), "arco", "log"], capture_output=True,
        text=True, timeout=60, check=True, env={
            **os.environ, "REGISTRATION_DATABASE_URL": db.url, "LOG_LEVEL": "WARNING",
            "NOTIFICATIONS_DATABASE_URL": notifications_api[2].url})
    lines = [line.split("\t") for line in printed.stdout.splitlines()]
    assert lines[0] == ["request_id", "right", "received_at", "done_at", "outcome", "deadline",
                        "person"]
    assert [line[1] for line in lines[1:]] == ["access", "opposition", "cancellation"]
    assert {line[0] for line in lines[1:]} == {item["request_id"] for item in log["items"]}
    assert not _words(printed.stdout)


def test_the_operators_erase_also_forgets_the_links_and_the_opposition(site, notifications_api):
    client, db, settings, *_ = site
    ask(client, ANA)
    client.post(link_path(db) + "/stop", data={"opposed": "yes"})
    assert count(db, "my_data_links") == 1 and count(notifications_api[2], "oppositions") == 1
    done = subprocess.run(
        [str(Path(sys.executable).with_name("abierto")), "arco", "erase", "--email", ANA, "--yes"],
        capture_output=True, text=True, timeout=60, env={
            **os.environ, "REGISTRATION_DATABASE_URL": db.url, "LOG_LEVEL": "WARNING",
            "NOTIFICATIONS_DATABASE_URL": notifications_api[2].url,
            "SECRET_KEY": settings.secret_key, "PUBLIC_BASE_URL": settings.public_base_url})
    assert done.returncode == 0, done.stderr
    assert count(db, "my_data_links") == 0 and requested(db) == []
    assert count(notifications_api[2], "oppositions") == 0
