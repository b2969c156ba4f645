"""How times are worded for people, in Spanish (Mexico) and English: CLDR through babel.

Pages and emails say an event's date and hours the same way, in the event's own zone.
"""
from babel import dates

LANGUAGES = ("es", "en")  # every page, email and API field speaks these; Spanish is the default
LOCALES = {"es": "es_MX", "en": "en_US"}
# 24-hour clock is usual in Mexico; English readers expect AM/PM.
_TIME_SKELETONS = {"es": "Hm", "en": "hm"}
# CLDR puts narrow and thin spaces around times; some mail clients draw them as boxes.
_SPACES = str.maketrans({"\u202f": "\u00a0", "\u2009": " "})


def span(start, end, zone, language):
    """"sábado, 31 de mayo de 2031, 10:00–12:00": the date and hours of `start`..`end`
    (aware datetimes) in `zone`, or both dates when it runs over midnight."""
    locale, skeleton = LOCALES[language], _TIME_SKELETONS[language]
    start, end = start.astimezone(zone), end.astimezone(zone)
    if start.date() == end.date():
        times = dates.format_interval(start, end, skeleton, tzinfo=zone, locale=locale)
        worded = f"{dates.format_date(start, 'full', locale=locale)}, {times}"
    else:
        worded = " – ".join(
            f"{dates.format_date(moment, 'full', locale=locale)}, "
            f"{dates.format_skeleton(skeleton, moment, tzinfo=zone, locale=locale)}"
            for moment in (start, end))
    return worded.translate(_SPACES)


def offset(moment, language):
    """The zone's offset at `moment`, as "GMT-06:00" (CLDR's words)."""
    return dates.get_timezone_gmt(moment, locale=LOCALES[language]).translate(_SPACES)


def clock(moment, zone, language):
    """The time of day of `moment` in `zone`: "10:02" in Spanish, "10:02 AM" in English."""
    return dates.format_skeleton(_TIME_SKELETONS[language], moment, tzinfo=zone,
                                 locale=LOCALES[language]).translate(_SPACES)


def shorten(text, limit):
    """`text` in at most `limit` characters: whole paragraphs while they fit, else cut at a
    word, with "…" where something was left out."""
    text = text.strip()
    if len(text) <= limit:
        return text
    kept = ""
    for paragraph in text.split("\n\n"):
        joined = f"{kept}\n\n{paragraph}" if kept else paragraph
        if len(joined) > limit - 1:
            break
        kept = joined
    if not kept:  # the first paragraph alone is too long: cut it at a word
        cut = text[:limit - 1]
        words = cut.rsplit(None, 1)
        kept = words[0] if len(words) > 1 else cut
    return kept.rstrip(" ,;:.-–") + "…"
