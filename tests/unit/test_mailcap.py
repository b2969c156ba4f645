"""The mail cap's rules, pure: which spellings are one mailbox, and when a window is full."""
from datetime import datetime, timedelta, timezone

import pytest

from services.notifications.mail import kinds
from services.notifications.pipeline import mailcap

NOW = datetime(2031, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("address", [
    "ana@gmail.com", "Ana+1@gmail.com", "a.na@GMAIL.com", "ana+x@googlemail.com",
    " A.N.A+tag+more@GoogleMail.com ",
])
def test_every_spelling_of_a_gmail_address_is_one_mailbox(address):
    assert mailcap.mailbox_key(address) == "ana@gmail.com"


@pytest.mark.parametrize("address, mailbox", [
    ("Ana.Lopez+news@Example.org", "ana.lopez@example.org"),  # dots matter outside Gmail
    ("ana.lopez@example.org", "ana.lopez@example.org"),
    ("ana@gmail.com.mx", "ana@gmail.com.mx"),  # not Gmail: dots and domain kept
    ("a.na@gmail.com.mx", "a.na@gmail.com.mx"),
])
def test_elsewhere_only_case_and_the_tag_are_dropped(address, mailbox):
    assert mailcap.mailbox_key(address) == mailbox


def test_the_setting_becomes_windows_named_as_written():
    assert mailcap.parse("5/hour;20/day") == (mailcap.Window(5, 3600, "5/hour"),
                                              mailcap.Window(20, 86400, "20/day"))
    assert mailcap.parse("10 per 2 hours")[0].label == "10/2 hours"
    assert mailcap.longest(mailcap.parse("5/hour;20/day")) == 86400


def test_a_window_is_reached_by_what_falls_inside_it():
    cap = mailcap.parse("2/hour;3/day")
    assert mailcap.reached(cap, [NOW - timedelta(minutes=5)], NOW) is None
    assert mailcap.reached(cap, [NOW - timedelta(minutes=5)] * 2, NOW).label == "2/hour"
    two_hours_ago = NOW - timedelta(hours=2)
    assert mailcap.reached(cap, [two_hours_ago] * 2, NOW) is None  # out of the hour
    assert mailcap.reached(cap, [two_hours_ago] * 3, NOW).label == "3/day"
    assert mailcap.reached(cap, [NOW - timedelta(hours=25)] * 3, NOW) is None


def test_the_six_emails_an_anonymous_request_can_cause_are_capped():
    assert kinds.anonymous() == {
        "registration_confirmed", "registration_waitlisted", "subscription_optin",
        "registration_repeat", "registration_pending", "my_data_link"}
