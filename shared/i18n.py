"""The language of a page: Spanish by default, English by a visible switch that sticks.

Order: `?lang=es|en` (the switch; it also sets a cookie), the cookie, the browser's
Accept-Language on a first visit, then Spanish.
"""
from flask import current_app, g, request

from shared.wording import LANGUAGES
COOKIE = "lang"
ONE_YEAR = 365 * 24 * 3600


def page_language():
    """The language to render this request in."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        return chosen
    remembered = request.cookies.get(COOKIE)
    if remembered in LANGUAGES:
        return remembered
    return request.accept_languages.best_match(LANGUAGES) or "es"


def language():
    """This request's page language, worked out on first use: API calls never pay for it."""
    if "lang" not in g:
        g.lang = page_language()
    return g.lang


def install(app):
    """Give templates the page language and keep the switch's choice in a cookie."""

    @app.after_request
    def _remember(response):
        # Only a page's switch sticks: a feed or file read with ?lang= (a calendar app's
        # subscription) is not the reader choosing the site's language, and must stay cacheable.
        if response.mimetype == "text/html" and request.args.get("lang") in LANGUAGES:
            # The same flags as the session cookie (shared.web): Secure behind https.
            response.set_cookie(COOKIE, request.args["lang"], max_age=ONE_YEAR, samesite="Lax",
                                httponly=True, secure=current_app.config["SESSION_COOKIE_SECURE"])
        return response

    @app.context_processor
    def _language():
        return {"lang": language(), "t": lambda es, en: es if language() == "es" else en}

