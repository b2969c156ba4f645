"""What a follower and an attendee see in the newer emails: the opt-in, the milestone alert
(RFC 8058 headers, labels, escaping, evidence) and the related-commitments block. Pure."""
import copy
import email
import email.policy

import pytest

from services.notifications.mail import compose, kinds, labels
from services.notifications.mail.kind import ATTENDEE
from services.notifications.pipeline import tasks
from shared.commitments_client import CommitmentsUnavailable, UnknownCommitment
from tests.unit.test_emails import fact as registration_fact

MAIL_FROM = "Gobierno Abierto Chihuahua <abierto@chihuahua.example>"
UNSUBSCRIBE_URL = "https://abierto.example/subscriptions/unsubscribe/MTI.ZkXyQw.sig-nature_1"
CONFIRM_URL = "https://abierto.example/subscriptions/confirm/MTI.ZkXyQw.sig-nature_2"
HISTORY_URL = "https://abierto.example/api/v1/commitments/3/history"
PAGE_URL = "https://abierto.example/commitments/3"
MARKERS = {"es": "Hola:", "en": "Hello,"}
COMMITMENT = {
    "id": 3, "ogp_id": "MXCHH0003", "number": 3,
    "title": {"es": "Grupo de trabajo de desarrollo rural", "en": "Rural development working group"},
    "status": "in_progress", "progress_pct": 40,
    "url": "https://abierto.example/api/v1/commitments/3", "history_url": HISTORY_URL,
    "page_url": PAGE_URL, "history_page_url": PAGE_URL + "#s-history",
}


def alert(language="es", **changes):
    """The delivery context of a milestone alert: the event's data plus the subscription."""
    data = {
        "commitment": copy.deepcopy(COMMITMENT),
        "milestone": {"id": 9, "title": {"es": "Instalar el grupo de trabajo",
                                         "en": "Set up the working group"}},
        "before": {"status": "scheduled", "progress_pct": 0, "planned_end": "2024-06-30",
                   "date_met": None},
        "after": {"status": "partiallyMet", "progress_pct": 50, "planned_end": "2024-06-30",
                  "date_met": None},
        "justification": "Se celebró la primera sesión.",
        "evidence": [{"title": "Acta de instalación", "url": "https://chihuahua.example/acta.pdf"}],
        "minor": False,
        "actor": "coordinacion",
        "subscription": {"id": 12, "email": "ana@example.org", "language": language,
                         "unsubscribe_url": UNSUBSCRIBE_URL},
    }
    data.update(changes)
    return data


def optin(language="es"):
    """The delivery context of an opt-in request."""
    return {
        "subscription": {"id": 12, "email": "ana@example.org", "language": language,
                         "topic": "commitment:3", "confirm_url": CONFIRM_URL},
        "commitment": {key: COMMITMENT[key] for key in ("id", "number", "ogp_id", "title")},
    }


CONTEXTS = {"milestone_alert": alert, "subscription_optin": optin}


def received(kind, data, **kwargs):
    """Build, serialise and parse back, as a mail client would."""
    message = compose.build(kind, data, mail_from=MAIL_FROM, message_id="<7.abc@chihuahua.example>",
                           **kwargs)
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


def bodies(message):
    return (message.get_body(preferencelist=("plain",)).get_content(),
            message.get_body(preferencelist=("html",)).get_content())


# --- headers --------------------------------------------------------------------------------

def test_an_alert_offers_one_click_unsubscribe_rfc_8058():
    """List-Unsubscribe holds the signed URL in angle brackets; the POST body is the RFC's."""
    message = received("milestone_alert", alert())
    # A long URL is folded onto its own line (RFC 5322); unfolded, it is the URL in brackets.
    assert message["List-Unsubscribe"].strip() == f"<{UNSUBSCRIBE_URL}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "Compromiso 3 / Commitment 3 <commitment-3.chihuahua.example>"


def test_the_opt_in_is_not_list_mail():
    """The opt-in asks a question; it carries no list headers (there is nothing to leave yet)."""
    message = received("subscription_optin", optin())
    for header in ("List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"):
        assert message[header] is None


@pytest.mark.parametrize("kind", sorted(CONTEXTS))
def test_follower_emails_go_to_the_bare_address(kind):
    """The follower's name is not known: To is the address alone; the usual headers are set."""
    message = received(kind, CONTEXTS[kind]())
    (address,) = message["To"].addresses
    assert (address.display_name, address.addr_spec) == ("", "ana@example.org")
    assert message["From"] == MAIL_FROM
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] == "<7.abc@chihuahua.example>"
    assert message.get_content_type() == "multipart/mixed"
    assert list(message.iter_attachments()) == []


