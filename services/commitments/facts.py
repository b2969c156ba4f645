"""Turns a change into the envelope the outbox carries: `milestone.changed`, `commitment.updated`,
`assessment.recorded`, each with the commitment as it stands after the fact."""
from services.commitments import domain
from services.commitments.history import jsonable, record_of
from shared import envelope

SOURCE = "/abierto/commitments"


def commitment_url(base_url, commitment_id):
    """The commitment in the public API, for machines."""
    return f"{base_url}/api/v1/commitments/{commitment_id}"


def commitment_page(base_url, commitment_id):
    """The commitment's public page, for people (emails add the reader's `lang`)."""
    return f"{base_url}/commitments/{commitment_id}"


def snapshot(commitment, base_url):
    """The commitment a fact is about (published.CommitmentSnapshot)."""
    url, page = commitment_url(base_url, commitment.id), commitment_page(base_url, commitment.id)
    return {"id": commitment.id, "ogp_id": commitment.ogp_id, "number": commitment.number,
            "title": _bilingual(commitment.title), "status": commitment.status,
            "progress_pct": domain.commitment_progress(commitment.milestones),
            "url": url, "history_url": url + "/history",
            "page_url": page, "history_page_url": page + "#s-history"}


def milestone_state(milestone):
    """The fields of a milestone a change can touch, dates as ISO 8601."""
    return {name: jsonable(getattr(milestone, name)) for name in domain.MILESTONE_TRACKED}


def milestone_changed(commitment, milestone, before, why, actor, base_url, now, head):
    """`milestone.changed`: before and after, why, whether followers are alerted, and the
    history's head (`{size, root_hash}`) once the change is in it."""
    data = {"commitment": snapshot(commitment, base_url),
            "milestone": {"id": milestone.id, "title": _bilingual(milestone.title)},
            "before": before, "after": milestone_state(milestone),
            "justification": why.get("justification"),
            "evidence": jsonable(why.get("evidence") or []),
            "minor": bool(why.get("minor")), "actor": actor,
            "history_head": {**head, **_verify_urls(base_url, head)}}
    subject = f"commitments/{commitment.id}/milestones/{milestone.id}"
    return envelope.make("milestone.changed", SOURCE, subject, data, now=now)


def commitment_updated(commitment, changes, actor, base_url, now):
    """`commitment.updated`: field -> {"old", "new"}."""
    data = {"commitment": snapshot(commitment, base_url), "actor": actor,
            "changes": {name: {"old": jsonable(old), "new": jsonable(new)}
                        for name, (old, new) in changes.items()}}
    return envelope.make("commitment.updated", SOURCE, f"commitments/{commitment.id}", data,
                         now=now)


def assessment_recorded(commitment, assessment, actor, base_url, now):
    """`assessment.recorded`: the assessment as the API shows it."""
    shown = {"id": assessment.id, "commitment_id": commitment.id, **record_of(assessment),
             "recorded_at": jsonable(assessment.recorded_at)}
    data = {"commitment": snapshot(commitment, base_url), "assessment": shown, "actor": actor}
    return envelope.make("assessment.recorded", SOURCE, f"commitments/{commitment.id}", data,
                         now=now)


def _verify_urls(base_url, head):
    """Where to check later that the history still extends `head`: JSON and the page."""
    query = f"?size={head['size']}&root={head['root_hash']}"
    return {"verify_url": f"{base_url}/api/v1/history/verify{query}",
            "verify_page_url": f"{base_url}/history/verify{query}"}


def _bilingual(text):
    return {"es": text.get("es", ""), "en": text.get("en") or ""}
