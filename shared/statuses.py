"""The words for commitment and milestone statuses, in each language.

Commitments sets these statuses and notifications emails about them (the codes travel in
`milestone.changed`); services do not import each other, so the one vocabulary lives here.
"""


def vocabulary(*entries):
    """{code: {"en": label, "es": label}} from (code, English, Spanish) rows, in their order."""
    return {code: {"en": en, "es": es} for code, en, es in entries}


COMMITMENT_STATUS = vocabulary(  # the municipality's own, not OGP's completion
    ("not_started", "Not started", "Sin iniciar"),
    ("in_progress", "In progress", "En proceso"),
    ("completed", "Completed", "Concluido"),
    ("cancelled", "Cancelled", "Cancelado"),
)
MILESTONE_STATUS = vocabulary(  # OCDS's four, then the citizens' words
    ("scheduled", "Scheduled", "Programado"),
    ("met", "Met", "Cumplido"),
    ("notMet", "Not met", "No cumplido"),
    ("partiallyMet", "Partially met", "Cumplido parcialmente"),
    ("not_started", "Not started", "Sin iniciar"),
    ("in_progress", "In progress", "En proceso"),
    ("cancelled", "Cancelled", "Cancelado"),
)
