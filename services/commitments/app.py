"""The commitments service's app factory: health and the (still empty) API."""
from services.commitments.models import ApiToken
from shared import config
from shared.web import create_service_app


def create_app(settings=None, **collaborators):
    """Build the app; tests pass settings and collaborators instead of patching."""
    settings = settings or config.load("commitments")
    return create_service_app(settings, "Abierto — Commitments", ApiToken, [], **collaborators)
