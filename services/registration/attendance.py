"""Attendance for the transparency report: per event, and per sector, how many registered,
in what state their registration is, how many came, walked in, or did not come.

One aggregate query per event. Anonymised registrations (RETENTION_DAYS) still count: their
sector, status and check-in stay; an erased one (ARCO) is gone from every figure.
"""
from sqlalchemy import Integer, case, func, select

from services.registration import domain
from services.registration.models import Event, Registration
from shared.domain_errors import NotFound

# What each figure counts. Walk-ins registered at the door: they are in `checked_in` and
# `walk_ins` only. `no_shows` is null until the event has ended.
FIGURES = {
    "registered": "registrations made before the door (any status; walk-ins not included)",
    "confirmed": "of those, confirmed (a seat)",
    "pending": "of those, a seat held until its person confirms by email",
    "waiting": "of those, on the waiting list",
    "cancelled": "of those, cancelled",
    "expired": "of those, holds not confirmed in time",
    "checked_in": "people checked in at the door, walk-ins included",
    "no_shows": "confirmed, not walk-ins, never checked in; null until the event has ended",
    "walk_ins": "people registered at the door",
}
_R = Registration
_AHEAD = _R.walk_in.is_(False)
_STATUS = {"confirmed": domain.CONFIRMED, "pending": domain.PENDING,
           "waiting": domain.WAITLISTED, "cancelled": domain.CANCELLED, "expired": domain.EXPIRED}


def _number(condition):
    return func.sum(case((condition, 1), else_=0), type_=Integer)


_BY_SECTOR = select(
    _R.sector,
    _number(_AHEAD).label("registered"),
    *(_number(_AHEAD & (_R.status == status)).label(name) for name, status in _STATUS.items()),
    _number(_R.checked_in_at.is_not(None)).label("checked_in"),
    _number(_AHEAD & (_R.status == domain.CONFIRMED) & _R.checked_in_at.is_(None)).label("absent"),
    _number(_R.walk_in.is_(True)).label("walk_ins"),
).group_by(_R.sector).order_by(_R.sector)


def figures(db, event_id, now):
    """{"event_id", "ended", the FIGURES, "by_sector": {sector: the FIGURES}}."""
    with db.reading() as connection:
        ends_at = connection.execute(select(Event.ends_at).where(Event.id == event_id)).scalar()
        if ends_at is None:
            raise NotFound(f"There is no event {event_id}.")
        rows = connection.execute(_BY_SECTOR.where(_R.event_id == event_id)).all()
    ended = now >= ends_at
    by_sector = {row.sector: _figures(row._mapping, ended) for row in rows}
    total = {name: sum(counts[name] for counts in by_sector.values())
             for name in FIGURES if name != "no_shows"}
    total["no_shows"] = sum(c["no_shows"] for c in by_sector.values()) if ended else None
    return {"event_id": event_id, "ended": ended, **_ordered(total), "by_sector": by_sector}


def _figures(row, ended):
    counts = {name: row[name] or 0 for name in FIGURES if name != "no_shows"}
    counts["no_shows"] = (row["absent"] or 0) if ended else None
    return _ordered(counts)


def _ordered(counts):
    return {name: counts[name] for name in FIGURES}
