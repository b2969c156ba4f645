"""A person's own data, end to end with the real processes: a registration, a follow and the
emails sent, then the "Mis datos" page: the JSON export holds everything, a correction shows
in the next email, opposition stops a milestone alert, and deletion leaves no trace."""
import re
import time

import pytest
import redis
import requests
from sqlalchemy import create_engine, inspect, text

from shared.devstack import wait_until
from tests.e2e.harness import register, unique_addresses
from tests.e2e.test_commitments_flow import (SETTLE, _link, change, follow, new_commitment,
                                             writer)  # noqa: F401 (fixture)



def name_of(address):
    """A name as unique as the address, so a search for it finds this test's rows only."""
    return "Ana " + address.split("@")[0].replace("-", " ").title()


def ask_for_link(stack, smtp, address):
    """Ask on the page, as a person does; the link that arrives by email."""
    browser = requests.Session()
    form = browser.get(stack.url("registration", "/my-data"), timeout=10).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)[1]
    answer = browser.post(stack.url("registration", "/my-data"), timeout=10,
                          data={"email": address, "csrf_token": csrf})
    assert answer.status_code == 200 and "Revisa tu correo" in answer.text
    wait_until(lambda: any("/my-data/" in m.get_body(("plain",)).get_content()
                           for m in smtp.inbox.to(address)), 30, what="the my-data link")
    mail = [m for m in smtp.inbox.to(address) if "/my-data/" in m.get_body(("plain",)).get_content()
            and "Tu enlace" in m["Subject"]][-1]
    # The page itself: each language section of the email adds its own `?lang=`.
    return _link(mail, "/my-data/").split("?")[0]


def greeting(message):
    return message.get_body(("plain",)).get_content()


def person_with_history(stack, smtp, writer, new_event, address):  # noqa: F811
    """A registration, a confirmed follow and the emails both sent; (event, commitment, milestone)."""
    event_id = new_event(capacity=5)
    assert register(stack, event_id, address, name=name_of(address)).status_code == 202
    commitment_id, milestone_id = new_commitment(stack, writer)
    follow(stack, address, commitment_id)
    wait_until(lambda: len(smtp.inbox.to(address)) == 2, 30, what="confirmation and opt-in")
    opt_in = next(m for m in smtp.inbox.to(address) if "/subscriptions/confirm/" in greeting(m))
    assert requests.post(_link(opt_in, "/subscriptions/confirm/"), timeout=10).status_code == 200
    return event_id, commitment_id, milestone_id


def test_export_correct_oppose(stack, smtp, writer, new_event):  # noqa: F811
    address, witness = unique_addresses(2, "mydata")
    event_id, commitment_id, milestone_id = person_with_history(
        stack, smtp, writer, new_event, address)
    confirmation = smtp.inbox.to(address)[0]
    assert stack.url("registration", "/my-data") in greeting(confirmation)  # the footer

    link = ask_for_link(stack, smtp, address)
    page = requests.get(link, timeout=10)
    assert page.status_code == 200
    for shown in (name_of(address), "Panel de Gobierno Abierto", f"Compromiso {commitment_id}",
                  "Confirmación de registro", "Confirmar seguimiento", "Enlace a mis datos"):
        assert shown in page.text

    held = requests.get(link + "/data.json", timeout=10).json()
    assert held["registration"][0]["name"] == name_of(address)
    assert held["registration"][0]["event_id"] == event_id
    assert held["notifications"]["subscriptions"][0]["status"] == "confirmed"
    assert {"registration_confirmed", "subscription_optin", "my_data_link"} <= {
        item["kind"] for item in held["notifications"]["deliveries"]}

    corrected = requests.post(link + "/correct", timeout=10, data={
        "name": "Ana Corregida", "organization": "", "accessibility_needs": "", "language": "es"})
    assert corrected.status_code == 200
    before = len(smtp.inbox.to(address))
    assert register(stack, event_id, address, name=name_of(address)).status_code == 202  # a repeat
    wait_until(lambda: len(smtp.inbox.to(address)) > before, 30, what="the repeat email")
    assert "Hola, Ana Corregida:" in greeting(smtp.inbox.to(address)[-1])

    follow(stack, witness, commitment_id)
    opt_in = smtp.inbox.wait_for([witness])[witness][0]
    requests.post(_link(opt_in, "/subscriptions/confirm/"), timeout=10)
    assert requests.post(link + "/stop", data={"opposed": "yes"}, timeout=10).status_code == 200
    before = len(smtp.inbox.to(address))
    change(stack, writer, milestone_id, status="met", progress_pct=100, justification="Listo")
    wait_until(lambda: len(smtp.inbox.to(witness)) == 2, 30, what="the witness's alert")
    time.sleep(SETTLE)
    assert len(smtp.inbox.to(address)) == before  # opposed: no alert


def rows_naming(stack, words):
    """Every row, in every table of every service, that holds one of `words`."""
    found = []
    for name, variable in (("registration", "REGISTRATION_DATABASE_URL"),
                           ("notifications", "NOTIFICATIONS_DATABASE_URL"),
                           ("commitments", "COMMITMENTS_DATABASE_URL")):
        engine = create_engine(stack.env[variable])
        with engine.connect() as connection:
            for table in inspect(engine).get_table_names():
                for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                    if any(word in str(row).lower() for word in words):
                        found.append((name, table, row))
        engine.dispose()
    return found


def redis_naming(stack, words):
    """Every Redis key or stream entry that holds one of `words`."""
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    found = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        values = ([str(entry) for entry in client.xrange(key)] if kind == "stream"
                  else [str(client.dump(key))])
        found += [(key, value) for value in values + [str(key)]
                  if any(word in value.lower() for word in words)]
    return found


def test_delete_leaves_no_row_anywhere(stack, smtp, writer, new_event):  # noqa: F811
    (address,) = unique_addresses(1, "forget")
    person_with_history(stack, smtp, writer, new_event, address)
    link = ask_for_link(stack, smtp, address)
    assert "¿Borrar todos tus datos?" in requests.get(link + "/delete", timeout=10).text
    assert requests.post(link + "/delete", timeout=10).status_code == 200
    assert requests.get(link, timeout=10).status_code == 404
    assert rows_naming(stack, [address.lower(), name_of(address).lower()]) == []


def test_delete_with_a_fact_still_on_the_bus_leaves_no_trace_and_sends_nothing(
        stack, smtp, writer, new_event):  # noqa: F811
    (address,) = unique_addresses(1, "ontheway")
    person_with_history(stack, smtp, writer, new_event, address)
    link = ask_for_link(stack, smtp, address)
    stack.kill("consumer")
    try:
        other_event = new_event()
        assert register(stack, other_event, address, name=name_of(address)).status_code == 202
        wait_until(lambda: redis_naming(stack, [address.lower()]), 30, what="the fact on the bus")
        before = len(smtp.inbox.to(address))
        assert requests.post(link + "/delete", timeout=10).status_code == 200
    finally:
        stack.start("consumer")
    time.sleep(SETTLE)
    assert len(smtp.inbox.to(address)) == before
    assert rows_naming(stack, [address.lower(), name_of(address).lower()]) == []
    assert redis_naming(stack, [address.lower(), name_of(address).lower()]) == []
