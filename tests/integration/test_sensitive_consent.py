"""Accessibility needs can tell of health, sensitive data: they ask their own explicit consent
(API field and form checkbox), only a `registrations:read` token shows them, and the privacy
notice states how long everything is kept, from the settings."""
import re

import pytest

from services.registration import privacy
from tests.integration.problems import assert_problem

NEEDS = "Intérprete de LSM"


def test_needs_without_their_consent_are_refused_and_nothing_is_written(
        registration_app, make_event, register_anonymously, nothing_written):
    event = make_event()
    with nothing_written():
        response = register_anonymously(event["id"], accessibility_needs=NEEDS)
    body = assert_problem(response, 422, "accessibility_consent")
    assert "sensitive" in body["errors"]["accessibility_consent"][0]


def test_needs_with_their_consent_are_kept_and_shown_only_with_registrations_read(
        registration_app, make_event, register_anonymously, organiser_headers, kiosk_headers):
    client, db, _ = registration_app
    event = make_event()
    assert register_anonymously(event["id"], accessibility_needs=NEEDS,
                                accessibility_consent=True).status_code == 202
    assert register_anonymously(event["id"], 2).status_code == 202  # no needs: no consent asked

    listed = client.get(f"/api/v1/events/{event['id']}/registrations", headers=organiser_headers)
    assert [item["accessibility_needs"] for item in listed.get_json()["items"]] == [NEEDS, None]
    assert client.get(f"/api/v1/events/{event['id']}/registrations",
                      headers=kiosk_headers).status_code == 403
    assert NEEDS not in client.get(f"/api/v1/events/{event['id']}").get_data(as_text=True)
    (mine,) = privacy.export(db, "persona1@example.org")
    assert mine["accessibility_needs"] == NEEDS and mine["accessibility_consent_at"]
    assert privacy.export(db, "persona2@example.org")[0]["accessibility_consent_at"] is None


def test_the_form_asks_for_the_consent_and_says_why_when_it_is_missing(
        registration_app, make_event, row_counts):
    client, db, _ = registration_app
    event = make_event()
    page = client.get(f"/events/{event['id']}").get_data(as_text=True)
    assert 'name="accessibility_consent"' in page and "consentimiento expreso" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    before = row_counts(db)

    response = client.post(f"/events/{event['id']}", data={
        "csrf_token": token, "name": "Ana López", "email": "ana@example.org", "sector": "citizen",
        "language": "es", "accessibility_needs": NEEDS, "privacy_consent": "yes"})

    page = response.get_data(as_text=True)
    assert response.status_code == 422 and row_counts(db) == before
    assert 'id="accessibility_consent-error">Para guardar tus necesidades de accesibilidad' in page


@pytest.mark.parametrize("lang, says", [
    ("es", ["hasta 180 días después de que termina el evento", "se borran a los 7 días",
            "30 días después de enviarlo", "consentimiento expreso"]),
    ("en", ["until 180 days after the event ends", "deleted after 7 days",
            "30 days after it was sent", "express consent"]),
])
def test_the_privacy_notice_states_the_periods_of_the_settings(registration_app, lang, says):
    page = registration_app[0].get(f"/privacy?lang={lang}").get_data(as_text=True)
    assert all(words in page for words in says) and "[PLAZO" not in page
