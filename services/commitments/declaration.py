"""The commitments service, as `abierto` and shared/ find it (entry point `abierto.services`)."""
from pathlib import Path

from services.commitments import commands, models, published
from shared.services import ServiceDeclaration


def _seed(db):
    from services.commitments.seed import seed

    return f"seed action plan {seed(db)}"


def _demo(settings, db, _earlier):
    from services.commitments.demo import demo

    return demo(settings, db)


SERVICE = ServiceDeclaration(
    name="commitments",
    port=5002,
    app="services.commitments.app:create_app",
    models=models,
    migrations=Path(__file__).with_name("migrations"),
    scopes={"commitments:write": "change action plans, commitments and milestones"},
    seed=_seed,
    demo=_demo,
    commands=(commands.history, commands.plan),
    events=published.EVENTS,
)
