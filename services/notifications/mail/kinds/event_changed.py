"""The organiser moved the event or changed its place or online link: what changed, old → new,
in the attendee's words; a confirmed attendee's calendar entry moves with the updated invite
(same UID, next SEQUENCE). One email carries the final state of edits made close together."""
from dataclasses import dataclass

from services.notifications.mail.follower_email import is_web
from services.notifications.mail.kind import REQUEST
from services.notifications.mail.registration_email import RegistrationEmail, when

PLACE_FIELDS = ("venue", "address", "online_url")  # in the order the email lists them


@dataclass(frozen=True, eq=False)
class EventChanged(RegistrationEmail):
    def context(self, shared, language):
        event, changes = shared["event"], shared["changes"]
        moved = []
        if "starts_at" in changes or "ends_at" in changes:
            before = {field: _old(changes, field, event) for field in ("starts_at", "ends_at")}
            moved.append({"field": "when",
                          "old": when(before["starts_at"], before["ends_at"], event["timezone"],
                                      language),
                          "new": when(event["starts_at"], event["ends_at"], event["timezone"],
                                      language)})
        for field in PLACE_FIELDS:
            change = changes.get(field)
            if change and (change.get("old") or "") != (change.get("new") or ""):
                moved.append({"field": field, "old": change.get("old") or "",
                              "new": change.get("new") or "",
                              "linkable": field == "online_url" and is_web(change.get("new"))})
        return {**super().context(shared, language), "changes": moved}


def _old(changes, field, event):
    """A time as the attendee last heard of it: the change's old value, or the event's own
    if that one did not change."""
    return (changes.get(field) or {}).get("old") or event[field]


KIND = EventChanged("event_changed", event_types=("registration.event_changed",),
                    invite=REQUEST, invite_seats_only=True)
