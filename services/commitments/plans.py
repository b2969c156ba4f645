"""Use cases for action plans and commitments: one transaction each, every change in the history.

The `add_*` helpers work inside a caller's transaction, so an import or the seed can
create a whole plan at once.
"""
from sqlalchemy import String, cast, select

from services.commitments import domain, facts
from services.commitments.history import Log
from services.commitments.models import ActionPlan, Commitment, FeedTombstone, Outbox
from shared import changes, outbox
from shared.db import page_of
from shared.domain_errors import Conflict, InvalidField, NotFound
from shared.schemas import MAX_INT

WHY = ("justification", "evidence")


def split_why(changes):
    """(changes, why): the fields to change, and the reason and evidence given for it."""
    changes = dict(changes)
    why = {name: changes.pop(name) for name in WHY if name in changes}
    why["justification"] = (why.get("justification") or "").strip() or None
    return changes, why


def find_plan(session, plan_id):
    plan = session.get(ActionPlan, plan_id)
    if plan is None:
        raise NotFound(f"There is no action plan {plan_id}.")
    return plan


def find_commitment(session, ref):
    """A commitment by its numeric id or its OGP id (e.g. MXCHH0003)."""
    ref = str(ref).strip()
    if ref.isascii() and ref.isdigit():
        found = session.get(Commitment, int(ref)) if int(ref) <= MAX_INT else None
    else:
        found = session.scalar(select(Commitment).where(Commitment.ogp_id == ref.upper()))
    if found is None:
        raise NotFound(f"There is no commitment {ref}.")
    return found


def _check_plan_unique(session, member, ordinal):
    if session.scalar(select(ActionPlan.id).where(ActionPlan.member == member,
                                                  ActionPlan.ordinal == ordinal)):
        raise Conflict(f"{member} already has an action plan number {ordinal}.")


def _check_commitment_unique(session, plan_id, number=None, ogp_id=None):
    if number is not None and session.scalar(select(Commitment.id).where(
            Commitment.action_plan_id == plan_id, Commitment.number == number)):
        raise Conflict(f"The action plan already has a commitment number {number}.")
    if ogp_id is not None and session.scalar(select(Commitment.id).where(
            Commitment.ogp_id == ogp_id)):
        raise Conflict(f"Another commitment already has the OGP id {ogp_id}.")


def add_plan(session, log, fields):
    _check_plan_unique(session, fields["member"], fields["ordinal"])
    plan = ActionPlan(**fields, commitments=[])
    session.add(plan)
    session.flush()
    log.created("action_plan", plan)
    return plan


def add_commitment(session, log, fields):
    plan = session.get(ActionPlan, fields["action_plan_id"])
    if plan is None:
        raise InvalidField("action_plan_id",
                                  f"{fields['action_plan_id']} is not an action plan.")
    _check_commitment_unique(session, plan.id, fields["number"], fields.get("ogp_id"))
    commitment = Commitment(**fields, milestones=[], assessments=[])
    plan.commitments.append(commitment)
    session.flush()
    log.created("commitment", commitment, commitment_id=commitment.id)
    return commitment


def create_plan(db, fields, actor, now):
    with db.transaction() as session:
        return add_plan(session, Log(session, actor, now), fields)


def update_plan(db, plan_id, changes, actor, now):
    """Change a plan's own fields; each changed field is one history entry."""
    changes, why = split_why(changes)
    with db.transaction() as session:
        log = Log(session, actor, now)
        plan = find_plan(session, plan_id)
        changed = domain.diff(plan, changes)
        if {"member", "ordinal"} & set(changed):
            _check_plan_unique(session, changes.get("member", plan.member),
                               changes.get("ordinal", plan.ordinal))
        domain.check_order(changes.get("period_start", plan.period_start),
                           changes.get("period_end", plan.period_end), "period_end")
        for name, (_, new) in changed.items():
            setattr(plan, name, new)
        log.changed("action_plan", plan.id, changed, **why)
    return plan


def create_commitment(db, fields, actor, now):
    with db.transaction() as session:
        return add_commitment(session, Log(session, actor, now), fields)


def update_commitment(db, ref, changes, actor, now, base_url):
    """Change a commitment's own fields; logged per field and announced as `commitment.updated`."""
    changes, why = split_why(changes)
    with db.transaction() as session:
        log = Log(session, actor, now)
        commitment = find_commitment(session, ref)
        changed = domain.diff(commitment, changes)
        _check_commitment_unique(session, commitment.action_plan_id,
                                 changes.get("number") if "number" in changed else None,
                                 changes.get("ogp_id") if "ogp_id" in changed else None)
        domain.check_order(changes.get("start_date", commitment.start_date),
                           changes.get("end_date", commitment.end_date), "end_date")
        for name, (_, new) in changed.items():
            setattr(commitment, name, new)
        if changed:
            log.changed("commitment", commitment.id, changed, commitment_id=commitment.id, **why)
            outbox.add(session, Outbox, facts.commitment_updated(
                commitment, changed, log.actor, base_url, now))
    return commitment


def list_plans(db, page, per_page):
    query = select(ActionPlan).order_by(ActionPlan.member, ActionPlan.ordinal, ActionPlan.id)
    return paginate(db, query, page, per_page)


def get_plan(db, plan_id):
    with db.transaction() as session:
        return find_plan(session, plan_id)


def get_commitment(db, ref):
    with db.transaction() as session:
        return find_commitment(session, ref)


def list_commitments(db, page, per_page, action_plan=None, challenge_area=None, ogp_value=None,
                     status=None):
    query = select(Commitment).order_by(Commitment.action_plan_id, Commitment.number, Commitment.id)
    if action_plan is not None:
        query = query.where(Commitment.action_plan_id == action_plan)
    # The lists are JSON; a quoted code from a closed vocabulary matches only itself.
    for column, wanted in ((Commitment.challenge_areas, challenge_area),
                           (Commitment.ogp_values, ogp_value)):
        if wanted:
            query = query.where(cast(column, String).contains(f'"{wanted}"', autoescape=True))
    if status:
        query = query.where(Commitment.status == status)
    return paginate(db, query, page, per_page)


def plans_changed(db, cursor, limit):
    """(plans changed after `cursor`, a commitment's change included, the next cursor)."""
    with db.transaction() as session:
        return changes.changed(session, ActionPlan, FeedTombstone, cursor, limit)


def commitments_changed(db, cursor, limit):
    """(commitments changed after `cursor`, a milestone's change included, the next cursor)."""
    with db.transaction() as session:
        return changes.changed(session, Commitment, FeedTombstone, cursor, limit)


def paginate(db, query, page, per_page):
    with db.transaction() as session:
        return page_of(session, query, page, per_page)
