"""No public answer tells who registered (SQLite and PostgreSQL): one anonymous 202 for a new
email and for a repeat, whatever the repeat holds; the detail only for a `registrations:write`
token; the repeat's owner, and only they, hear by email what they hold, with their own link."""
import email
import email.policy
import uuid
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import redis
from sqlalchemy import func, select

from services.notifications.pipeline import handlers, tasks
from services.registration.app import create_app
from services.registration.facts import CONFIRM_PURPOSE
from services.registration.models import Registration
from shared import signing
from shared.db import utcnow
from tests.integration.problems import assert_problem
from tests.integration.test_subscriptions_fanout import LINKS

# What a client can read besides the body; none of it may differ between two answers.
HEADERS = ("Content-Type", "Content-Length", "Set-Cookie", "Location", "Retry-After", "ETag")


def visible(response):
    return (response.status_code, response.get_data(),
            {name: response.headers.get(name) for name in HEADERS})


def types(facts):
    return [fact["type"] for fact in facts]


def opened(settings, url):
    """The registration id a confirm link opens."""
    return signing.unsign(settings.keys, CONFIRM_PURPOSE, url.rsplit("/", 1)[1], 86400)


def test_a_new_email_and_every_kind_of_repeat_get_the_same_answer_byte_for_byte(
        registration_app, make_event, register_anonymously, outbox_facts, registration_status):
    """New, repeat of a confirmed, of a waitlisted and of a pending registration: one answer."""
    client, db, _ = registration_app
    event = make_event(capacity=1)
    held = make_event(capacity=5, confirm_by_email=True)
    answers = [
        register_anonymously(event["id"], 1),                                # new: confirmed
        register_anonymously(event["id"], 2),                                # new: waitlisted
        register_anonymously(event["id"], 1, email="PERSONA1@example.org"),  # repeat, confirmed
        register_anonymously(event["id"], 2, name="Otro nombre"),            # repeat, waitlisted
    ]
    first = visible(answers[0])
    assert first[0] == 202
    assert answers[0].get_json() == {"event_id": event["id"], "detail": (
        "Te enviamos un correo con tu lugar o tu posición en la lista de espera. / "
        "We've sent you an email with your seat or your place on the waiting list.")}
    assert [visible(answer) for answer in answers] == [first] * 4
    assert first[2]["Set-Cookie"] is None
    held_answers = [register_anonymously(held["id"], 1), register_anonymously(held["id"], 1)]
    assert visible(held_answers[0]) == visible(held_answers[1])  # new (pending) and its repeat
    assert held_answers[0].get_data().replace(str(held["id"]).encode(), str(event["id"]).encode(), 1) \
        == answers[0].get_data()  # the same answer as on any event, but for the event's id
    facts = outbox_facts(db)
    assert types(facts) == ["registration.confirmed", "registration.waitlisted",
                            "registration.repeated", "registration.repeated",
                            "registration.pending", "registration.repeated"]
    # A repeat tells what is held, to the address that holds it; it changes nothing.
    assert [f["data"]["registration"]["status"] for f in facts[2:4]] == ["confirmed", "waitlisted"]
    assert facts[3]["data"]["registration"]["name"] == "Persona 2"
    assert facts[5]["data"]["registration"]["status"] == "pending"
    # The repeat's confirm link opens the same registration (its token is signed anew, with
    # the time it was made, so its bytes differ once a second has passed).
    assert [opened(registration_app[2], f["data"]["registration"]["confirm_url"])
            for f in facts[4:6]] == [facts[4]["data"]["registration"]["id"]] * 2
    assert [registration_status(db, f["data"]["registration"]["id"]) for f in facts[:2]] == [
        "confirmed", "waitlisted"]


def test_a_repeat_of_a_cancelled_registration_is_a_new_one_with_the_same_answer(
        registration_app, make_event, register_anonymously, outbox_facts):
    """Someone who cancelled and registers again is new (back of the line): same 202."""
    client, db, settings = registration_app
    event = make_event()
    first = register_anonymously(event["id"], 1)
    (fact,) = outbox_facts(db)
    client.post(urlsplit(fact["data"]["registration"]["cancel_url"]).path)
    again = register_anonymously(event["id"], 1)
    assert visible(again) == visible(first)
    assert types(outbox_facts(db)) == ["registration.confirmed", "registration.cancelled",
                                       "registration.confirmed"]


