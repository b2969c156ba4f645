"""A second reference for the registration API: the libraries the project mandates, with
nothing of ours. flask-smorest parses and validates the body with a marshmallow schema and
dumps the answer with another; SQLAlchemy Core inserts one row in a transaction. Beside
bench/bare_app.py (Flask alone) it shows how much of the API's gap the stack itself makes
(bench/api_skeleton.py).

    SKELETON_DATABASE_URL=sqlite:///x.db gunicorn 'bench.skeleton_app:create_app()'
"""
import os

from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, event, insert

metadata = MetaData()
registrations = Table(
    "skeleton_registration", metadata, Column("id", Integer, primary_key=True),
    Column("event_id", Integer, nullable=False), Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=False), Column("sector", String(50), nullable=False))


class RegistrationIn(Schema):
    """The fields the benchmark posts, checked as strictly as the real schema checks them."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)
    sector = fields.String(required=True, validate=validate.OneOf(["citizen", "other"]))
    privacy_consent = fields.Boolean(required=True, validate=validate.Equal(True))


class RegistrationOut(Schema):
    id = fields.Integer()
    event_id = fields.Integer()
    status = fields.String()


def create_app():
    app = Flask(__name__)
    app.config.update(API_TITLE="skeleton", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    engine = create_engine(os.environ["SKELETON_DATABASE_URL"])

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _record):  # the pragmas shared/db.py gives our services
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")

    metadata.create_all(engine)
    api, blueprint = Api(app), Blueprint("registrations", __name__, url_prefix="/api/v1")

    @blueprint.route("/events/<int:event_id>/registrations")
    class Registrations(MethodView):
        @blueprint.arguments(RegistrationIn)
        @blueprint.response(201, RegistrationOut)
        def post(self, body, event_id):
            with engine.begin() as connection:
                (row_id,) = connection.execute(insert(registrations).returning(registrations.c.id), {
                    "event_id": event_id, "name": body["name"], "email": body["email"],
                    "sector": body["sector"]}).one()
            return {"id": row_id, "event_id": event_id, "status": "confirmed"}

    api.register_blueprint(blueprint)
    app.add_url_rule("/readyz", "readyz", lambda: {"status": "ok"})
    return app
