"""What an email kind says about itself; each kind is one module of `mail/kinds/`.

The pipeline and the renderer ask the kind instead of keeping lists of kind names: which
events produce it, who receives it, whether an anonymous request can cause it, what goes
into its templates, what it carries besides its text.
"""
import uuid
from dataclasses import dataclass, field
from pathlib import Path

# Who receives an email: the registration's attendee, or the confirmed followers of the
# event's commitment (pipeline/handlers.py finds them); or the person who asked for it
# (an event's `requester`, or an email that no event produces).
ATTENDEE, FOLLOWERS, REQUESTER = "attendee", "followers", "requester"
# The calendar METHOD of an attached .ics (RFC 5546): REQUEST adds or moves the entry, CANCEL
# removes it.
REQUEST, CANCEL = "REQUEST", "CANCEL"
KINDS_TEMPLATES = Path(__file__).parent / "kinds" / "templates"


@dataclass(frozen=True, eq=False)  # compared by identity: a kind is one object per process
class EmailKind:
    """One kind of email. Its wording is `<templates>/<name>/<language>.{txt,html}`, where
    the text template also sets `subject`; the subject line ends with the context's `topic`.

    Subclasses say how the event's data becomes template variables (`context`), who it
    goes to (`recipient`, `language`) and what is the same for every recipient (`split`).
    """

    name: str
    event_types: tuple = ()  # the CloudEvent types that produce it
    audience: str = ATTENDEE
    # Caused by an anonymous request (registering, asking for a seat, asking to follow):
    # counts towards MAIL_CAP.
    anonymous: bool = False
    # Sent even to an address that opposed (the O of ARCO): what an active registration
    # needs, and the link to the person's own data.
    essential: bool = False
    with_commitments: bool = False  # shows the commitments its event reports on
    invite: str | None = None  # REQUEST or CANCEL: an .ics goes with it (see `invite_for`)
    templates: Path = field(default=KINDS_TEMPLATES)

    def wanted(self, data):
        """Whether this event asks for this email at all."""
        return True

    def recipient(self, data):
        """(display name, address) of the To header."""
        raise NotImplementedError

    def language(self, data):
        """The recipient's language: their section comes first."""
        raise NotImplementedError

    def headers(self, data, mail_domain):
        """Extra headers, e.g. a list's."""
        return {}

    def split(self, data, commitments):
        """(what every recipient of one event shares, {stand-in: this recipient's value}).

        The shared part is rendered once and the values put in after; rendering costs
        more than the rest of an email."""
        return {**data, "commitments": list(commitments)}, {}

    def context(self, shared, language):
        """The template variables of one language's section, from `split`'s shared part."""
        raise NotImplementedError

    def invite_for(self, data):
        """The METHOD of the .ics this email carries, or None: `invite`, unless the recipient
        holds no entry in a calendar (the data may be a split's shared part)."""
        return self.invite

    def inline(self, data):
        """Images the HTML part shows, each one this recipient's: [Inline]."""
        return []

    def related_commitments(self, data):
        """Ids of the commitments to show (the task fetches them), if it shows any."""
        return []


@dataclass(frozen=True)
class Inline:
    """An image inside the message, which the HTML refers to as "cid:<stand_in>": the
    message gives it its own Content-ID after rendering."""

    stand_in: str
    content: bytes
    subtype: str = "png"
    filename: str | None = None


def stand_in(what):
    """A marker that stands in, in a shared rendering, for one recipient's `what`."""
    return f"abierto-{what}-{uuid.uuid4().hex}"
