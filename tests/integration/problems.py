"""The one check of a problem+json answer, for every integration test module."""

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
