"""The event catalogue as AsyncAPI 3.0, as each service serves it, checked by the AsyncAPI
initiative's own parser (npm @asyncapi/parser, run with node from the repository's
node_modules: `make test` installs it)."""
import json
import subprocess
from pathlib import Path

import pytest

from services.commitments.app import create_app as create_commitments_app
from shared import events
from tests.integration.commitments_helpers import settings_for

ROOT = Path(__file__).resolve().parents[2]
# Parses stdin; prints whether it parsed and every diagnostic (severity 0 is an error).
PARSE = """
const {Parser} = require('@asyncapi/parser');
let input = '';
process.stdin.on('data', chunk => input += chunk).on('end', async () => {
  const {document, diagnostics} = await new Parser().parse(input);
  console.log(JSON.stringify({parsed: Boolean(document), diagnostics: diagnostics.map(
    d => ({code: d.code, message: d.message, severity: d.severity, path: d.path.join('.')}))}));
});
"""


def asyncapi_parser(document):
    """(parsed, the diagnostics of error severity) from @asyncapi/parser."""
    run = subprocess.run(["node", "-e", PARSE], input=json.dumps(document), cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(run.stdout)
    return result["parsed"], [d for d in result["diagnostics"] if d["severity"] == 0]


@pytest.fixture
def documents(registration_app, deliveries_app):
    """The document as each of the three services serves it."""
    commitments = create_commitments_app(settings_for(registration_app[1])).test_client()
    answers = [client.get("/api/v1/asyncapi.json")
               for client in (registration_app[0], deliveries_app[0], commitments)]
    assert {(a.status_code, a.mimetype) for a in answers} == {(200, "application/json")}
    return [answer.get_json() for answer in answers]


@pytest.mark.usefixtures("backend")
def test_every_service_serves_one_asyncapi_3_document_the_parser_accepts(documents):
    first = documents[0]
    assert all(document == first for document in documents[1:])
    assert first["asyncapi"] == "3.0.0"
    parsed, errors = asyncapi_parser(first)
    assert parsed and errors == []


@pytest.mark.usefixtures("backend")
def test_channels_are_the_streams_and_every_catalogued_type_is_a_cloudevent_message(documents):
    document = documents[0]
    catalogue = events.catalogue()
    assert set(document["components"]["messages"]) == set(catalogue)
    for name, event_type in catalogue.items():
        channel = document["channels"][event_type.emitted_by]
        assert channel["address"] == f"abierto.{event_type.emitted_by}"
        assert channel["messages"][name] == {"$ref": f"#/components/messages/{name}"}
        message = document["components"]["messages"][name]
        assert message["contentType"] == "application/cloudevents+json"
        envelope, specific = message["payload"]["allOf"]
        assert envelope == {"$ref": "#/components/schemas/CloudEvent"}
        assert specific["properties"]["type"] == {"const": name}
    schemas = document["components"]["schemas"]
    assert set(schemas["CloudEvent"]["required"]) >= {"specversion", "id", "source", "type",
                                                      "time", "subject", "data"}
    confirmed = document["components"]["messages"]["registration.confirmed"]["payload"]
    data = confirmed["allOf"][1]["properties"]["data"]["$ref"].rsplit("/", 1)[1]
    assert set(schemas[data]["properties"]) >= {"event", "registration"}
    operations = document["operations"]
    assert operations["registration.publish"]["action"] == "send"


def test_the_parser_check_can_fail():
    """A dangling reference is an error the check reports: the checks above can fail."""
    broken = {"asyncapi": "3.0.0", "info": {"title": "x", "version": "1"}, "channels": {
        "c": {"address": "a", "messages": {"m": {"$ref": "#/components/messages/missing"}}}}}
    parsed, errors = asyncapi_parser(broken)
    assert not parsed or errors


def test_the_document_names_the_redis_host_but_never_its_password(empty_database):
    from services.registration.app import create_app
    from shared import config

    db = empty_database("registration")
    settings = config.load("registration", database_url=db.url, secret_key="integration-test-secret",
                           redis_url="redis://:s3cr3t-pass@redis.internal:6380/0")
    document = create_app(settings, db=db).test_client().get("/api/v1/asyncapi.json").get_json()
    assert document["servers"]["bus"]["host"] == "redis.internal:6380"
    assert "s3cr3t" not in json.dumps(document)
