"""After registering: the event moves or is called off, the day comes, the door opens. What
each attendee receives and what the door staff see, through the real processes."""
import base64
import html
import random
import re
import signal
import time
from datetime import datetime, timedelta, timezone

import requests

from shared.devstack import wait_until
from tests.e2e.browser import screenshot
from tests.e2e.harness import (CHANGE_COALESCE, deliveries, invite, link, register, text,
                               unique_addresses)
from tests.e2e.qr import read_qr

QUIET = CHANGE_COALESCE + 4  # past a change's window, with time for its email to arrive
SETTLE = 2  # time enough for a second email sent at once to show up, if one were coming


def received(smtp, addresses, n, timeout=30):
    """Wait until each address has `n` messages; return each one's `n`th."""
    wait_until(lambda: all(len(smtp.inbox.to(a)) >= n for a in addresses), timeout,
               interval=0.1, what=f"message {n} to {len(addresses)} address(es)")
    return {a: smtp.inbox.to(a)[n - 1] for a in addresses}


def counts(smtp, addresses):
    return {a: len(smtp.inbox.to(a)) for a in addresses}


def event_url(stack, event_id, path=""):
    return stack.url("registration", f"/api/v1/events/{event_id}{path}")


def patch(stack, organiser, event_id, **changes):
    response = requests.patch(event_url(stack, event_id), json=changes, headers=organiser,
                              timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def entry(message):
    """(METHOD, the VEVENT) of an email's calendar invite."""
    calendar = invite(message)
    assert calendar is not None, f"no invite in {message['Subject']!r}"
    return str(calendar["METHOD"]), calendar.walk("VEVENT")[0]


def registered(stack, event_id, people, kiosk):
    """Register (address, language, name, sector) tuples; return {address: registration}."""
    found = {}
    for address, language, name, sector in people:
        response = register(stack, event_id, address, language, name, headers=kiosk, sector=sector)
        assert response.status_code == 201, response.text
        found[address] = response.json()
    return found


def cancel_by_link(message):
    response = requests.post(link(message, "/registrations/cancel/"), timeout=10)
    assert response.status_code == 200, response.text


def show_email(page, message, name):
    """Render an email's HTML as a mail app would, its inline images in place; screenshot it."""
    html = message.get_body(("html",)).get_content()
    for part in message.walk():
        if part["Content-ID"]:
            data = base64.b64encode(part.get_content()).decode()
            html = html.replace(f"cid:{part['Content-ID'].strip('<>')}",
                                f"data:{part.get_content_type()};base64,{data}")
    page.set_content(html)
    return screenshot(page, name)


def test_each_move_sends_every_attendee_one_update_and_moves_their_calendar_entry(
        stack, smtp, new_event, organiser, kiosk, page):
    """Confirmed and waiting attendees get one email per notified change, with the final
    state; a confirmed one's invite is a REQUEST for the same entry, one SEQUENCE higher.
    A change with `notify: false`, or one undone within the window, sends nothing."""
    event_id = new_event(capacity=2)
    es, en, waiting = everyone = unique_addresses(3, "moved")
    people = registered(stack, event_id, [(es, "es", "Ana Moreno", "citizen"),
                                          (en, "en", "Jane Doe", "academia"),
                                          (waiting, "es", "Luis Vega", "media")], kiosk)
    assert [p["status"] for p in people.values()] == ["confirmed", "confirmed", "waitlisted"]
    confirmations = received(smtp, everyone, 1)
    uid = {a: entry(confirmations[a])[1]["UID"] for a in (es, en)}

    patch(stack, organiser, event_id, starts_at="2031-05-30T11:00:00-06:00",
          ends_at="2031-05-30T13:00:00-06:00")
    moved = received(smtp, everyone, 2)
    for address in (es, en):
        method, vevent = entry(moved[address])
        assert (method, vevent["UID"], vevent["SEQUENCE"]) == ("REQUEST", uid[address], 1)
        assert vevent["DTSTART"].dt.astimezone(timezone.utc) == datetime(2031, 5, 30, 17, tzinfo=timezone.utc)
    for message in moved.values():  # old -> new, in the event's zone
        assert "10:00" in text(message) and "11:00" in text(message)
    assert requests.get(event_url(stack, event_id), timeout=10).json()["status"] == "rescheduled"
    show_email(page, moved[es], "event-changed-email-es")

    patch(stack, organiser, event_id, venue="Sala de Cabildo")
    method, vevent = entry(received(smtp, everyone, 3)[es])
    assert (method, vevent["UID"], vevent["SEQUENCE"]) == ("REQUEST", uid[es], 2)
    assert "Sala de Cabildo" in str(vevent["LOCATION"])

    patch(stack, organiser, event_id, venue="Sala Uno")  # three quick edits, one email
    patch(stack, organiser, event_id, venue="Sala Dos")
    patch(stack, organiser, event_id, address="Avenida Independencia 1")
    final = received(smtp, everyone, 4)
    method, vevent = entry(final[en])
    assert (vevent["UID"], vevent["SEQUENCE"]) == (uid[en], 3)
    assert "Sala Dos" in str(vevent["LOCATION"]) and "Independencia" in str(vevent["LOCATION"])
    for message in final.values():
        assert "Sala Dos" in text(message) and "Sala Uno" not in text(message)

    patch(stack, organiser, event_id, notify=False, ends_at="2031-05-30T13:30:00-06:00")
    patch(stack, organiser, event_id, venue="Sala Tres")  # and back, within the window
    patch(stack, organiser, event_id, venue="Sala Dos")
    time.sleep(QUIET)
    assert counts(smtp, everyone) == {a: 4 for a in everyone}
    shown = requests.get(event_url(stack, event_id), timeout=10).json()
    assert shown["venue"] == "Sala Dos"
    assert datetime.fromisoformat(shown["ends_at"]) == datetime(2031, 5, 30, 19, 30, tzinfo=timezone.utc)


def test_a_cancelled_event_tells_everyone_withdraws_the_invites_and_closes(
        stack, smtp, new_event, organiser, kiosk):
    """Cancel: everyone hears at once, in their language, with the reason; the confirmed get a
    CANCEL for their entry; a change still waiting to go is dropped; registering is refused."""
    event_id = new_event(capacity=2)
    es, en, waiting = everyone = unique_addresses(3, "calledoff")
    registered(stack, event_id, [(es, "es", "Rosa Campos", "citizen"),
                                 (en, "en", "John Roe", "government"),
                                 (waiting, "es", "Iván Soto", "citizen")], kiosk)
    confirmations = received(smtp, everyone, 1)
    uid = {a: entry(confirmations[a])[1]["UID"] for a in (es, en)}

    patch(stack, organiser, event_id, venue="Sala de Cabildo")  # pending when the event ends
    reason = {"es": "Por la contingencia por lluvias", "en": "Because of the heavy rain"}
    response = requests.post(event_url(stack, event_id, "/cancel"), json={"reason": reason},
                             headers=organiser, timeout=10)
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["status_reason"]) == ("cancelled", reason)

    cancelled = received(smtp, everyone, 2)
    for address in (es, en):
        method, vevent = entry(cancelled[address])
        assert (method, vevent["UID"], vevent["SEQUENCE"]) == ("CANCEL", uid[address], 1)
    assert reason["es"] in text(cancelled[es]) and reason["es"] in text(cancelled[waiting])
    assert reason["en"] in text(cancelled[en])

    (late,) = unique_addresses(1, "toolate")
    closed = register(stack, event_id, late)
    assert closed.status_code == 409 and closed.headers["Content-Type"] == "application/problem+json"
    again = requests.post(event_url(stack, event_id, "/cancel"), json={"reason": "Otra vez"},
                          headers=organiser, timeout=10)
    assert again.status_code == 409, again.text
    time.sleep(QUIET)
    assert counts(smtp, everyone) == {a: 2 for a in everyone} and not smtp.inbox.to(late)