def test_subjects_name_the_commitment_in_the_followers_language_first():
    assert received("milestone_alert", alert())["Subject"] == (
        "Cambio en el compromiso 3: Grupo de trabajo de desarrollo rural / Update on commitment 3")
    assert received("subscription_optin", optin("en"))["Subject"] == (
        "Confirm you want to follow commitment 3: Rural development working group"
        " / Confirma que quieres seguir el compromiso 3")


def test_a_line_break_in_a_title_cannot_reach_the_headers():
    data = alert()
    data["commitment"]["title"]["es"] = "Compromiso\r\nBcc: intruso@example.org"
    message = received("milestone_alert", data)
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"]


# --- languages ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(CONTEXTS))
@pytest.mark.parametrize("language, other", [("es", "en"), ("en", "es")])
def test_both_languages_with_the_followers_first(kind, language, other):
    text, html = bodies(received(kind, CONTEXTS[kind](language)))
    assert text.index(MARKERS[language]) < text.index(MARKERS[other])
    assert html.index(f'<div lang="{language}">') < html.index(f'<div lang="{other}">')
    assert f'<html lang="{language}">' in html


# --- the alert ------------------------------------------------------------------------------

def test_the_alert_says_which_commitment_and_milestone_in_each_language():
    text, html = bodies(received("milestone_alert", alert()))
    for part in (text, html):
        assert "compromiso 3 (MXCHH0003)" in part and "commitment 3 (MXCHH0003)" in part
        assert "Grupo de trabajo de desarrollo rural" in part
        assert "Rural development working group" in part
        assert "Instalar el grupo de trabajo" in part and "Set up the working group" in part


def test_the_alert_shows_old_and_new_status_and_progress_in_words():
    text, _ = bodies(received("milestone_alert", alert()))
    assert "Estado: Programado → Cumplido parcialmente" in text
    assert "Status: Scheduled → Partially met" in text
    assert "Avance: 0% → 50%" in text and "Progress: 0% → 50%" in text


@pytest.mark.parametrize("code, spanish, english", [
    ("scheduled", "Programado", "Scheduled"),
    ("met", "Cumplido", "Met"),
    ("notMet", "No cumplido", "Not met"),
    ("partiallyMet", "Cumplido parcialmente", "Partially met"),
    ("not_started", "Sin iniciar", "Not started"),
    ("in_progress", "En proceso", "In progress"),
    ("cancelled", "Cancelado", "Cancelled"),
])
def test_every_milestone_status_has_a_label_in_each_language(code, spanish, english):
    data = alert()
    data["after"]["status"] = code
    text, html = bodies(received("milestone_alert", data))
    assert f"Estado: Programado → {spanish}\n" in text
    assert f"Status: Scheduled → {english}\n" in text
    assert f"Programado → <strong>{spanish}</strong>" in html
    assert f"Scheduled → <strong>{english}</strong>" in html
    if code not in ("scheduled", "met", "cancelled"):  # codes that are not also words
        assert code not in text and code not in html


def test_an_unknown_status_is_shown_as_its_code_and_no_progress_as_not_reported():
    assert labels.status("paused", "es") == "paused"
    data = alert()
    data["before"]["progress_pct"] = None
    text, _ = bodies(received("milestone_alert", data))
    assert "Avance: sin dato → 50%" in text and "Progress: not reported → 50%" in text


def test_dates_appear_only_when_they_changed():
    text, _ = bodies(received("milestone_alert", alert()))
    assert "Fecha prevista" not in text and "Planned end" not in text
    data = alert()
    data["after"].update(planned_end="2024-09-30", date_met="2024-09-15")
    text, html = bodies(received("milestone_alert", data))
    assert "Fecha prevista de término: 30 de junio de 2024 → 30 de septiembre de 2024" in text
    assert "Planned end date: June 30, 2024 → September 30, 2024" in text
    assert "Fecha de cumplimiento: sin fecha → 15 de septiembre de 2024" in text
    assert "Date met: no date → September 15, 2024" in text
    assert "30 de septiembre de 2024" in html


def test_the_justification_is_escaped_in_html_and_kept_in_text():
    data = alert(justification='Avance <script>alert("x")</script> & "más"\nSegunda línea')
    text, html = bodies(received("milestone_alert", data))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;más&#34;" in html
    assert 'Avance <script>alert("x")</script> & "más"\nSegunda línea' in text


def test_no_justification_means_no_heading():
    text, html = bodies(received("milestone_alert", alert(justification=None)))
    assert "Justificación" not in text and "Justification" not in html


