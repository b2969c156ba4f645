"""`abierto seed --demo`: an example action plan, every title marked "Ejemplo:" / "Example:",
so a newcomer sees progress, a delayed milestone, a history with justifications and an
assessment. Made through the API's own schemas and use cases, dated in the past so the
history and the chart have a course; added once. The real plan (seed.py) is not touched.
"""
from datetime import timedelta

from sqlalchemy import select

from services.commitments import plans, tracking
from services.commitments.models import ActionPlan, Commitment
from services.commitments.schemas import (ActionPlanSchema, AssessmentSchema, CommitmentSchema,
                                          MilestoneChangesSchema, MilestoneSchema)
from shared.db import utcnow

ACTOR = "Ejemplo: Enlace de Transparencia"
MEMBER = "Ejemplo: Municipio de demostración"


def _bilingual(es, en):
    return {"es": f"Ejemplo: {es}", "en": f"Example: {en}"}


def demo(settings, db, now=None):
    """Add the example plan unless it is there; return the summary of its first commitment
    (what the notifications demo follows and the registration demo reports on)."""
    now = now or utcnow()
    with db.transaction() as session:
        plan_id = session.scalar(select(ActionPlan.id).where(ActionPlan.member == MEMBER))
        if plan_id is not None:
            first = session.scalar(select(Commitment).where(
                Commitment.action_plan_id == plan_id).order_by(Commitment.number))
            return _summary(first, "(already there)")
    today = now.date()

    def day(offset):
        return (today + timedelta(days=offset)).isoformat()

    def at(offset):  # the moment `offset` days from now, for the history
        return now + timedelta(days=offset)

    plan = plans.create_plan(db, ActionPlanSchema().load({
        "member": MEMBER, "ordinal": 1,
        "title": _bilingual("Plan de acción de demostración", "demonstration action plan"),
        "period_start": day(-200), "period_end": day(200)}), ACTOR, at(-200))
    works = plans.create_commitment(db, CommitmentSchema().load({
        "action_plan_id": plan.id, "number": 1, "status": "in_progress",
        "title": _bilingual("Datos abiertos de la obra pública", "open data on public works"),
        "problem": _bilingual("Los vecinos no saben qué obras se hacen en su colonia.",
                              "residents do not know which works are under way nearby."),
        "action": _bilingual("Publicar cada obra, su costo y su avance en datos abiertos.",
                             "publish each work, its cost and progress as open data."),
        "start_date": day(-180), "end_date": day(180),
        "ogp_values": ["access_to_information", "civic_participation"]}), ACTOR, at(-190))
    budget = plans.create_commitment(db, CommitmentSchema().load({
        "action_plan_id": plan.id, "number": 2, "status": "not_started",
        "title": _bilingual("Presupuesto participativo", "participatory budget"),
        "start_date": day(30), "end_date": day(200)}), ACTOR, at(-190))

    def milestone(commitment, title, start, end, offset, status="scheduled", pct=0):
        return tracking.add_milestone(db, str(commitment.id), MilestoneSchema().load({
            "title": title, "planned_start": day(start), "planned_end": day(end),
            "status": status, "progress_pct": pct,
            "responsible": "Ejemplo: Dirección de Obras Públicas"}), ACTOR, at(offset))

    def move(target, offset, **changes):
        tracking.update_milestone(db, target.id, MilestoneChangesSchema().load(changes), ACTOR,
                                  at(offset), settings.public_base_url)

    inventory = milestone(works, _bilingual("Inventario de obras publicado",
                                            "inventory of works published"), -170, -90, -175)
    portal = milestone(works, _bilingual("Portal de consulta en línea", "online lookup portal"),
                       -80, 60, -85)
    talks = milestone(works, _bilingual("Mesas de diálogo con vecinos", "talks with residents"),
                      -120, -15, -125)
    milestone(budget, _bilingual("Reglas del presupuesto publicadas",
                                 "budget rules published"), 30, 90, -150)
    move(inventory, -150, status="in_progress", progress_pct=40,
         justification="Ejemplo: se reunió la información de 120 obras.")
    move(inventory, -95, status="met", progress_pct=100, date_met=day(-95),
         justification="Ejemplo: inventario publicado en el portal de datos abiertos.",
         evidence=[{"title": "Ejemplo: inventario", "url": "https://example.org/inventario.csv"}])
    move(talks, -100, status="in_progress", progress_pct=20,
         justification="Ejemplo: primera mesa, en la colonia Centro.")
    move(talks, -40, progress_pct=30)  # progress may move without a reason
    move(portal, -60, status="in_progress", progress_pct=20,
         justification="Ejemplo: comenzó el desarrollo del portal.")
    move(portal, -10, progress_pct=60)
    tracking.record_assessment(db, str(works.id), AssessmentSchema().load({
        "assessor": "Ejemplo: Grupo Impulsor de Gobierno Abierto", "kind": "self_assessment",
        "assessed_on": day(-30), "completion": "limited",
        "notes": _bilingual("avance sostenido; las mesas de diálogo van atrasadas.",
                            "steady progress; the talks with residents are behind.")}),
        ACTOR, at(-30), settings.public_base_url)
    return _summary(works, "(2 commitments, 4 milestones, 1 assessment)")


def _summary(commitment, done):
    said = f"demo action plan {commitment.action_plan_id} {done}"
    return said, {"commitment": {"id": commitment.id, "number": commitment.number,
                                 "ogp_id": commitment.ogp_id, "title": commitment.title,
                                 "status": commitment.status}}
