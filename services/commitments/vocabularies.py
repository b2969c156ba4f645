"""OGP's vocabularies: the codes we store, with the labels people read (OGP's English verbatim)."""

from shared.statuses import COMMITMENT_STATUS, MILESTONE_STATUS, vocabulary


VOCABULARIES = {
    "ogp_values": vocabulary(
        ("access_to_information", "Access to information", "Acceso a la información"),
        ("civic_participation", "Civic Participation", "Participación cívica"),
        ("public_accountability", "Public Accountability", "Rendición de cuentas"),
        ("technology_and_innovation",
         "Technology and Innovation for Transparency and Accountability",
         "Tecnología e innovación para la transparencia y la rendición de cuentas"),
    ),
    "challenge_areas": vocabulary(  # the Open Gov Challenge's ten areas
        ("access_to_information", "Access to Information", "Acceso a la información"),
        ("anti_corruption", "Anti-Corruption", "Anticorrupción"),
        ("civic_space", "Civic Space", "Espacio cívico"),
        ("climate_and_environment", "Climate and Environment", "Clima y medio ambiente"),
        ("digital_governance", "Digital Governance", "Gobernanza digital"),
        ("fiscal_openness", "Fiscal Openness", "Apertura fiscal"),
        ("gender_and_inclusion", "Gender and Inclusion", "Género e inclusión"),
        ("justice", "Justice", "Justicia"),
        ("media_freedom", "Media Freedom", "Libertad de prensa"),
        ("public_participation", "Public Participation", "Participación pública"),
    ),
    # Statuses are shared with notifications, which words them in its emails.
    "commitment_status": COMMITMENT_STATUS,
    "milestone_status": MILESTONE_STATUS,
    "completion": vocabulary(
        ("no_evidence_available", "No Evidence Available", "Sin evidencia disponible"),
        ("not_started", "Not Started", "No iniciado"),
        ("limited", "Limited", "Limitado"),
        ("substantial", "Substantial", "Sustancial"),
        ("complete", "Complete", "Completo"),
    ),
    "did_it_open_government": vocabulary(
        ("worsened", "Worsened", "Empeoró"),
        ("did_not_change", "Did Not Change", "No cambió"),
        ("marginal", "Marginal", "Marginal"),
        ("major", "Major", "Importante"),
        ("outstanding", "Outstanding", "Sobresaliente"),
        ("not_applicable", "Not Applicable", "No aplica"),
    ),
    "verifiable": vocabulary(
        ("verifiable", "Verifiable", "Verificable"),
        ("not_verifiable", "Not Verifiable", "No verificable"),
    ),
    "potential_for_results": vocabulary(
        ("unclear", "Unclear", "Incierto"),
        ("modest", "Modest", "Modesto"),
        ("substantial", "Substantial", "Sustancial"),
    ),
    "institution_roles": vocabulary(
        ("lead", "Lead institution", "Institución responsable"),
        ("supporting", "Supporting institution", "Institución de apoyo"),
        ("implementer", "Implementer", "Institución implementadora"),
        ("monitoring_body", "Monitoring body", "Órgano de seguimiento"),
        ("working_group", "Working group", "Grupo de trabajo"),
    ),
    "assessment_kinds": vocabulary(
        ("irm", "IRM assessment", "Evaluación del IRM"),
        ("ogp_local_inception", "OGP Local Inception Assessment",
         "Evaluación inicial de OGP Local"),
        ("end_of_commitment", "End of Commitment Assessment",
         "Evaluación de fin del compromiso"),
        ("self_assessment", "Self-assessment", "Autoevaluación"),
        ("monitoring_body", "Monitoring body assessment", "Evaluación del órgano de seguimiento"),
    ),
}

# Spellings OGP's own pages and reports use besides its labels (accepted on input).
ALIASES = {"completion": {"completed": "complete"}}


def codes(vocabulary):
    """The codes of one vocabulary, in OGP's order."""
    return tuple(VOCABULARIES[vocabulary])


def normalise(vocabulary, value):
    """The code for OGP's label or a known alias ("Completed" -> "complete"); others unchanged."""
    if not isinstance(value, str) or value in VOCABULARIES[vocabulary]:
        return value
    spelling = value.strip().lower()
    by_label = {labels["en"].lower(): code for code, labels in VOCABULARIES[vocabulary].items()}
    return ALIASES.get(vocabulary, {}).get(spelling) or by_label.get(spelling, value)
