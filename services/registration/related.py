"""An event's related commitments as its page shows them: number, title and status read from
the commitments service within a second, else "Compromiso N" and its link, so the event page
is never slow or broken because the commitments service is."""
import time

from shared.commitments_client import CommitmentsUnavailable, UnknownCommitment

BUDGET = 1.0  # seconds for all of one page's lookups


def related_commitments(ids, commitments, pages_url, budget=BUDGET, clock=time.monotonic):
    """[{id, url, number, title {es, en} | None, status | None}] in the event's order.

    `commitments` reads one (shared.commitments_client); `pages_url` is where people open
    the commitments site. The first failure stops the lookups: the rest go without a title.
    """
    deadline, away, shown = clock() + budget, False, []
    for commitment_id in ids:
        found, left = None, deadline - clock()
        if not away and left > 0:
            try:  # connecting and each wait for bytes get half of what is left: at most all of it
                found = commitments.get(commitment_id, timeout=left / 2)
            except UnknownCommitment:
                pass  # a page of the commitments site will say so; the link stays
            except CommitmentsUnavailable:
                away = True
        shown.append({"id": commitment_id, "url": f"{pages_url}/commitments/{commitment_id}",
                      "number": found["number"] if found else commitment_id,
                      "title": found["title"] if found else None,
                      "status": found["status"] if found else None})
    return shown
