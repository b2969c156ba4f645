"""Who may check people in at an event: a staff link of that event that is not revoked, or an
API token with `checkin:write`. The API takes either as its bearer token; the staff page keeps
either in a cookie. Both are checked again on every request, so a revoked link stops at once."""
from services.registration import checkin
from services.registration import checkin_rules as rules
from shared import auth, signing
from shared.tokens import PREFIX
from shared.web import service

SCOPE = "checkin:write"
# Why the door stays shut, as the page words it: missing, invalid, scope, or a rules.LINK_*.
MISSING, INVALID, NO_SCOPE = "missing", "invalid", "scope"


class Refused(Exception):
    """The credential opens nothing here: `status` (401 or 403) and `reason` say why."""

    DETAILS = {MISSING: "A staff link or a bearer token with the scope `checkin:write` is required.",
               INVALID: "The staff link or token is unknown, revoked or expired.",
               NO_SCOPE: f"The token lacks the scope `{SCOPE}`."}

    def __init__(self, status, reason, detail=None):
        super().__init__(detail or self.DETAILS[reason])
        self.status, self.reason, self.detail = status, reason, detail or self.DETAILS[reason]


def door_keeper(credential, event_id):
    """Who `credential` is, if it may check people in at `event_id`; else raise Refused."""
    credential = (credential or "").strip()
    if not credential:
        raise Refused(401, MISSING)
    if not credential.startswith(PREFIX):
        try:
            link = checkin.staff_link_in_use(service().db, service().settings.keys, credential,
                                             event_id)
            return f"staff link {link.id}"
        except rules.StaffLinkRefused as refused:
            raise Refused(403, refused.reason, refused.detail) from None
        except signing.LinkInvalid:
            raise Refused(401, INVALID) from None
    caller, refusal = auth.caller(credential)
    if refusal:
        raise Refused(401, INVALID)
    if SCOPE not in caller.scopes:
        raise Refused(403, NO_SCOPE)
    return caller.name
