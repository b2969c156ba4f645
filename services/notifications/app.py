"""The notification service's app factory: deliveries API and health."""
from services.notifications import api
from services.notifications.models import ApiToken
from shared import config
from shared.web import create_service_app


def create_app(settings=None, **collaborators):
    """Build the app; tests pass settings and collaborators instead of patching."""
    settings = settings or config.load("notifications")
    return create_service_app(settings, "Abierto — Notifications", ApiToken, [api.blp],
                              **collaborators)
