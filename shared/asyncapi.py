"""The event catalogue (shared.events) as an AsyncAPI 3.0 document, served by every service at
/api/v1/asyncapi.json.

Every service serves the whole bus, not only its own streams: the catalogue is one, the
notification service reads every stream, and an integrator learns every type from whichever
service it already talks to. A channel is a producer's Redis stream (shared.bus.stream_name);
a message is a CloudEvents 1.0 envelope (shared.envelope) whose `type` names it and whose
`data` is its schema from the producer's published.py, converted by apispec's marshmallow
plugin exactly as the OpenAPI documents are (JSON Schema, OpenAPI 3.1 dialect).
"""
import functools

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shared import events
from shared.bus import stream_name
from shared.envelope import EnvelopeSchema

CONTENT_TYPE = "application/cloudevents+json"
ENVELOPE = "CloudEvent"


def _schema_name(schema):
    """Components named by their service and class (two services may both say `Bilingual`)."""
    cls = schema if isinstance(schema, type) else type(schema)
    parts = cls.__module__.split(".")
    owner = parts[1] if parts[0] == "services" and len(parts) > 1 else "shared"
    name = cls.__name__.removesuffix("Schema")
    return f"{owner}.{name}"


@functools.cache
def document(redis_host="127.0.0.1:6379"):
    """The AsyncAPI 3.0 document of every declared event type, as a plain dict."""
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec("Abierto events", "1", "3.1.0", plugins=[plugin])
    spec.components.schema(ENVELOPE, schema=EnvelopeSchema)
    channels, operations, messages = {}, {}, {}
    for event_type in events.catalogue().values():
        service = event_type.emitted_by
        channel = channels.setdefault(service, {
            "address": stream_name(service), "messages": {}, "description": (
                f"The Redis stream {service} publishes its facts to, through its outbox; "
                "consumer groups read it at least once (XREADGROUP, XACK). Each entry's field "
                "`event` holds one CloudEvent as JSON text.")})
        data = plugin.converter.resolve_nested_schema(event_type.schema)
        messages[event_type.name] = _message(event_type, data)
        channel["messages"][event_type.name] = {"$ref": f"#/components/messages/{event_type.name}"}
    for service, channel in channels.items():
        operations[f"{service}.publish"] = {
            "action": "send", "title": f"{service} publishes",
            "channel": {"$ref": f"#/channels/{service}"},
            "messages": [{"$ref": f"#/channels/{service}/messages/{name}"}
                         for name in channel["messages"]]}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Abierto — the events on the bus", "version": "1.0.0", "description": (
            "Every domain event the services publish: past-tense facts, one stream per "
            "producer, each a CloudEvents 1.0 structured JSON envelope. The same document is "
            "served by every service. docs/events.md is the same catalogue as a table.")},
        "defaultContentType": CONTENT_TYPE,
        "servers": {"bus": {"host": redis_host, "protocol": "redis",
                            "description": "The deployment's Redis (REDIS_URL): Streams"}},
        "channels": channels, "operations": operations,
        "components": {"messages": messages,
                       "schemas": spec.to_dict().get("components", {}).get("schemas", {})},
    }


def _message(event_type, data_ref):
    """One type of fact: the envelope, with `type` fixed to its name and `data` its schema."""
    return {
        "name": event_type.name, "title": event_type.name,
        "summary": f"{event_type.when} (emitted by {event_type.emitted_by})",
        "contentType": CONTENT_TYPE,
        "payload": {"allOf": [
            {"$ref": f"#/components/schemas/{ENVELOPE}"},
            {"type": "object", "required": ["type", "data"], "properties": {
                "type": {"const": event_type.name}, "data": data_ref}},
        ]},
    }

