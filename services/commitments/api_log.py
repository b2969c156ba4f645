"""The HTTP API of the history as a transparency log: signed heads, the key, proofs, checks.
All public and read-only."""

from services.commitments import tracking, transparency
from services.commitments.log_schemas import (ConsistencyQuery, ConsistencySchema,
                                              InclusionQuery, InclusionSchema, PublicKeySchema,
                                              SignedHeadSchema, VerifyQuery, VerifySchema)
from shared.errors import ProblemSchema
from shared.ratelimit import limited
from shared.web import ApiBlueprint, ApiView, service

blp = ApiBlueprint("log", __name__, url_prefix="/api/v1/history",
                   description="The public history's signed heads and proofs (RFC 9162) / "
                               "Cabezas firmadas y pruebas del historial público")


@blp.route("/head")
class Head(ApiView):
    @blp.response(200, SignedHeadSchema)
    def get(self):
        """The newest signed tree head: size, root hash, time and Ed25519 signature.

        409 while the history fails its check: no head is signed over a broken chain.
        """
        return transparency.signed_head(service())


@blp.route("/key")
class Key(ApiView):
    @blp.response(200, PublicKeySchema)
    def get(self):
        """The public key that signs the heads, and the text each signature covers."""
        return service().signer.describe()


@blp.route("/entries/<int(max=2147483647):entry_id>/inclusion")
class Inclusion(ApiView):
    @blp.arguments(InclusionQuery, location="query")
    @blp.response(200, InclusionSchema)
    @blp.alt_response(404, schema=ProblemSchema, description=(
        "No such entry, or the log has not grown to `size` entries yet."))
    # Anyone may ask, and each answer hashes the whole history now: the public rate
    # limit keeps an anonymous client from keeping a worker busy with them.
    @limited
    def get(self, query, entry_id):
        """The proof that an entry is leaf `entry_id - 1` of the tree of `size` entries."""
        return transparency.inclusion(service().db, entry_id, query.get("size"))


@blp.route("/consistency")
class Consistency(ApiView):
    @blp.arguments(ConsistencyQuery, location="query")
    @blp.response(200, ConsistencySchema)
    @blp.alt_response(404, schema=ProblemSchema, description=(
        "The log has not grown to `first` (or `second`) entries yet."))
    # Anyone may ask, and each answer hashes the whole history now: the public rate
    # limit keeps an anonymous client from keeping a worker busy with them.
    @limited
    def get(self, query):
        """The proof that the log of `second` entries extends the log of `first`."""
        return transparency.consistency(service().db, query["first"], query.get("second"))


@blp.route("/verify")
class HistoryVerify(ApiView):
    @blp.arguments(VerifyQuery, location="query")
    @blp.response(200, VerifySchema)
    @limited  # with size and root, the answer hashes the whole history now
    def get(self, query):
        """Verify the chain: `{"ok": true, "entries": n}` or `{"ok": false, "first_bad": id}`.

        Each web worker hashes the whole chain on its first check and every 10 minutes;
        in between, it confirms the last entry it verified is unchanged and hashes only
        newer ones. `abierto history verify` always hashes the whole chain.

        With `size` and `root` (a head saved earlier, from an alert or GET /history/head):
        whether today's first `size` entries still make that root, hashed now —
        `{"ok", "size", "root_hash", "entries"}`; a rewritten or cut past answers false.
        """
        if "size" in query:
            return transparency.check_against(service().db, query["size"], query["root"])
        return tracking.public_verification(service())[0]
