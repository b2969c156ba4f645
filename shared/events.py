"""The event catalogue: every domain event a service publishes on the bus, who emits it,
what it carries.

Each service lists the events it publishes, with their data schemas, in its declaration
(`events=`); this module gathers them. The producer (before the outbox write) and the consumer
(on read) validate `data` with these schemas, and docs/events.md is generated from them
(`abierto events`).
"""
import dataclasses
import functools

from marshmallow import fields

from shared import services


@dataclasses.dataclass(frozen=True)
class EventType:
    name: str  # past tense, `<noun>.<verb>`: registration.confirmed
    when: str
    schema: type  # a marshmallow Schema for the envelope's `data`
    emitted_by: str = ""  # the declaring service, filled in by catalogue()


@functools.cache
def catalogue():
    """Every declared event type by name, in the services' order."""
    found = {}
    for declaration in services.declared().values():
        for event_type in declaration.events:
            if event_type.name in found:
                raise RuntimeError(f"{declaration.name} and {found[event_type.name].emitted_by} "
                                   f"both declare the event {event_type.name}")
            found[event_type.name] = dataclasses.replace(event_type, emitted_by=declaration.name)
    return found


def markdown_table():
    """docs/events.md's table, generated so it cannot drift from the schemas."""
    rows = ["| type | emitted by | when | data |", "|---|---|---|---|"]
    for event_type in catalogue().values():
        schema = event_type.schema()
        data = ", ".join(
            f"`{name}` ({', '.join(field.nested().fields) if isinstance(field, fields.Nested) else type(field).__name__})"
            for name, field in schema.fields.items()
        )
        rows.append(f"| `{event_type.name}` | {event_type.emitted_by} | {event_type.when} | {data} |")
    return "\n".join(rows)
