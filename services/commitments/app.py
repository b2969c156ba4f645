"""The commitments service's app factory."""
from dataclasses import dataclass

from flask import request

from services.commitments import api, api_log, api_tracking, pages, tree_heads
from services.commitments.history import Verifier
from services.commitments.models import ApiToken
from shared import config, i18n
from shared.web import Service, create_service_app

IMPORT_MAX_BYTES = 4 * 1024 * 1024  # a whole national plan, texts in two languages


@dataclass(kw_only=True)
class Commitments(Service):
    follow_url: str  # where the commitment page's follow form posts (the notification service)
    # Per app, so per worker process: see history.Verifier for why memory, not the database.
    history: Verifier
    signer: tree_heads.Signer  # signs the log's tree heads; its key lives in a file


def create_app(settings=None, **collaborators):
    """Build the app; tests pass settings and collaborators (db, bus, clock) instead of patching."""
    settings = settings or config.load_or_exit("commitments")
    signer = collaborators.pop("signer", None) or config.or_exit(
        tree_heads.load_signer, settings)
    service = Commitments(settings=settings, token_model=ApiToken, **collaborators,
                          follow_url=settings.peers["notifications"].public_url + "/follow",
                          history=Verifier(), signer=signer)
    # The pages' CSP (form-action) names the follow form's one address besides our own origin.
    app = create_service_app(service, "Abierto — Commitments", [api.blp, api_tracking.blp, api_log.blp],
                             form_targets=(service.follow_url,))
    i18n.install(app)  # the public pages' language
    app.register_blueprint(pages.bp)
    app.json.sort_keys = False  # documents keep their order: an export reads `format` first

    @app.before_request
    def _larger_imports():
        if request.endpoint == "commitments.ActionPlanImport":
            request.max_content_length = IMPORT_MAX_BYTES

    return app
