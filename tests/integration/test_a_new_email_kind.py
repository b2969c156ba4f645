"""An email kind is one module and its templates: a kind made here, with its wording in a
temporary folder, goes out through the real path (a domain event on a real Redis, the
consumer and handlers, deliveries in a real database, the worker's task, a real SMTP
server) without any project file naming it."""
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from services.notifications.mail import kinds
from services.notifications.mail.kind import EmailKind
from services.notifications.models import Delivery
from services.notifications.pipeline import consumer, tasks
from shared import envelope
from tests.integration.test_consumer import bus, pending, published, read_all  # noqa: F401 (fixture)
from tests.unit.test_tokens_and_links import fact_data

TEMPLATES = {
    "es.txt": '{% set subject = "Tu lugar se liberó" %}'
              "Hola, {{ name }}: no confirmaste a tiempo y tu lugar pasó a la lista de espera.\n",
    "en.txt": '{% set subject = "Your seat was released" %}'
              "Hello {{ name }}: you did not confirm in time, so your seat went to the "
              "waiting list.\n",
    "es.html": "<p>Hola, {{ name }}: tu lugar pasó a la lista de espera.</p>",
    "en.html": "<p>Hello {{ name }}: your seat went to the waiting list.</p>",
}


@dataclass(frozen=True, eq=False)
class SeatReleased(EmailKind):
    """Tells the attendee their held seat lapsed (the project itself sends nothing then)."""

    def recipient(self, data):
        return data["registration"]["name"], data["registration"]["email"]

    def language(self, data):
        return data["registration"]["language"]

    def context(self, shared, language):
        return {"topic": shared["event"]["title"], "name": shared["registration"]["name"]}


@pytest.fixture
def seat_released(tmp_path, monkeypatch):
    folder = tmp_path / "seat_released"
    folder.mkdir()
    for name, text in TEMPLATES.items():
        (folder / name).write_text(text, encoding="utf-8")
    kind = SeatReleased("seat_released", event_types=("registration.expired",),
                        templates=tmp_path)
    monkeypatch.setitem(kinds.REGISTRY, kind.name, kind)  # gone again after the test
    return kind


def test_a_kind_defined_outside_the_project_is_sent_through_the_real_pipeline(
        seat_released, worker, notifications, bus, smtp):
    inbox, _ = smtp
    data = fact_data()
    data["registration"] = {**data["registration"], "email": "bea@example.org",
                            "name": "Bea Ruiz", "status": "waitlisted"}
    stream = published(bus, [envelope.make("registration.expired", "/abierto/registration",
                                           "events/1/registrations/7", data)])
    queued = []
    consumer.process(bus, read_all(bus, stream), notifications, enqueue=queued.extend)
    assert pending(bus, stream) == 0 and len(queued) == 1
    assert tasks.send_deliveries(queued) == ["sent"]

    with worker.transaction() as session:
        (row,) = session.scalars(select(Delivery)).all()
    assert (row.kind, row.state) == ("seat_released", "sent")
    assert row.cloudevent_type == "registration.expired"
    (message,) = inbox.to("bea@example.org")
    assert message["Subject"] == "Tu lugar se liberó: Panel / Your seat was released"
    assert message["To"].addresses[0].display_name == "Bea Ruiz"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Hola, Bea Ruiz: no confirmaste a tiempo" in text
    assert "Hello Bea Ruiz: you did not confirm in time" in text
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<p>Hola, Bea Ruiz: tu lugar pasó a la lista de espera.</p>" in html
    assert list(message.iter_attachments()) == []  # it asked for no invite
