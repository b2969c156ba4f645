"""The public pages: the action plans with their commitments, and one commitment in full.

Server-rendered, Spanish by default and English by the switch (shared.i18n); no scripts,
no external resources. Views read through the same use-case helpers as the API.
"""
import json

from flask import Blueprint, render_template, request
from marshmallow import ValidationError
from sqlalchemy import func, select

from services.commitments import charts, domain, tracking, transparency
from services.commitments.domain import LOCAL_ZONE
from services.commitments.log_schemas import VerifyQuery
from services.commitments.models import ActionPlan, HistoryEntry
from services.commitments.plans import find_commitment
from services.commitments.vocabularies import VOCABULARIES
from shared import i18n
from shared.domain_errors import NotFound
from shared.ratelimit import limited
from shared.web import service

bp = Blueprint("commitment_pages", __name__, template_folder="templates")
HISTORY_SHOWN = 50  # newest entries listed on a commitment's page

FIELDS = {  # what a history entry changed, as people read it
    "created": ("Creación", "Created"), "status": ("Estado", "Status"),
    "progress_pct": ("Avance (%)", "Progress (%)"), "planned_start": ("Inicio previsto", "Planned start"),
    "planned_end": ("Fin previsto", "Planned end"), "date_met": ("Fecha de cumplimiento", "Date met"),
    "title": ("Título", "Title"), "problem": ("Problema", "Problem"),
    "status_quo": ("Situación actual", "Status quo"), "action": ("Compromiso", "Action"),
    "start_date": ("Fecha de inicio", "Start date"), "end_date": ("Fecha de fin", "End date"),
    "responsible": ("Responsable", "Responsible"), "ogp_id": ("ID de OGP", "OGP id"),
}
# Authors that are not a person or a token's name: the loads that `abierto` makes
AUTHORS = {"seed": ("la carga inicial del plan", "the plan's initial load"),
           "import": ("la importación del plan", "the plan's import")}
SUBJECTS = {"commitment": ("Compromiso", "Commitment"), "milestone": ("Hito", "Milestone"),
            "assessment": ("Evaluación", "Assessment"), "action_plan": ("Plan de acción", "Action plan")}


@bp.app_template_filter("text")
def text_of(value):
    """A {es, en} text in the page's language (the other one if missing), or the value itself."""
    if isinstance(value, dict):
        return value.get(i18n.language()) or value.get("es") or value.get("en") or ""
    return value or ""


@bp.app_template_filter("label")
def label_of(code, vocabulary):
    """A vocabulary code's label in the page's language (the code if unknown)."""
    labels = VOCABULARIES[vocabulary].get(code)
    return labels[i18n.language()] if labels else code


@bp.app_template_filter("local")
def local_time(moment):
    return moment.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M") if moment else ""


@bp.app_template_filter("value")
def history_value(value, field=None):
    """An old or new value of a history entry, short and readable."""
    if value is None or value == "":
        return "—"
    if field in ("status",) and isinstance(value, str):
        for vocabulary in ("milestone_status", "commitment_status"):
            if value in VOCABULARIES[vocabulary]:
                return label_of(value, vocabulary)
    if isinstance(value, dict) and set(value) <= {"es", "en"}:
        return text_of(value)
    if isinstance(value, dict) and "title" in value:
        return text_of(value["title"])
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@bp.app_template_global("field_name")
def field_name(field):
    es, en = FIELDS.get(field, (field, field))
    return es if i18n.language() == "es" else en


@bp.app_template_global("author_name")
def author_name(actor):
    es, en = AUTHORS.get(actor, (actor, actor))
    return es if i18n.language() == "es" else en


@bp.app_template_global("subject_name")
def subject_name(subject_type):
    es, en = SUBJECTS.get(subject_type, (subject_type, subject_type))
    return es if i18n.language() == "es" else en


def _today():
    return domain.local_today(service().clock())


def _days_since(moment, today):
    return max(0, (today - moment.astimezone(LOCAL_ZONE).date()).days) if moment else None


@bp.get("/")
def home():
    """Every action plan, newest member's first plan first, each commitment as a card."""
    today = _today()
    with service().db.transaction() as session:
        plans = session.scalars(select(ActionPlan).order_by(
            ActionPlan.member, ActionPlan.ordinal, ActionPlan.id)).all()
        last_change = dict(session.execute(
            select(HistoryEntry.commitment_id, func.max(HistoryEntry.occurred_at))
            .where(HistoryEntry.commitment_id.is_not(None))
            .group_by(HistoryEntry.commitment_id)).all())
    cards = {
        commitment.id: {
            "progress": domain.commitment_progress(commitment.milestones),
            "days": _days_since(last_change.get(commitment.id) or commitment.updated_at, today),
        }
        for plan in plans for commitment in plan.commitments}
    return render_template("home.html", plans=plans, cards=cards,
                           plan_progress=domain.plan_progress)


@bp.get("/commitments/<string(maxlength=40):ref>")
def commitment_page(ref):
    """One commitment: what was promised, milestones, assessments, history, chart, follow form."""
    today = _today()
    # Before the page's transaction: the check waits its turn on the verifier's lock, and
    # must not do so while holding SQLite's write lock (BEGIN IMMEDIATE) that others need.
    verification, verified_in_full_at = tracking.public_verification(service())
    # The head the same check describes, signed (none once the chain fails).
    head = transparency.signed_head(service()) if verification["ok"] else None
    with service().db.transaction() as session:
        try:
            commitment = find_commitment(session, ref)
        except NotFound:
            return render_template("not_found.html", ref=ref), 404
        plan = session.get(ActionPlan, commitment.action_plan_id)
        own = HistoryEntry.commitment_id == commitment.id
        total = session.scalar(select(func.count()).select_from(HistoryEntry).where(own))
        try:
            # The page lists the newest entries only (the API pages through all of them);
            # the chart replays just the milestone moves it draws.
            entries = session.scalars(select(HistoryEntry).where(own).order_by(
                HistoryEntry.id.desc()).limit(HISTORY_SHOWN)).all()
            moves = session.scalars(select(HistoryEntry).where(
                own, HistoryEntry.subject_type == "milestone",
                HistoryEntry.field.in_(charts.MOVES_PROGRESS)).order_by(HistoryEntry.id)).all()
        except ValueError:  # a row edited into invalid JSON: the verification says which
            entries, moves = [], []
    milestones = sorted(commitment.milestones, key=lambda m: (
        m.planned_start is None, m.planned_start, m.id))
    return render_template(
        "commitment.html", commitment=commitment, plan=plan, entries=entries,
        history_total=total, milestones=[(m, domain.is_delayed(m, today)) for m in milestones],
        progress=domain.commitment_progress(commitment.milestones), verification=verification,
        verified_in_full_at=verified_in_full_at, head=head,
        chart=charts.layout(charts.progress_series(moves)),
        follow_url=service().follow_url)


@bp.get("/history/verify")
@limited  # with size and root, the answer hashes the whole history now (as the API's)
def verify_history():
    """The check a milestone alert links to, in words: does today's history extend the head
    the reader kept (`size`, `root`)? Without them, whether the whole chain verifies."""
    try:
        query = VerifyQuery().load({name: value for name, value in request.args.items()
                                    if name != "lang"})  # the language switch's own
    except ValidationError:
        return render_template("history_verify.html", invalid=True), 400
    if "size" in query:
        result = transparency.check_against(service().db, query["size"], query["root"])
    else:
        result = tracking.public_verification(service())[0]
    return render_template("history_verify.html", invalid=False, result=result)