def _periodic(stack):
    """The name of the registration process that sends changes and reminders."""
    (name,) = [n for n, command in stack.commands.items() if command[1:] in (["holds"], ["timers"])]
    return name


def _reminders(stack, operator, address):
    return [d for d in deliveries(stack, operator, recipient=address) if "reminder" in d["kind"]]


def _sleep_until(moment):
    time.sleep(max(0.0, (moment - datetime.now(timezone.utc)).total_seconds()))


def test_reminders_arrive_once_each_with_two_periodic_processes_and_after_a_kill(
        stack, smtp, operator, new_event, kiosk):
    """An event starting in 30 s reminds 20 s and 10 s before: each confirmed attendee gets
    each reminder once, with their QR code, while a second periodic process runs beside the
    first, and when the first is SIGKILLed at the second's due time and restarted. Nothing
    for a cancelled registration; only what is still ahead for someone who registers late."""
    starts = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=30)
    event_id = new_event(starts_at=starts.isoformat(), ends_at=(starts + timedelta(hours=1)).isoformat(),
                         reminders=["PT20S", "PT10S"])
    attendees = unique_addresses(3, "remind")
    (leaving,) = unique_addresses(1, "leaving")
    (late,) = unique_addresses(1, "latecomer")
    registered(stack, event_id, [(a, "es", "Asistente", "citizen") for a in attendees]
               + [(leaving, "en", "Leaving", "citizen")], kiosk)
    cancel_by_link(received(smtp, [*attendees, leaving], 1)[leaving])

    periodic = _periodic(stack)
    stack.commands["periodic-beside"] = stack.commands[periodic]
    stack.start("periodic-beside")
    try:
        first = received(smtp, attendees, 2, timeout=25)
        _sleep_until(starts - timedelta(seconds=20) + timedelta(seconds=SETTLE))
    finally:
        stack.kill("periodic-beside", signal.SIGTERM, group=True)
        del stack.commands["periodic-beside"]
    for message in first.values():
        assert any(code.startswith(f"ABIERTO:{event_id}:") for code in read_qr(message))
    assert register(stack, event_id, late, headers=kiosk).status_code == 201

    # The second reminder's due time, give or take a sweep: killed before, during or after it.
    _sleep_until(starts - timedelta(seconds=10) + timedelta(milliseconds=random.randint(0, 500)))
    stack.kill(periodic, signal.SIGKILL, group=True)
    stack.start(periodic)
    received(smtp, attendees, 3, timeout=15)
    received(smtp, [late], 2, timeout=5)
    time.sleep(SETTLE)
    assert counts(smtp, attendees) == {a: 3 for a in attendees}  # confirmation, two reminders
    assert counts(smtp, [late, leaving]) == {late: 2, leaving: 2}
    assert {a: len(_reminders(stack, operator, a)) for a in [*attendees, late, leaving]} == {
        **{a: 2 for a in attendees}, late: 1, leaving: 0}


