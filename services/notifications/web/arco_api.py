"""A person's data, by address, for the service that hosts the "Mis datos" pages (ARCO:
access, rectification, cancellation, opposition). The address travels in the body, never in
a URL that logs would keep; every call needs a token with an `arco:` scope."""
from marshmallow import fields, validate

from services.notifications import person as held
from services.notifications.pipeline import oppositions, subscriptions
from shared.auth import require
from shared.schemas import StrictSchema, email_field
from shared.web import ApiBlueprint, ApiView, service
from shared.wording import LANGUAGES

blp = ApiBlueprint("arco", __name__, url_prefix="/api/v1/arco",
                   description="A person's data, by address (ARCO) / Los datos de una persona")
BEARER = [{"bearer": []}]


class PersonSchema(StrictSchema):
    email = email_field(required=True)


class PreferencesSchema(PersonSchema):
    opposed = fields.Boolean(metadata={
        "description": "true: send nothing but what an active registration needs"})
    language = fields.String(validate=validate.OneOf(LANGUAGES),
                             metadata={"description": "of the alerts of what the address follows"})


class ErasedSchema(StrictSchema):
    erased = fields.Integer(metadata={"description": "how many rows were erased"})


class HeldSchema(StrictSchema):
    subscriptions = fields.List(fields.Dict(), metadata={"description": "what it follows"})
    deliveries = fields.List(fields.Dict(), metadata={"description": "the emails kept for it"})
    webhook_calls = fields.List(fields.Dict(), metadata={
        "description": "the webhook calls that carried it (registration facts), each with the "
                       "municipal system's endpoint it went to"})
    opposed = fields.Boolean()


@blp.route("/export")
class Export(ApiView):
    @require("arco:read")
    @blp.doc(security=BEARER)
    @blp.arguments(PersonSchema)
    @blp.response(200, HeldSchema)
    def post(self, person):
        """Everything held for an address: follows, emails kept, the webhook calls that carried
        it to municipal systems, opposition (`arco:read`)."""
        return held.export(service().db, service().settings.keys, person["email"])


@blp.route("/preferences")
class Preferences(ApiView):
    @require("arco:write")
    @blp.doc(security=BEARER)
    @blp.arguments(PreferencesSchema)
    @blp.response(200, PreferencesSchema)
    def post(self, changes):
        """Oppose (or stop opposing), or correct the language of the alerts (`arco:write`)."""
        email = changes["email"]
        with service().db.transaction() as session:
            if "opposed" in changes:
                oppositions.set_opposed(session, email, changes["opposed"], service().clock())
            if "language" in changes:
                subscriptions.set_language(session, email, changes["language"])
            return {"email": email, "opposed": oppositions.is_opposed(session, email)}


@blp.route("/erase")
class Erase(ApiView):
    @require("arco:write")
    @blp.doc(security=BEARER)
    @blp.arguments(PersonSchema)
    @blp.response(200, ErasedSchema)
    def post(self, person):
        """Erase everything held for an address (`arco:write`); returns how many rows."""
        return {"erased": held.erase(service().db, service().bus, service().settings.keys,
                                     person["email"], service().clock())}
