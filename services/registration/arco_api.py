"""The ARCO requests on record, for the transparency office (token scope `arco:read`)."""
from marshmallow import fields

from services.registration import arco_log
from shared.auth import require
from shared.changes import Tombstone
from shared.schemas import ChangesQuery, StrictSchema, feed_body, page_body, page_schema
from shared.web import ApiBlueprint, ApiView, service

blp = ApiBlueprint("arco", __name__, url_prefix="/api/v1",
                   description="ARCO requests on record / Solicitudes ARCO registradas")


class ArcoRequestSchema(StrictSchema):
    request_id = fields.String()
    right = fields.String(metadata={"description": ", ".join(arco_log.RIGHTS)})
    person = fields.String(metadata={"description": "keyed hash of the address: the same for "
                                                    "every request of one address, never it"})
    received_at = fields.String(metadata={"description": "UTC, ISO 8601"})
    done_at = fields.String(allow_none=True, metadata={"description": "null: not done"})
    outcome = fields.String(metadata={"description": "`done`, `withdrawn` (an opposition "
                                                     "undone) or `failed: why`"})
    deadline = fields.String(metadata={"description": "ARCO_RESPONSE_DAYS business days after "
                                                      "it was received"})


@blp.route("/arco/requests")
class ArcoRequests(ApiView):
    @require("arco:read")
    @blp.doc(security=[{"bearer": []}])
    @blp.arguments(ChangesQuery, location="query")
    @blp.response(200, page_schema(ArcoRequestSchema))
    def get(self, query):
        """Every ARCO request on record, oldest first (token scope `arco:read`)."""
        if "changed_since" in query:
            rows, cursor = arco_log.entries_changed(service().db, query["changed_since"],
                                                    query["per_page"])
            return feed_body([row if isinstance(row, Tombstone) else arco_log.as_dict(row)
                              for row in rows], cursor, query)
        rows, total = arco_log.entries(service().db, **query)
        return page_body([arco_log.as_dict(row) for row in rows], total, query)
