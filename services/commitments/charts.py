"""The progress-over-time chart: replay the history of a commitment's milestones, then lay out an SVG.

Pure functions: the template draws the shapes (and says the words in the page's language).
"""
from types import SimpleNamespace

from services.commitments import domain

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 16, 48  # room for the axis labels
Y_TICKS = (0, 25, 50, 75, 100)
MOVES_PROGRESS = ("created", "status", "progress_pct")


def progress_series(entries):
    """[(occurred_at, pct)]: the commitment's rolled-up progress after each milestone change.

    `entries` are the commitment's history entries in id order; changes made in one
    transaction share a time and count as one point (the state after the last of them).
    """
    milestones, series = {}, []
    for entry in entries:
        if entry.subject_type != "milestone" or entry.field not in MOVES_PROGRESS:
            continue
        if entry.field == "created":
            record = entry.new_value if isinstance(entry.new_value, dict) else {}
            milestones[entry.subject_id] = SimpleNamespace(
                status=record.get("status"), progress_pct=record.get("progress_pct"))
        elif entry.subject_id in milestones:
            setattr(milestones[entry.subject_id], entry.field, entry.new_value)
        else:
            continue
        pct = domain.commitment_progress(milestones.values())
        if pct is None:
            continue
        if series and series[-1][0] == entry.occurred_at:
            series[-1] = (entry.occurred_at, pct)
        else:
            series.append((entry.occurred_at, pct))
    return series


def layout(series):
    """Coordinates for the SVG: a polyline, its dots, the y ticks and the first/last x labels."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    if not series:
        return None
    start, end = series[0][0], series[-1][0]
    span = (end - start).total_seconds()

    def x(when):
        if span <= 0:
            return LEFT + plot_w / 2
        return LEFT + plot_w * (when - start).total_seconds() / span

    def y(pct):
        return TOP + plot_h * (100 - pct) / 100

    dots = [{"x": round(x(when), 1), "y": round(y(pct), 1), "when": when, "pct": pct}
            for when, pct in series]
    # A step line: progress holds until the next change.
    path = []
    for index, dot in enumerate(dots):
        if index:
            path.append(f"{dot['x']},{dots[index - 1]['y']}")
        path.append(f"{dot['x']},{dot['y']}")
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "top": TOP,
        "bottom": HEIGHT - BOTTOM, "points": " ".join(path), "dots": dots,
        "y_ticks": [{"pct": pct, "y": round(y(pct), 1)} for pct in Y_TICKS],
        "first": dots[0], "last": dots[-1],
    }
