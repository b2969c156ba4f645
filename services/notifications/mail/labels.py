"""Human words for the codes emails show: statuses, percentages and dates, in each language."""
import functools
from datetime import date
from urllib.parse import urlsplit, urlunsplit

from babel import dates, numbers

from shared import statuses, wording

LOCALES = wording.LOCALES
# Milestone and commitment status codes, in the words the commitments service uses.
STATUS = {**statuses.MILESTONE_STATUS, **statuses.COMMITMENT_STATUS}
NONE = {"es": "sin dato", "en": "not reported"}
NO_DATE = {"es": "sin fecha", "en": "no date"}


def status(code, language):
    """A status code in words; an unknown code is shown as it is rather than hidden."""
    if code is None:
        return NONE[language]
    return STATUS.get(code, {}).get(language, code)


@functools.lru_cache(maxsize=1024)  # CLDR formatting is slow, and a fan-out repeats it 10,000 times
def percent(value, language):
    return NONE[language] if value is None else numbers.format_percent(
        value / 100, locale=LOCALES[language])


@functools.lru_cache(maxsize=1024)
def day(value, language):
    """An ISO date (YYYY-MM-DD) in words, e.g. "31 de mayo de 2024"."""
    if not value:
        return NO_DATE[language]
    try:
        return dates.format_date(date.fromisoformat(value[:10]), "long", locale=LOCALES[language])
    except ValueError:
        return value


def localised(text, language):
    """One language of a {es, en} text (Spanish is canonical when the other is missing)."""
    if isinstance(text, dict):
        return text.get(language) or text.get("es") or text.get("en") or ""
    return "" if text is None else str(text)


def page_url(url, language):
    """A link to one of our pages that opens it in `language` (shared.i18n reads `lang`):
    each language's section of an email links to its own."""
    if not url:
        return url
    parts = urlsplit(url)
    query = "&".join(part for part in (parts.query, f"lang={language}") if part)
    return urlunsplit(parts._replace(query=query))
