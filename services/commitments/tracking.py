"""Use cases for following a commitment: milestones, assessments and the public history."""
from sqlalchemy import select

from services.commitments import domain, facts, history, transparency
from services.commitments.history import Log
from services.commitments.models import Assessment, Commitment, HistoryEntry, Milestone, Outbox
from services.commitments.plans import find_commitment, find_plan, paginate, split_why
from shared import outbox
from shared.domain_errors import NotFound


def add_milestone_row(session, log, commitment, fields):
    milestone = Milestone(**fields)
    commitment.milestones.append(milestone)
    session.flush()
    log.created("milestone", milestone, commitment_id=commitment.id)
    return milestone


def add_assessment_row(session, log, commitment, fields):
    assessment = Assessment(**fields, recorded_at=log.now)
    commitment.assessments.append(assessment)
    session.flush()
    log.created("assessment", assessment, commitment_id=commitment.id)
    return assessment


def add_milestone(db, ref, fields, actor, now):
    with db.transaction() as session:
        log = Log(session, actor, now)
        return add_milestone_row(session, log, find_commitment(session, ref), fields)


def get_milestone(db, milestone_id):
    with db.transaction() as session:
        return _milestone(session, milestone_id)


def _milestone(session, milestone_id):
    milestone = session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound(f"There is no milestone {milestone_id}.")
    return milestone


def update_milestone(db, milestone_id, changes, actor, now, base_url):
    """Move a milestone: one history entry per changed field and one `milestone.changed`.

    A change that alters nothing records nothing.
    """
    minor = changes.get("minor", False)
    changes, why = split_why({k: v for k, v in changes.items() if k != "minor"})
    with db.transaction() as session:
        log = Log(session, actor, now)
        milestone = _milestone(session, milestone_id)
        commitment = session.get(Commitment, milestone.commitment_id)
        changed = domain.milestone_diff(milestone, changes, why["justification"])
        if not changed:
            return milestone
        before = facts.milestone_state(milestone)
        for name, (_, new) in changed.items():
            setattr(milestone, name, new)
        log.changed("milestone", milestone.id, changed, commitment_id=commitment.id, **why)
        outbox.add(session, Outbox, facts.milestone_changed(
            commitment, milestone, before, {**why, "minor": minor}, actor, base_url, now,
            transparency.current_head(session)))
    return milestone


def record_assessment(db, ref, fields, actor, now, base_url):
    """Append an assessment (never edited: a re-rating is a new one) and announce it."""
    with db.transaction() as session:
        log = Log(session, actor, now)
        commitment = find_commitment(session, ref)
        assessment = add_assessment_row(session, log, commitment, fields)
        outbox.add(session, Outbox, facts.assessment_recorded(
            commitment, assessment, actor, base_url, now))
    return assessment


def commitment_history(db, ref, page, per_page):
    """The entries of a commitment and of its milestones and assessments, oldest first."""
    with db.transaction() as session:
        commitment_id = find_commitment(session, ref).id
    query = select(HistoryEntry).where(HistoryEntry.commitment_id == commitment_id)
    return paginate(db, query.order_by(HistoryEntry.id), page, per_page)


def plan_history(db, plan_id, page, per_page):
    """The entries about an action plan's own fields, oldest first."""
    with db.transaction() as session:
        find_plan(session, plan_id)
    query = select(HistoryEntry).where(HistoryEntry.subject_type == "action_plan",
                                       HistoryEntry.subject_id == plan_id)
    return paginate(db, query.order_by(HistoryEntry.id), page, per_page)


def verify_history(db):
    """The whole chain, hashed now (the CLI's check)."""
    with db.transaction() as session:
        return history.verify(session)


def public_verification(service):
    """(result, when the whole chain was last hashed) for a public read; see history.Verifier."""
    return service.history.check(service.db, service.clock())
