"""shared.web's ServiceFlask keeps each address's URL adapter and route, so that a request
does not bind and match them again: the same answers, within bounds anyone's requests set."""
import pytest

from shared.web import KEPT_KEY_MAX, RoutesRemembered, ServiceFlask


@pytest.fixture
def app():
    app = ServiceFlask(__name__)
    app.add_url_rule("/items/<int:item_id>", "item", lambda item_id: {"id": item_id})
    return app


def test_an_address_asked_again_gets_the_same_answer_from_what_was_kept(app):
    client = app.test_client()
    answers = [client.get("/items/7").get_json() for _ in range(3)]
    assert answers == [{"id": 7}] * 3
    assert len(app.adapters_made) == 1 and len(app.routes_found) == 1
    assert client.get("/items/8").get_json() == {"id": 8}
    assert client.post("/items/7").status_code == 405  # another method: matched, refused


def test_a_refusal_is_never_kept(app):
    client = app.test_client()
    for _ in range(2):
        assert client.get("/items/x").status_code == 404
    assert app.routes_found == {}


def test_a_long_address_is_answered_but_not_kept(app):
    client = app.test_client()
    long_query = "q=" + "a" * KEPT_KEY_MAX
    assert client.get(f"/items/7?{long_query}").get_json() == {"id": 7}
    assert app.adapters_made == {}  # its route, by its path alone, is short enough to keep
    long_id = "1" * KEPT_KEY_MAX
    assert client.get(f"/items/{long_id}").get_json() == {"id": int(long_id)}
    assert list(app.routes_found) == [("", "/items/7", "GET", False)]


def test_what_is_kept_is_forgotten_past_its_bound(app, monkeypatch):
    monkeypatch.setattr(RoutesRemembered, "REMEMBERED", 3)
    client = app.test_client()
    for item in range(10):
        assert client.get(f"/items/{item}").get_json() == {"id": item}
        assert len(app.adapters_made) <= 3 and len(app.routes_found) <= 3
