"""The link to a person's own data ("Mis datos" / "My data"), which they asked for on the
registration site's page: it opens, for a few hours, everything every service holds about
the address. Sent even to an address that opposed: it is how they undo it."""
from dataclasses import dataclass

from services.notifications.mail import labels
from services.notifications.mail.kind import REQUESTER, EmailKind, stand_in

TOPIC = {"es": "Mis datos", "en": "My data"}
_LINK = stand_in("my-data")


@dataclass(frozen=True, eq=False)
class MyDataLink(EmailKind):
    def recipient(self, data):
        return "", data["requester"]["email"]

    def language(self, data):
        return data["requester"]["language"]

    def split(self, data, commitments):
        requester = data["requester"]
        return ({"requester": {"url": _LINK, "valid_hours": requester["valid_hours"]}},
                {_LINK: requester["url"]})

    def context(self, shared, language):
        requester = shared["requester"]
        return {"topic": TOPIC[language], **requester,
                "url": labels.page_url(requester["url"], language)}


KIND = MyDataLink("my_data_link", event_types=("arco.requested",), audience=REQUESTER,
                  anonymous=True, essential=True)
