"""The commitments service's app factory."""
from flask import request

from services.commitments import api, api_tracking, history, pages
from services.commitments.models import ApiToken
from shared import config, i18n
from shared.web import create_service_app

IMPORT_MAX_BYTES = 4 * 1024 * 1024  # a whole national plan, texts in two languages


def create_app(settings=None, **collaborators):
    """Build the app; tests pass settings and collaborators (db, bus, clock) instead of patching."""
    settings = settings or config.load_or_exit("commitments")
    # The commitment page's follow form posts to the notification service: the pages' CSP
    # (form-action) names that one address besides our own origin.
    follow_url = config.load_or_exit("notifications").public_base_url + "/follow"
    app = create_service_app(settings, "Abierto — Commitments", ApiToken,
                             [api.blp, api_tracking.blp], form_targets=(follow_url,),
                             **collaborators)
    app.extensions["abierto"].extra["follow_url"] = follow_url
    # Per app, so per worker process: see history.Verifier for why memory, not the database.
    app.extensions["abierto"].extra["history"] = history.Verifier()
    i18n.install(app)  # the public pages' language
    app.register_blueprint(pages.bp)
    app.json.sort_keys = False  # documents keep their order: an export reads `format` first

    @app.before_request
    def _larger_imports():
        if request.endpoint == "commitments.ActionPlanImport":
            request.max_content_length = IMPORT_MAX_BYTES

    return app
