"""ISO 8601 durations of days and times ("P1D", "PT2H", "PT90S", "P1DT12H"), as reminders
are set: the subset with a fixed length (no years or months, whose length varies)."""
import re
from datetime import timedelta

_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")


def parse(text):
    """The timedelta of an ISO 8601 duration; ValueError for anything else (or zero)."""
    match = _DURATION.fullmatch(text.strip().upper()) if isinstance(text, str) else None
    if not match or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration of days and times, e.g. P1D or PT2H")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    length = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if not length:
        raise ValueError(f"{text!r} is no time at all")
    return length


def parse_list(text):
    """A comma-separated list ("P1D,PT2H") as canonical strings, longest first, no repeats."""
    parts = [part.strip().upper() for part in text.split(",") if part.strip()]
    return tuple(sorted(set(parts), key=parse, reverse=True))
