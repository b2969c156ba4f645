"""Which Idempotency-Key values are keys, and which answers are kept for a replay."""
import pytest

from shared.idempotency import fingerprint, parse_key, replayable


@pytest.mark.parametrize("values, key", [
    (["8e03978e-40d5-43e8-bc93-6894a57f9324"], "8e03978e-40d5-43e8-bc93-6894a57f9324"),
    (['"8e03978e-40d5"'], "8e03978e-40d5"),  # RFC 8941 sf-string, as the draft writes it
    (['"a \\"quoted\\" key"'], 'a "quoted" key'),
    (["  padded  "], "padded"),
])
def test_a_key_is_the_bare_value_or_the_quoted_string(values, key):
    assert parse_key(values) == key


@pytest.mark.parametrize("values, says", [
    ([], "not 0"), (["a", "b"], "not 2"), ([""], "empty"), (['""'], "empty"),
    (["k" * 256], "longer than 255"), (["clé"], "printable ASCII"), (["a\tb"], "printable ASCII"),
])
def test_a_bad_key_says_what_is_wrong(values, says):
    with pytest.raises(ValueError, match=says):
        parse_key(values)


def test_only_answers_about_the_write_are_kept():
    assert [s for s in (200, 201, 202, 400, 401, 403, 404, 409, 422, 429, 500, 503)
            if replayable(s)] == [200, 201, 202, 400, 404, 409, 422]


def test_the_fingerprint_tells_apart_address_query_and_body():
    base = fingerprint("POST", "/api/v1/events?", b'{"a":1}')
    assert base == fingerprint("POST", "/api/v1/events?", b'{"a":1}')
    assert len({base, fingerprint("POST", "/api/v1/events?x=1", b'{"a":1}'),
                fingerprint("POST", "/api/v1/other?", b'{"a":1}'),
                fingerprint("POST", "/api/v1/events?", b'{"a": 1}')}) == 4
