"""The rules: progress rollup, delays, date order, and what a milestone change must carry.

Pure functions over the model objects: no HTTP, SQL or Redis.
"""
from zoneinfo import ZoneInfo

from shared.domain_errors import InvalidField

LOCAL_ZONE = ZoneInfo("America/Chihuahua")  # whose calendar says when a milestone is late
MET, CANCELLED = "met", "cancelled"
MILESTONE_TRACKED = ("status", "progress_pct", "planned_end", "date_met")
MUST_JUSTIFY = ("status", "planned_end", "date_met")  # progress may move without a reason


def _mean(values):
    """The average of whole percentages rounded half up, or None when there are none."""
    values = list(values)
    if not values:
        return None
    return (2 * sum(values) + len(values)) // (2 * len(values))


def _milestone_pct(milestone):
    if milestone.progress_pct is not None:
        return milestone.progress_pct
    return 100 if milestone.status == MET else 0


def commitment_progress(milestones):
    """Average of the milestones' progress; cancelled ones are left out; None without any."""
    return _mean(_milestone_pct(m) for m in milestones if m.status != CANCELLED)


def plan_progress(commitments):
    """Average of the commitments' progress, ignoring those without any."""
    rolled = (commitment_progress(c.milestones) for c in commitments)
    return _mean(p for p in rolled if p is not None)


def local_today(now):
    return now.astimezone(LOCAL_ZONE).date()


def is_delayed(milestone, today):
    """Past its planned end and neither met nor cancelled."""
    return (milestone.planned_end is not None and today > milestone.planned_end
            and milestone.status not in (MET, CANCELLED))


def check_order(start, end, end_field):
    """Raise unless `end` is on or after `start` (either may be unknown)."""
    if start is not None and end is not None and end < start:
        raise InvalidField(end_field, "must not be before the start date.")


def diff(row, changes):
    """field -> (old, new) for the given values that differ from the row's."""
    return {name: (getattr(row, name), value) for name, value in changes.items()
            if getattr(row, name) != value}


def milestone_diff(milestone, changes, justification):
    """What a milestone change alters; a new status or date must say why."""
    changed = diff(milestone, changes)
    unjustified = [name for name in MUST_JUSTIFY if name in changed]
    if unjustified and not (justification or "").strip():
        raise InvalidField("justification", f"is required to change {', '.join(unjustified)}.")
    check_order(milestone.planned_start, changes.get("planned_end", milestone.planned_end),
                "planned_end")
    return changed
