"""The history as a transparency log (RFC 9162's manner): signed tree heads, inclusion and
consistency proofs, and the check against a head someone saved.

Heads come from the entries the public verification has checked (history.Verifier), so
they cost a few hashes; proofs and checks against a saved head hash every leaf as the
database holds it now, so a past rewritten since shows in them.
"""
from services.commitments import history, merkle
from shared.domain_errors import Conflict, NotFound


def signed_head(service):
    """The newest head, signed; none while the history fails its check."""
    result, _, tree = service.history.latest(service.db, service.clock())
    if not result["ok"]:
        raise Conflict(f"The history fails its check at entry {result['first_bad']}: "
                       "no tree head is signed until it is restored.")
    return service.signer.sign(tree.size, tree.root(), service.clock())


def current_head(session):
    """{size, root_hash} of the whole log inside a writer's transaction (what an alert carries)."""
    leaves = history.leaves(session)
    return {"size": len(leaves), "root_hash": merkle.root(leaves).hex()}


def _leaves_up_to(db, size):
    with db.reading() as connection:
        leaves = history.leaves(connection)
    if size is None:
        return leaves
    _tree_exists(size, leaves)
    return leaves[:size]


def _tree_exists(size, leaves):
    # A tree the log has not grown to yet is not there to prove anything about (404, as
    # for an entry it does not hold), whatever the request's shape.
    if size > len(leaves):
        raise NotFound(f"There is no tree of {size} entries: the log has {len(leaves)}.")


def inclusion(db, entry_id, size=None):
    """The audit path of one entry in the tree of the first `size` entries (all by default)."""
    leaves = _leaves_up_to(db, size)
    if not 1 <= entry_id <= len(leaves):
        raise NotFound(f"There is no entry {entry_id} in a log of {len(leaves)} entries.")
    return {"entry_id": entry_id, "leaf_index": entry_id - 1, "size": len(leaves),
            "leaf_hash": leaves[entry_id - 1].hex(), "root_hash": merkle.root(leaves).hex(),
            "audit_path": [node.hex() for node in merkle.inclusion_path(entry_id - 1, leaves)]}


def consistency(db, first, second=None):
    """The proof that the tree of the first `first` entries is a prefix of the tree of the
    first `second` (all by default)."""
    leaves = _leaves_up_to(db, second)
    _tree_exists(first, leaves)  # `first` after `second` is refused on load (ConsistencyQuery)
    return {"first": first, "second": len(leaves),
            "first_root_hash": merkle.root(leaves[:first]).hex(),
            "second_root_hash": merkle.root(leaves).hex(),
            "proof": [node.hex() for node in merkle.consistency_proof(first, leaves)]}


def check_against(db, size, root_hash):
    """Does today's log extend the head of `size` entries with `root_hash` that someone saved?

    Its first `size` entries must still hash to that root: a rewritten or cut past fails.
    """
    with db.reading() as connection:
        leaves = history.leaves(connection)
    ok = size <= len(leaves) and merkle.root(leaves[:size]).hex() == root_hash.lower()
    return {"ok": ok, "size": size, "root_hash": root_hash.lower(), "entries": len(leaves)}