def test_evidence_is_linked_and_only_web_addresses_become_links():
    data = alert(evidence=[
        {"title": "Acta de instalación", "url": "https://chihuahua.example/acta.pdf"},
        {"title": "Fotos", "url": "http://chihuahua.example/fotos"},
        {"title": "Truco", "url": "javascript:alert(1)"},
    ])
    text, html = bodies(received("milestone_alert", data))
    assert html.count('href="https://chihuahua.example/acta.pdf"') == 2  # one per language
    assert html.count('href="http://chihuahua.example/fotos"') == 2
    assert 'href="javascript' not in html and "Truco (javascript:alert(1))" in html
    assert "- Acta de instalación: https://chihuahua.example/acta.pdf" in text
    assert "Evidencia:" in text and "Evidence:" in text


def test_no_evidence_means_no_heading():
    text, _ = bodies(received("milestone_alert", alert(evidence=[])))
    assert "Evidencia" not in text and "Evidence" not in text


def test_the_alert_links_to_the_history_and_to_unsubscribe_in_both_languages():
    """The history on the commitment's page (not the API's JSON), each section in its language."""
    text, html = bodies(received("milestone_alert", alert()))
    assert f"Historial de cambios del compromiso: {PAGE_URL}?lang=es#s-history" in text
    assert f"History of the commitment's changes: {PAGE_URL}?lang=en#s-history" in text
    assert f"Para dejar de seguirlo: {UNSUBSCRIBE_URL}?lang=es" in text
    assert f"To stop following it: {UNSUBSCRIBE_URL}?lang=en" in text
    for language in ("es", "en"):
        assert html.count(f'href="{PAGE_URL}?lang={language}#s-history"') == 1
        assert html.count(f'href="{UNSUBSCRIBE_URL}?lang={language}"') == 1
    assert HISTORY_URL not in text and HISTORY_URL not in html


def test_an_alert_from_before_facts_carried_the_page_links_the_page_all_the_same():
    data = alert()
    for name in ("page_url", "history_page_url"):
        del data["commitment"][name]
    text, html = bodies(received("milestone_alert", data))
    assert f"{PAGE_URL}?lang=es#s-history" in text and "/api/v1/" not in html


def test_followers_of_one_change_each_get_their_own_link_and_language():
    """The alert is rendered once per change and language; each email still has its own link."""
    links = {name: f"https://abierto.example/subscriptions/unsubscribe/{name}.sig&x=1"
             for name in ("ana", "bruno", "carla")}
    languages = {"ana": "es", "bruno": "en", "carla": "es"}
    seen = {}
    for name, link in links.items():
        data = alert(languages[name])
        data["subscription"] = {**data["subscription"], "email": f"{name}@example.org",
                                "unsubscribe_url": link}
        message = received("milestone_alert", data)
        text, html = bodies(message)
        others = [other for other in links.values() if other != link]
        assert text.count(link) == 2 and html.count(f'href="{link.replace("&", "&amp;")}?lang=') == 2
        assert not any(other in text or other in html for other in others)
        assert message["List-Unsubscribe"] == f"<{link}>"
        seen[name] = message["Subject"]
    assert seen["ana"] == seen["carla"] != seen["bruno"]  # Spanish first, English first


# --- the opt-in -----------------------------------------------------------------------------

def test_the_opt_in_has_the_confirm_link_and_says_nothing_comes_without_it():
    text, html = bodies(received("subscription_optin", optin()))
    assert text.count(CONFIRM_URL) == 2
    assert html.count(f'href="{CONFIRM_URL}?lang=es"') == html.count(f'href="{CONFIRM_URL}?lang=en"') == 1
    assert "no te enviaremos nada sin tu confirmación" in text
    assert "nothing will be sent to you without your confirmation" in text
    assert "vence en 7 días" in text and "expires in 7 days" in text
    assert "cambie de estado, de avance o de fechas" in text  # what following means
    assert "compromiso 3 (MXCHH0003)" in text and "Rural development working group" in text
    assert UNSUBSCRIBE_URL not in text


def test_building_leaves_the_context_untouched():
    data = alert()
    snapshot = copy.deepcopy(data)
    compose.build("milestone_alert", data, mail_from=MAIL_FROM, message_id="<1@x>")
    assert data == snapshot


# --- related commitments in registration emails ---------------------------------------------

RELATED = [
    {"number": 1, "ogp_id": "MXCHH0001", "title": {"es": "Prevención de la violencia",
                                                    "en": "Violence prevention"},
     "status": "in_progress", "progress_pct": 40},
    {"number": 2, "ogp_id": None, "title": {"es": "Emprendimiento", "en": "Entrepreneurship"},
     "status": None, "progress_pct": None},
]


