"""The domain events notifications publishes (its part of the catalogue, `abierto events`):
followers, without their addresses."""
from marshmallow import Schema, fields, validate

from shared.events import EventType
from shared.wording import LANGUAGES


class SubscriptionSnapshot(Schema):
    """A follower, without the address: integrators learn that, not who."""

    id = fields.Integer(required=True)
    topic = fields.String(required=True, metadata={"description": "commitment:<id>"})
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))


class SubscriptionFact(Schema):
    """Data of every `subscription.*` event."""

    subscription = fields.Nested(SubscriptionSnapshot, required=True)


EVENTS = (
    EventType("subscription.requested",
              "someone asked to follow a topic; an opt-in email went out", SubscriptionFact),
    EventType("subscription.confirmed",
              "a follower confirmed through the opt-in link", SubscriptionFact),
    EventType("subscription.cancelled",
              "a follower unsubscribed", SubscriptionFact),
)
