"""The domain events notifications publishes (its part of the catalogue, `abierto events`):
followers, without their addresses; webhook endpoints switched off."""
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


class EndpointSnapshot(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)


class EndpointDisabledFact(Schema):
    """Data of `webhook.endpoint_disabled`: which endpoint and why (no contact address)."""

    endpoint = fields.Nested(EndpointSnapshot, required=True)
    why = fields.String(required=True, validate=validate.OneOf(("gone", "failing")),
                        metadata={"description": "gone: the receiver answered 410; failing: "
                                                 "no success for WEBHOOK_DISABLE_AFTER"})


EVENTS = (
    EventType("subscription.requested",
              "someone asked to follow a topic; an opt-in email went out", SubscriptionFact),
    EventType("subscription.confirmed",
              "a follower confirmed through the opt-in link", SubscriptionFact),
    EventType("subscription.cancelled",
              "a follower unsubscribed", SubscriptionFact),
    EventType("webhook.endpoint_disabled",
              "a webhook endpoint was switched off; its contact was emailed", EndpointDisabledFact),
)
