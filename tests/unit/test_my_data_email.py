"""The "Mis datos" email and footer, and the ARCO deadline in business days. Pure."""
from datetime import date, datetime, timezone

from services.notifications.mail import kinds
from services.registration import arco_log
from tests.unit.test_alert_emails import alert, received

URL = "https://registro.example/my-data/MTI.ZkXyQw.sig-nature_3"
FOOTER = "https://registro.example/my-data"


def link_email(language="es"):
    data = {"requester": {"email": "ana@example.org", "language": language, "url": URL,
                          "valid_hours": 24}}
    return received("my_data_link", data, my_data_url=FOOTER)


def test_the_link_email_carries_the_link_in_the_persons_language_first():
    message = link_email("en")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert message["Subject"] == ("Your link to see your data: My data / "
                                  "Tu enlace para consultar tus datos")
    assert message["To"] == "ana@example.org"
    assert text.index("Hello,") < text.index("Hola:")
    assert f"{URL}?lang=en" in text and f'href="{URL}?lang=en"' in html
    assert f'href="{URL}?lang=es"' in html and "expires in 24 hours" in text


def test_every_email_footer_links_to_my_data():
    for message in (link_email(), received("milestone_alert", alert(), my_data_url=FOOTER)):
        assert f"{FOOTER}?lang=es" in message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert f'href="{FOOTER}?lang=es" style="color:#0b5394;" lang="es">Mis datos' in html
        assert f'href="{FOOTER}?lang=en" style="color:#0b5394;" lang="en">My data' in html


def test_the_link_email_goes_even_after_opposition_and_counts_towards_the_cap():
    kind = kinds.get("my_data_link")
    assert kind.essential and kind.anonymous
    assert kinds.get("registration_confirmed").essential
    assert not kinds.get("milestone_alert").essential
    assert not kinds.get("subscription_optin").essential


def test_the_deadline_counts_business_days_only():
    friday = datetime(2031, 5, 30, 18, 0, tzinfo=timezone.utc)
    assert arco_log.deadline(friday, 1) == date(2031, 6, 2)  # Monday
    monday = datetime(2031, 6, 2, 9, 0, tzinfo=timezone.utc)
    assert arco_log.deadline(monday, 20) == date(2031, 6, 30)  # four whole weeks
