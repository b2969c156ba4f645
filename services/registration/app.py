"""The registration service's app factory."""
from services.registration import api, pages
from services.registration.facts import Links
from services.registration.models import ApiToken
from shared import config, i18n
from shared.web import create_service_app


def create_app(settings=None, **collaborators):
    """Build the app; tests pass settings and collaborators (db, bus, clock) instead of patching."""
    settings = settings or config.load_or_exit("registration")
    app = create_service_app(settings, "Abierto — Registration", ApiToken, [api.blp],
                             **collaborators)
    app.extensions["abierto"].extra["links"] = Links(settings.public_base_url, settings.keys)
    i18n.install(app)
    app.register_blueprint(pages.bp)
    return app