def test_a_token_with_registrations_write_gets_the_detail_and_no_repeat_email(
        registration_app, make_event, register, outbox_facts, kiosk_headers):
    """A kiosk learns the id and status: 201 for new, 200 and the same id for a repeat, and
    no repeat fact (so no email: the caller already knows)."""
    client, db, _ = registration_app
    event = make_event(capacity=1)
    new, waiting = register(event["id"], 1), register(event["id"], 2)
    again = register(event["id"], 1, email=" Persona1@Example.org")
    assert (new.status_code, waiting.status_code, again.status_code) == (201, 201, 200)
    assert set(new.get_json()) == {"id", "event_id", "status", "created_at"}
    assert (new.get_json()["status"], waiting.get_json()["status"]) == ("confirmed", "waitlisted")
    assert again.get_json() == new.get_json()
    assert types(outbox_facts(db)) == ["registration.confirmed", "registration.waitlisted"]
    held = make_event(confirm_by_email=True)
    assert register(held["id"], 3).get_json()["status"] == "pending"


@pytest.mark.parametrize("scopes, status", [({"registrations:read"}, 403),
                                            ({"events:write"}, 403), (None, 401)])
def test_a_token_without_the_scope_is_refused_and_nothing_is_written(
        registration_app, make_event, person, new_token, bearer, nothing_written, scopes, status):
    """A token that is sent must be good: no silent fall back to the anonymous answer."""
    client, db, _ = registration_app
    event = make_event()
    token = new_token(db, scopes) if scopes else "abt_not-a-token"
    with nothing_written():
        response = client.post(f"/api/v1/events/{event['id']}/registrations", json=person(1),
                               headers=bearer(token))
    assert_problem(response, status)


def test_the_openapi_documents_both_answers(registration_app):
    spec = registration_app[0].get("/api/v1/openapi.json").get_json()
    post = spec["paths"]["/api/v1/events/{event_id}/registrations"]["post"]
    answers = post["responses"]
    assert set(answers) >= {"202", "201", "200", "409", "429"}
    accepted = answers["202"]["content"]["application/json"]["schema"]
    assert accepted == {"$ref": "#/components/schemas/RegistrationAccepted"}
    assert set(spec["components"]["schemas"]["RegistrationAccepted"]["properties"]) == {
        "event_id", "detail"}
    assert answers["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RegistrationReceipt"}
    assert "registrations:write" in answers["201"]["description"]


def test_the_repeat_email_reaches_its_owner_with_their_own_link(
        registration_app, make_event, register_anonymously, outbox_facts, worker, smtp):
    """The fact goes through the notifications handler and the worker to a real SMTP server:
    one bilingual "already registered" email with the status and the person's cancel link."""
    inbox, _ = smtp
    db = registration_app[1]
    event = make_event(capacity=1)
    register_anonymously(event["id"], 1)
    register_anonymously(event["id"], 2)
    register_anonymously(event["id"], 2, name="Alguien más")
    facts = outbox_facts(db)
    repeat = facts[-1]
    assert repeat["type"] == "registration.repeated"
    ids = handlers.handle(worker, repeat, utcnow(), timedelta(seconds=60), "abierto.test", LINKS)
    assert len(ids) == 1
    assert tasks.send_deliveries(ids) == ["sent"]
    (_at, raw) = inbox.messages[0]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "persona2@example.org"
    assert str(message["Subject"]).startswith("Ya estás registrado: ")
    assert str(message["Subject"]).endswith(" / You are already registered")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    own_link = facts[1]["data"]["registration"]["cancel_url"]  # from their waitlisted email
    link = repeat["data"]["registration"]["cancel_url"]
    # The same registration's link: its id the same, its time and signature those of now.
    assert link.rsplit(".", 2)[0] == own_link.rsplit(".", 2)[0]
    assert link in text and f'href="{link}?lang=es"' in html  # in the section's language
    assert facts[0]["data"]["registration"]["cancel_url"] not in text  # nobody else's
    assert "Hola, Persona 2:" in text and "Alguien más" not in text
    assert "Estado de tu registro: en la lista de espera" in text
    assert "Your registration: on the waiting list" in text
    assert list(message.iter_attachments()) == []  # no invite: nothing changed in a calendar


