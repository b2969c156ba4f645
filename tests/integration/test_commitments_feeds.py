"""The commitments lists' change feeds: a new milestone moves its commitment and its plan,
since it changes their progress; ETags on the lists."""
from tests.integration.commitments_helpers import cdb, client, commitments_app, make, writer  # noqa: F401
from tests.integration.horizon import settled


def feed(client, path, cursor):
    settled(client.application.extensions["abierto"].db)
    body = client.get(path, query_string={"changed_since": cursor}).get_json()
    return [item["id"] for item in body["items"]], body["next_cursor"]


def test_a_milestone_moves_its_commitment_and_plan_in_their_feeds(client, make):
    plan = make.plan()
    commitment = make.commitment(plan["id"])
    plans_seen, plans_cursor = feed(client, "/api/v1/action-plans", "0")
    commitments_seen, commitments_cursor = feed(client, "/api/v1/commitments", "0")
    assert plans_seen == [plan["id"]] and commitments_seen == [commitment["id"]]
    assert feed(client, "/api/v1/commitments", commitments_cursor) == ([], commitments_cursor)
    make.milestone(commitment["id"])
    assert feed(client, "/api/v1/commitments", commitments_cursor)[0] == [commitment["id"]]
    assert feed(client, "/api/v1/action-plans", plans_cursor)[0] == [plan["id"]]


def test_the_plans_list_answers_304_to_its_etag(client, make):
    make.plan()
    etag = client.get("/api/v1/action-plans").headers["ETag"]
    assert client.get("/api/v1/action-plans", headers={"If-None-Match": etag}).status_code == 304
