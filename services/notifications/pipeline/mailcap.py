"""How often an anonymous request may make the municipality email one mailbox.

Pure: no database, no HTTP. A form anyone can post must not be a way to flood somebody's
inbox from the municipality's servers, so every email such a request causes counts
against a cap per mailbox (`MAIL_CAP`, e.g. `5/hour;20/day`); past it the email is
recorded as `suppressed` and not sent. Which emails count, each kind says (its
`anonymous`): those of an organiser or a municipal system (promotions, cancellations by
the organiser, milestone alerts) are not capped.
"""
import functools
from dataclasses import dataclass
from datetime import timedelta

from limits import parse_many

_GMAIL = ("gmail.com", "googlemail.com")


def mailbox_key(address):
    """The mailbox an address reaches, for counting only (mail goes to the address as typed).

    Lower case; a `+tag` dropped from the local part, as most providers deliver it to the
    same inbox; on Gmail dots in the local part are dropped too, and googlemail.com is
    gmail.com. So "Ana+1@gmail.com", "a.na@GMAIL.com" and "ana+x@googlemail.com" are one.
    """
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return domain
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


@dataclass(frozen=True)
class Window:
    amount: int
    seconds: int
    label: str  # as the setting says it: "5/hour"


@functools.lru_cache(maxsize=8)
def parse(text):
    """`5/hour;20/day` -> its windows (config.load has refused any other text)."""
    return tuple(Window(item.amount, item.get_expiry(), _label(item))
                 for item in parse_many(text))


def _label(item):
    unit = item.GRANULARITY.name
    return f"{item.amount}/{unit}" if item.multiples == 1 else f"{item.amount}/{item.multiples} {unit}s"


def longest(windows):
    """Seconds back that counting has to look."""
    return max(window.seconds for window in windows)


def reached(windows, sent_at, now):
    """The first window whose cap the times in `sent_at` already fill, or None."""
    for window in windows:
        since = now - timedelta(seconds=window.seconds)
        if sum(1 for moment in sent_at if moment > since) >= window.amount:
            return window
    return None


def suppressed_reason(window):
    return f"mail cap for this mailbox reached ({window.label})"
