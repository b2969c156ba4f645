"""The seed: Chihuahua's first OGP action plan and its three commitments, added once.

The Spanish `action` texts are the municipality's words, verbatim; English is a translation.
What is not known (milestones, statuses, dates, other OGP ids and values) stays empty.
"""
from datetime import date

from sqlalchemy import select

from services.commitments.history import Log
from services.commitments.models import ActionPlan, Commitment
from services.commitments.plans import add_commitment, add_plan
from shared.db import utcnow

ACTOR = "seed"
MEMBER = "Chihuahua (Municipality), Mexico"  # OGP Local, member since May 2022
PLAN = dict(
    member=MEMBER,
    ordinal=1,
    title={"es": "Primer Plan de Acción de Gobierno Abierto del Municipio de Chihuahua",
           "en": "First Open Government Action Plan of the Municipality of Chihuahua"},
    submitted_on=date(2023, 10, 11),
    period_start=date(2023, 10, 1),
    period_end=date(2024, 5, 31),
)
COMMITMENTS = [
    dict(number=1,
         title={"es": "Difusión y participación social para la prevención de la violencia",
                "en": "Dissemination and social participation for violence prevention"},
         action={"es": "Instrumentar un proyecto de difusión y participación social que incremente "
                       "el conocimiento, en la población, de los programas para la prevención de la "
                       "violencia en el Municipio de Chihuahua.",
                 "en": "Carry out a dissemination and social-participation project that increases "
                       "the population's knowledge of the violence-prevention programmes in the "
                       "Municipality of Chihuahua."}),
    dict(number=2,
         title={"es": "Herramientas digitales de diálogo y participación ciudadana para emprender",
                "en": "Digital tools for dialogue and citizen participation on entrepreneurship"},
         action={"es": "Unificar y fortalecer las herramientas digitales para fomentar espacios de "
                       "diálogo y participación ciudadana en temas de emprendimientos y construir un "
                       "sistema de información que dé a conocer los requisitos para la creación de "
                       "negocios así como dar acompañamiento en el proceso hasta su conclusión.",
                 "en": "Unify and strengthen the digital tools that foster spaces for dialogue and "
                       "citizen participation on entrepreneurship, and build an information system "
                       "that makes known the requirements for creating a business, as well as "
                       "accompanying the process until it is complete."}),
    dict(number=3, ogp_id="MXCHH0003",
         ogp_values=["access_to_information", "civic_participation"],
         title={"es": "Grupo de trabajo ciudadano para el desarrollo rural",
                "en": "Citizen working group for rural development"},
         action={"es": "Instalar un grupo de trabajo multidisciplinario, preponderantemente "
                       "ciudadano, con perspectiva de género y con facultades para colaborar, "
                       "promover, conocer, revisar, evaluar, emitir opiniones y recomendaciones en "
                       "la planeación y seguimiento del desarrollo rural del municipio de Chihuahua.",
                 "en": "Set up a multidisciplinary, mainly citizen working group, with a gender "
                       "perspective and with powers to collaborate, promote, learn about, review, "
                       "evaluate, and issue opinions and recommendations on the planning and "
                       "follow-up of the rural development of the municipality of Chihuahua."}),
]
_UNKNOWN = dict(ogp_id=None, problem=None, status_quo=None, start_date=None, end_date=None,
                ogp_values=[], challenge_areas=[], institutions=[], status=None)


def seed(db, now=None):
    """Add the plan and each of its commitments unless already there; return the plan's id."""
    with db.transaction() as session:
        log = Log(session, ACTOR, now or utcnow())
        plan = session.scalar(select(ActionPlan).where(ActionPlan.member == MEMBER,
                                                       ActionPlan.ordinal == PLAN["ordinal"]))
        plan = plan or add_plan(session, log, dict(PLAN))
        have = set(session.scalars(select(Commitment.number).where(
            Commitment.action_plan_id == plan.id)))
        for commitment in COMMITMENTS:
            if commitment["number"] not in have:
                add_commitment(session, log, {**_UNKNOWN, **commitment, "action_plan_id": plan.id})
        return plan.id
