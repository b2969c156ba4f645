"""shared.web reads an application/json body in one call: the same bytes, and the same
refusals, as werkzeug's Request.get_data."""
import io

import pytest
from flask import Flask, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.test import create_environ

from shared.web import _json_body

BODY = b'{"name": "Ana L\xc3\xb3pez"}'


class Trickling(io.RawIOBase):
    """A stream that hands out at most three bytes a read, as a socket may."""

    def __init__(self, data):
        self.data = data

    def read(self, size=-1):
        piece, self.data = self.data[:min(size, 3)], self.data[min(size, 3):]
        return piece


def read(body=BODY, limit=100, stream=None, **environ):
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = limit
    made = create_environ("/", method="POST", content_type="application/json")
    made.update({"CONTENT_LENGTH": str(len(body)), "wsgi.input": stream or io.BytesIO(body),
                 **environ})
    with app.request_context(made):
        asked = request._get_current_object()
        return _json_body(asked), asked.get_data()


def test_the_body_is_read_whole_and_kept_for_later_readers():
    assert read() == (BODY, BODY)
    assert read(stream=Trickling(BODY)) == (BODY, BODY)


def test_a_length_werkzeug_reads_its_own_way_gives_the_same_bytes():
    assert read(CONTENT_LENGTH=f" {len(BODY)} ") == (BODY, BODY)


def test_a_body_longer_than_the_limit_is_a_413():
    with pytest.raises(RequestEntityTooLarge):
        read(limit=len(BODY) - 1)


def test_a_short_body_is_a_disconnected_client_unless_the_server_ends_the_stream():
    with pytest.raises(ClientDisconnected):
        read(stream=io.BytesIO(BODY[:5]))
    assert read(stream=io.BytesIO(BODY[:5]), **{"wsgi.input_terminated": True}) == (BODY[:5],) * 2
