"""What integration test modules share: the one check of a problem+json answer, a tampered link."""

PROBLEM = "application/problem+json"


def assert_problem(response, status, field=None):
    """A problem+json answer with a detail, and for validation an `errors` naming `field`."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert field in body["errors"], body
    return body


def tampered(signed):
    """A signed token or link with one character of its signature changed: always a
    different signature (changing the last characters may not be, as base64 ignores the
    last one's low bits)."""
    position = len(signed) - 5
    swapped = "A" if signed[position] != "A" else "B"
    return signed[:position] + swapped + signed[position + 1:]