def test_one_client_gets_at_most_the_limit_per_event_and_another_event_is_unaffected(
        registration_app, make_event, person, kiosk_headers):
    """EVENT_CLIENT_LIMIT (10/hour here) against the real Redis: the 11th registration from one
    address for one event is a 429 with Retry-After; another event still answers; a token
    (kiosk) is not held to it; the form shows a page in words with the same status."""
    _, db, settings = registration_app
    app = create_app(replace(settings, event_client_limit="10/hour"), db=db)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    one, other = make_event(capacity=None), make_event(capacity=None)
    path = f"/api/v1/events/{one['id']}/registrations"
    answers = [client.post(path, json=person(n)) for n in range(10)]
    assert [a.status_code for a in answers] == [202] * 10
    refused = client.post(path, json=person(1))  # a repeat counts too: it must look the same
    assert_problem(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert_problem(client.post(path, json=person(99)), 429)
    assert client.post(f"/api/v1/events/{other['id']}/registrations",
                       json=person(99)).status_code == 202
    assert client.post(path, json=person(98), headers=kiosk_headers).status_code == 201
    page = client.get(f"/events/{one['id']}")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    form = client.post(f"/events/{one['id']}", data={
        "csrf_token": token, "name": "Ana", "email": "ana@example.org", "sector": "citizen",
        "privacy_consent": "yes"})
    assert form.status_code == 429 and form.mimetype == "text/html"
    assert 1 <= int(form.headers["Retry-After"]) <= 3600
    assert "Demasiados registros" in form.get_data(as_text=True)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Registration).where(
            Registration.event_id == one["id"])) == 11  # ten anonymous, one by the kiosk




def _limited_client(registration_app, **limits):
    _, db, settings = registration_app
    client = create_app(replace(settings, **limits), db=db).test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.8"
    return client


def test_every_anonymous_attempt_counts_against_the_event_limit_even_an_invalid_one(
        registration_app, make_event, person, kiosk_headers):
    """EVENT_CLIENT_LIMIT is counted with PUBLIC_RATE_LIMIT before the body is read: two
    invalid bodies (422) and one valid registration spend a limit of 3 for that event; the
    fourth attempt, valid, is a 429 and registers nobody. A token's request counts only per
    address, so the kiosk still registers; another event is untouched."""
    client = _limited_client(registration_app, event_client_limit="3/hour")
    one, other = make_event(capacity=None), make_event(capacity=None)
    path = f"/api/v1/events/{one['id']}/registrations"
    assert_problem(client.post(path, json=person(1, email="not-an-email")), 422)
    assert_problem(client.post(path, json={"name": "Sin correo"}), 422)
    assert client.post(path, json=person(2)).status_code == 202
    refused = client.post(path, json=person(3))
    assert_problem(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert client.post(path, json=person(4), headers=kiosk_headers).status_code == 201
    assert client.post(f"/api/v1/events/{other['id']}/registrations",
                       json=person(5)).status_code == 202
    _, db, _ = registration_app
    with db.transaction() as session:
        emails = session.scalars(select(Registration.email).where(
            Registration.event_id == one["id"])).all()
    assert sorted(emails) == ["persona2@example.org", "persona4@example.org"]


def test_attempts_the_address_limit_refuses_leave_nothing_in_the_event_limit(
        registration_app, make_event, person):
    """Both limits are counted in one go, but an attempt refused per address (PUBLIC_RATE_LIMIT
    2 a minute) takes its event hit back: the event's window holds only the two let through,
    and attempts at event ids that do not exist leave Redis no key to keep (else each refused
    request could make it keep one more, one per id named)."""
    client = _limited_client(registration_app, public_rate_limit="2/minute;1000/hour",
                             event_client_limit="4/hour")
    event_id = make_event(capacity=None)["id"]
    path = f"/api/v1/events/{event_id}/registrations"
    statuses = [client.post(path, json=person(n)).status_code for n in range(4)]
    nowhere = [client.post(f"/api/v1/events/{2_000_000_000 + n}/registrations",
                           json=person(9)).status_code for n in range(5)]
    assert statuses == [202, 202, 429, 429] and nowhere == [429] * 5
    address = client.environ_base["REMOTE_ADDR"]
    store = redis.Redis.from_url(registration_app[2].redis_url)
    assert store.keys(f"*/2000000*:{address}/*") == []
    limit = client.application.extensions["abierto"].event_limit
    [rate] = limit.rates
    assert limit.shared.get_window_stats(rate, limit.scope, f"{event_id}:{address}").remaining == 2