def check_in(stack, event_id, headers, **body):
    return requests.post(event_url(stack, event_id, "/check-ins"), json=body, headers=headers,
                         timeout=10)


def test_the_qr_code_in_the_email_checks_its_person_in_once_and_no_one_else(
        stack, smtp, new_event, kiosk, door):
    """The QR code decoded from the confirmation's image lets its person in; a second scan
    says when the first was; a tampered code, another event's, and a cancelled person's are
    refused, each with its own word."""
    event_id, elsewhere = new_event(), new_event()
    guest, leaving, foreign = unique_addresses(3, "door")
    people = registered(stack, event_id, [(guest, "es", "Lucía Hernández", "citizen"),
                                          (leaving, "es", "Pedro Ruiz", "citizen")], kiosk)
    people.update(registered(stack, elsewhere, [(foreign, "es", "Otra Persona", "citizen")], kiosk))
    mail = received(smtp, [guest, leaving, foreign], 1)
    codes = {a: read_qr(m) for a, m in mail.items()}
    for address, event in ((guest, event_id), (leaving, event_id), (foreign, elsewhere)):
        assert len(codes[address]) == 1
        assert codes[address][0].startswith(f"ABIERTO:{event}:{people[address]['id']}:")
    code = codes[guest][0]

    assert check_in(stack, event_id, None, code=code).status_code == 401
    first = check_in(stack, event_id, door, code=code)
    assert first.status_code == 201, first.text
    assert first.json()["result"] == "checked_in"
    assert first.json()["registration"] == {"id": people[guest]["id"], "name": "Lucía Hernández",
                                            "status": "confirmed"}
    again = check_in(stack, event_id, door, code=code)
    assert (again.status_code, again.json()["result"]) == (200, "already_checked_in")
    assert again.json()["checked_in_at"] == first.json()["checked_in_at"]

    tampered = code[:-1] + ("A" if code[-1] != "A" else "B")
    cancel_by_link(mail[leaving])
    for presented, status, result in ((tampered, 422, "invalid_code"),
                                      (codes[foreign][0], 422, "not_for_this_event"),
                                      (codes[leaving][0], 409, "cancelled")):
        refused = check_in(stack, event_id, door, code=presented)
        assert refused.status_code == status, refused.text
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["result"] == result and refused.json()["detail"]


