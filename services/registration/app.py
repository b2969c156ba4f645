"""The registration service's app factory."""
from services.registration import api, pages
from services.registration.facts import Links
from services.registration.models import ApiToken
from shared import config, i18n
from shared.ratelimit import PublicRateLimit
from shared.web import create_service_app


def create_app(settings=None, **collaborators):
    """Build the app; tests pass settings and collaborators (db, bus, clock) instead of patching."""
    settings = settings or config.load_or_exit("registration")
    app = create_service_app(settings, "Abierto — Registration", ApiToken, [api.blp],
                             **collaborators)
    extra = app.extensions["abierto"].extra
    extra["links"] = Links(settings.public_base_url, settings.keys)
    # Registrations per client address and event (the key names both), for API and form.
    extra["event_limit"] = PublicRateLimit(settings.redis_url, settings.event_client_limit,
                                           "registration-per-event")
    i18n.install(app)
    app.register_blueprint(pages.bp)
    return app
