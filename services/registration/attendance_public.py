"""The attendance table anyone may read once an event has ended, without small counts.

With one or two people of a sector, "1 attended" tells who came. So a count from 1 to
`least` - 1 is shown as SMALL ("< 5"), and a column never leaves one to be worked out from
its total: the total minus the shown counts gives only the sum of what is hidden, and one
more count of that column is WITHHELD, big enough that the sum says nothing of the small
ones (else the column's total is withheld). Pure: no HTTP, SQL or Redis; docs/privacy.md
gives the reasoning. Organisers with a token read the exact figures (attendance.figures).
"""
SHOWN = ("registered", "cancelled", "checked_in", "walk_ins", "no_shows")
SMALL, WITHHELD = "small", "withheld"


def table(figures, least):
    """{"by_sector": {sector: {name: count, SMALL or WITHHELD}}, "total": {...}, "least"} of
    the SHOWN figures of attendance.figures() (an ended event's)."""
    by_sector = {sector: {name: counts[name] for name in SHOWN}
                 for sector, counts in figures["by_sector"].items()}
    total = {name: figures[name] for name in SHOWN}
    for name in SHOWN:
        cells = {sector: counts[name] for sector, counts in by_sector.items()}
        hidden, total_shown = _column(cells, total[name], least)
        for sector, mark in hidden.items():
            by_sector[sector][name] = mark
        total[name] = total_shown
    return {"by_sector": by_sector, "total": total, "least": least}


def _small(count, least):
    return 0 < count < least


def _column(cells, total, least):
    """({sector: SMALL or WITHHELD}, the total as shown) for one column's counts.

    Someone who knows this rule knows each SMALL count is 1..least-1, each WITHHELD one at
    least `least`, and (with the total shown) what the hidden ones add up to. Hidden counts
    are enough when that sum still lets every small one be anything from 1 to least-1;
    else the smallest count that makes it so is withheld too, or, with none, the total."""
    small = {sector: SMALL for sector, count in cells.items() if _small(count, least)}
    if _small(total, least):
        # Every count is small, and their sum too: n of them, each at least 1, adding up to
        # less than `least`, are each at most least-n; with n >= least-1, exactly 1.
        return small, (SMALL if len(small) < least - 1 else WITHHELD)
    if not small or _says_nothing(len(small), sum(cells[s] for s in small), least):
        return small, total
    # One withheld count w (no upper bound known) leaves a small one free down to 1; up to
    # least-1 only when w - least, what it hides beyond its own floor, fills the gap.
    need = 2 * least + len(small) - 2 - sum(cells[s] for s in small)
    big_enough = sorted((count, sector) for sector, count in cells.items()
                        if sector not in small and count >= max(need, 1))
    if not big_enough:
        return small, WITHHELD
    return {**small, big_enough[0][1]: WITHHELD}, total


def _says_nothing(count, hidden_sum, least):
    """Whether `count` small counts adding up to `hidden_sum` leave each free in 1..least-1."""
    others = count - 1
    return others + least - 1 <= hidden_sum <= others * (least - 1) + 1