def test_a_staff_link_opens_the_check_in_page_where_a_typed_code_shows_the_name(
        stack, smtp, new_event, organiser, kiosk, page):
    """Door staff open the organiser's link in a browser, type the short code read aloud from
    the received email and press Enter: the name shows. Once revoked, the link opens nothing."""
    event_id = new_event()
    (guest,) = unique_addresses(1, "staffpage")
    person = registered(stack, event_id, [(guest, "es", "Martín Gómez", "private_sector")], kiosk)[guest]
    mail = received(smtp, [guest], 1)[guest]
    short = re.search(rf"\b{person['id']}-[0-9A-Z]{{6}}\b", text(mail))[0]
    made = requests.post(event_url(stack, event_id, "/staff-links"), json={"label": "Puerta norte"},
                         headers=organiser, timeout=10)
    assert made.status_code == 201, made.text
    staff = made.json()

    page.goto(staff["url"])
    field = page.get_by_role("textbox").first
    field.fill(short)
    field.press("Enter")
    page.get_by_text("Martín Gómez").first.wait_for(timeout=5000)
    screenshot(page, "check-in-es")  # axe on this page, both languages: test_checkin_page.py

    gone = requests.delete(event_url(stack, event_id, f"/staff-links/{staff['id']}"),
                           headers=organiser, timeout=10)
    assert gone.status_code == 204
    assert requests.get(staff["url"], timeout=10).status_code in (401, 403, 404, 410)


def test_attendance_after_a_scripted_event_counts_what_happened(
        stack, smtp, new_event, organiser, kiosk, door):
    """Five register for three seats; one cancels and the first in line moves up; two come
    with their codes, one does not, one walks in. The API, the CSV and, once the event has
    ended, its public page count exactly that, and the page names no one."""
    event_id = new_event(capacity=3)
    ana, beto, carmen, diego, elena = everyone = unique_addresses(5, "count")
    people = registered(stack, event_id, [(ana, "es", "Ana Alba", "citizen"),
                                          (beto, "es", "Beto Baca", "citizen"),
                                          (carmen, "es", "Carmen Cruz", "academia"),
                                          (diego, "es", "Diego Díaz", "civil_society"),
                                          (elena, "es", "Elena Esparza", "citizen")], kiosk)
    assert [p["status"] for p in people.values()] == ["confirmed"] * 3 + ["waitlisted"] * 2
    first = received(smtp, everyone, 1)
    cancel_by_link(first[beto])
    promoted = received(smtp, [diego], 2)[diego]
    for message in (first[ana], promoted):
        (code,) = read_qr(message)
        assert check_in(stack, event_id, door, code=code).status_code == 201
    walk_in = check_in(stack, event_id, door, walk_in={
        "name": "Fernanda Flores", "sector": "media", "privacy_consent": True})
    assert walk_in.status_code == 201, walk_in.text

    past = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
    patch(stack, organiser, event_id, notify=False, starts_at=past.isoformat(),
          ends_at=(past + timedelta(hours=1)).isoformat())
    response = requests.get(event_url(stack, event_id, "/attendance"), headers=organiser, timeout=10)
    assert response.status_code == 200, response.text
    counted = response.json()
    zero = dict(registered=0, confirmed=0, pending=0, waiting=0, cancelled=0, expired=0,
                checked_in=0, no_shows=0, walk_ins=0)
    assert counted == {
        "event_id": event_id, "ended": True,
        **zero, "registered": 5, "confirmed": 3, "waiting": 1, "cancelled": 1, "checked_in": 3,
        "no_shows": 1, "walk_ins": 1,
        "by_sector": {
            "citizen": {**zero, "registered": 3, "confirmed": 1, "waiting": 1, "cancelled": 1,
                        "checked_in": 1},
            "academia": {**zero, "registered": 1, "confirmed": 1, "no_shows": 1},
            "civil_society": {**zero, "registered": 1, "confirmed": 1, "checked_in": 1},
            "media": {**zero, "checked_in": 1, "walk_ins": 1}}}
    csv = requests.get(event_url(stack, event_id, "/attendance"), timeout=10,
                       headers={**organiser, "Accept": "text/csv"})
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    rows = [line.split(",") for line in csv.text.strip().splitlines()]
    assert len(rows) == 1 + 4 + 1  # the header, one row per sector, the total

    public = requests.get(stack.url("registration", f"/events/{event_id}"), timeout=10).text
    table = re.search(r"<table.*?</table>", public[public.index('id="attendance"'):], re.S)[0]
    cells = lambda row: [html.unescape(cell) for cell in re.findall(  # noqa: E731
        r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
    rows = [cells(row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
    # sector, registered, cancelled, came, walk-ins, no-shows: every count is 1 to 3, so
    # none shows (PUBLIC_COUNT_MIN 5), nor the 5 registered, which would say too much
    assert rows[-1] == ["Total", "oculto", "< 5", "< 5", "< 5", "< 5"]
    assert len(rows) == 1 + 4 + 1 and ["Medios", "0", "0", "< 5", "< 5", "0"] in rows
    assert not any(name in public for name in ("Ana Alba", "Diego Díaz", "Fernanda Flores"))

