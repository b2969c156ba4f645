"""The event page names its related commitments as the commitments service has them (title in
the reader's language, status), read over the real commitments app served on a port; when
that service is down or hangs, the page still answers at once with "Compromiso N" links."""
import socket
import threading
import time

import pytest
from werkzeug.serving import make_server

from services.commitments.app import create_app as create_commitments_app
from services.registration.app import create_app as create_registration_app
from shared.commitments_client import CommitmentsClient, RememberingCommitments
from tests.integration.commitments_helpers import (  # noqa: F401 (fixtures)
    cdb, client, commitments_app, make, writer)
from tests.integration.test_subscriptions_api import closed_port_url  # noqa: F401 (fixture)


def event_page(registration_app, commitments_api_url, event_id, lang="es"):
    """(page text, seconds taken) from a registration app reading commitments at the URL."""
    _, db, settings = registration_app
    app = create_registration_app(settings, db=db, commitments=RememberingCommitments(
        CommitmentsClient(commitments_api_url)))
    started = time.monotonic()
    response = app.test_client().get(f"/events/{event_id}?lang={lang}")
    took = time.monotonic() - started
    assert response.status_code == 200 and response.mimetype == "text/html"
    return response.get_data(as_text=True), took


def serve(commitments_app):
    """(base URL, server): the real commitments app on its database, on a real socket."""
    _, db, settings = commitments_app
    server = make_server("127.0.0.1", 0, create_commitments_app(settings, db=db), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def stop(server):
    server.shutdown()
    server.server_close()


@pytest.fixture
def served_commitments(commitments_app):
    url, server = serve(commitments_app)
    yield url
    stop(server)


@pytest.fixture
def hanging_url():
    """A URL whose server accepts the connection and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture
def related(make):
    """Two commitments of a plan: number 3 in progress and number 4 not started."""
    plan = make.plan()
    rural = make.commitment(plan["id"], 3, status="in_progress",
                            title={"es": "Desarrollo rural con perspectiva de género",
                                   "en": "Rural development with a gender perspective"})
    business = make.commitment(plan["id"], 4, status="not_started",
                               title={"es": "Abrir un negocio", "en": "Opening a business"})
    return rural, business


def test_titles_and_statuses_in_the_readers_language(registration_app, make_event,
                                                     served_commitments, related):
    rural, business = related
    event = make_event(related_commitments=[rural["id"], business["id"]])
    page, _ = event_page(registration_app, served_commitments, event["id"])
    pages_url = registration_app[2].peers["commitments"].public_url
    assert (f'<a href="{pages_url}/commitments/{rural["id"]}?lang=es">Compromiso 3: '
            "Desarrollo rural con perspectiva de género</a>") in page
    assert f'Compromiso 4: Abrir un negocio</a> <span class="badge">Sin iniciar</span>' in page
    assert '<span class="badge">En proceso</span>' in page
    english, _ = event_page(registration_app, served_commitments, event["id"], "en")
    assert (f'/commitments/{rural["id"]}?lang=en">Commitment 3: Rural development with a gender '
            "perspective</a>") in english  # the commitments site opens in the reader's language
    assert '<span class="badge">In progress</span>' in english


def test_an_unknown_commitment_keeps_its_bare_link(registration_app, make_event,
                                                   served_commitments, related):
    rural, _ = related
    event = make_event(related_commitments=[rural["id"], 999999])
    page, _ = event_page(registration_app, served_commitments, event["id"])
    assert "Compromiso 3: Desarrollo rural" in page
    assert '/commitments/999999?lang=es">Compromiso 999999</a></li>' in page


def test_the_page_answers_at_once_when_the_commitments_service_is_down(
        registration_app, make_event, closed_port_url):  # noqa: F811
    event = make_event(related_commitments=[3, 1])
    page, took = event_page(registration_app, closed_port_url, event["id"])
    pages_url = registration_app[2].peers["commitments"].public_url
    assert f'<a href="{pages_url}/commitments/3?lang=es">Compromiso 3</a></li>' in page
    assert f'<a href="{pages_url}/commitments/1?lang=es">Compromiso 1</a></li>' in page
    assert 'class="badge"' not in page.split('id="commitments"')[1].split("</section>")[0]
    assert took < 1


def test_a_hanging_service_costs_a_page_at_most_a_second_and_then_nothing(
        registration_app, make_event, hanging_url):
    event = make_event(related_commitments=[3, 1, 2])
    _, db, settings = registration_app
    app = create_registration_app(settings, db=db, commitments=RememberingCommitments(
        CommitmentsClient(hanging_url)))
    timings = []
    for _ in range(2):
        started = time.monotonic()
        page = app.test_client().get(f"/events/{event['id']}").get_data(as_text=True)
        timings.append(time.monotonic() - started)
        assert ">Compromiso 2</a></li>" in page
    # The first waits out the one-second budget; the second asks no service that just failed.
    assert timings[0] < 1.5 and timings[1] < 0.3


def test_what_was_read_is_kept_for_minutes(registration_app, make_event, commitments_app, related):
    """Read once from the served app; its server gone, the same process still shows the title."""
    rural, _ = related
    event = make_event(related_commitments=[rural["id"]])
    url, server = serve(commitments_app)
    _, db, settings = registration_app
    app = create_registration_app(settings, db=db, commitments=RememberingCommitments(
        CommitmentsClient(url)))
    first = app.test_client().get(f"/events/{event['id']}").get_data(as_text=True)
    stop(server)
    again = app.test_client().get(f"/events/{event['id']}").get_data(as_text=True)
    assert "Compromiso 3: Desarrollo rural" in first and "Compromiso 3: Desarrollo rural" in again