@pytest.mark.parametrize("kind", ["registration_confirmed", "registration_promoted"])
def test_the_related_commitments_block_shows_status_and_progress(kind):
    text, html = bodies(received(kind, registration_fact(), commitments=RELATED))
    assert "Compromisos relacionados:" in text and "Related commitments:" in text
    assert "- Compromiso 1 (MXCHH0001): Prevención de la violencia" in text
    assert "  Estado: En proceso. Avance: 40%." in text
    assert "- Commitment 1 (MXCHH0001): Violence prevention" in text
    assert "  Status: In progress. Progress: 40%." in text
    assert "- Compromiso 2: Emprendimiento" in text
    assert "  Estado: sin dato. Avance: sin dato." in text
    assert html.count("Compromisos relacionados</h2>") == 1
    assert html.count("Related commitments</h2>") == 1


@pytest.mark.parametrize("kind", [name for name, kind in sorted(kinds.REGISTRY.items())
                                  if kind.audience == ATTENDEE])
def test_without_commitments_there_is_no_block(kind):
    for part in bodies(received(kind, registration_fact(kind=kind))):
        assert "Compromisos relacionados" not in part and "Related commitments" not in part


@pytest.mark.parametrize("kind", ["registration_waitlisted", "registration_cancelled"])
def test_only_emails_with_a_seat_show_the_block(kind):
    for part in bodies(received(kind, registration_fact(), commitments=RELATED)):
        assert "Compromisos relacionados" not in part


def test_the_block_escapes_what_another_service_sent():
    related = [dict(RELATED[0], title={"es": "<b>x</b>", "en": "<b>y</b>"})]
    _, html = bodies(received("registration_confirmed", registration_fact(), commitments=related))
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


class Commitments:
    """A recording stand-in for the commitments client (its HTTP side has an integration test)."""

    def __init__(self, failure=None):
        self.failure, self.asked = failure, []

    def get(self, commitment_id):
        self.asked.append(commitment_id)
        if self.failure:
            raise self.failure
        return {"number": commitment_id, "ogp_id": None, "title": {"es": "t", "en": "t"},
                "status": "in_progress", "progress_pct": 10}


class Delivery:
    def __init__(self, kind, related):
        data = registration_fact()
        data["event"]["related_commitments"] = related
        self.id, self.kind, self.context = 5, kind, data


def test_the_task_fetches_the_related_commitments_for_emails_with_a_seat():
    client = Commitments()
    found = tasks.related_commitments(Delivery("registration_confirmed", [1, 2]), client)
    assert [item["number"] for item in found] == [1, 2] and client.asked == [1, 2]
    client = Commitments()
    assert tasks.related_commitments(Delivery("registration_waitlisted", [1]), client) == []
    assert client.asked == []


@pytest.mark.parametrize("failure", [CommitmentsUnavailable("ConnectTimeout"),
                                     UnknownCommitment("There is no commitment 2.")])
def test_any_failure_sends_the_email_without_the_block_after_one_try(failure, caplog):
    client = Commitments(failure)
    assert tasks.related_commitments(Delivery("registration_promoted", [1, 2, 3]), client) == []
    assert client.asked == [1]  # the first failure stops the lookups: one timeout at most
    (record,) = [r for r in caplog.records if r.name == "services.notifications.pipeline.tasks"]
    assert record.levelname == "WARNING" and "ana@example.org" not in record.getMessage()


HEAD = {"size": 42, "root_hash": "ab" * 32,
        "verify_url": "http://abierto.test/api/v1/history/verify?size=42&root=" + "ab" * 32,
        "verify_page_url": "http://abierto.test/history/verify?size=42&root=" + "ab" * 32}


def test_the_alert_hands_each_follower_the_history_head_to_keep():
    """With the page that checks it later, in the reader's language (not the API's JSON)."""
    text, html = bodies(received("milestone_alert", alert(history_head=HEAD)))
    for part in (text, html):
        assert "42 entradas" in part and "42 entries" in part
        assert HEAD["root_hash"] in part
        assert (HEAD["verify_page_url"] + "&lang=es").replace("&", "&amp;") in (
            part if part is html else part.replace("&", "&amp;"))
        assert HEAD["verify_url"] not in part.replace("&amp;", "&")
    assert "Guarda este dato" in text and "Keep this" in text


def test_an_alert_from_before_the_log_had_heads_still_goes_out_without_one():
    text, _ = bodies(received("milestone_alert", alert()))
    assert "Guarda este dato" not in text and "Estado: Programado" in text
