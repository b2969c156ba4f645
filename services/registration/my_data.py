"""The "Mis datos" use cases on registration's side: send a person the link to their data
(at most one an hour per address), find whose link it is, correct their registrations,
and forget their links. What other services hold is asked for over their APIs (the pages)."""
import hashlib
import json
from datetime import timedelta

from sqlalchemy import delete, select, text, update

from services.registration import facts, privacy
from services.registration.models import MyDataLink, Outbox, Registration
from shared import outbox
from shared.domain_errors import Gone, NotFound
from shared.schemas import normalize_email

LINK_HOURS = 24  # how long a link opens the data
ONE_LINK_EVERY = timedelta(hours=1)  # per address, whoever asks
CORRECTABLE = ("name", "organization", "accessibility_needs", "language")


def request_link(db, email, language, links, now):
    """Queue the email with a new link, unless this address got one within the hour;
    return whether one was queued. The caller answers the same either way."""
    email_key = normalize_email(email)
    with db.transaction() as session:
        _one_request_at_a_time(session, email_key)
        recent = session.scalar(select(MyDataLink.id).where(
            MyDataLink.email_key == email_key,
            MyDataLink.created_at > now - ONE_LINK_EVERY).limit(1))
        if recent is not None:
            return False
        session.execute(delete(MyDataLink).where(MyDataLink.expires_at <= now))  # spent links
        link = MyDataLink(email=email.strip(), email_key=email_key, language=language,
                          created_at=now, expires_at=now + timedelta(hours=LINK_HOURS))
        session.add(link)
        session.flush()  # its id is what the link carries
        outbox.add(session, Outbox, facts.my_data_fact(link, links.my_data(link.id), LINK_HOURS, now))
    return True


def _one_request_at_a_time(session, email_key):
    """PostgreSQL: hold a lock per address until commit, so two requests at once cannot
    both find no recent link and both send one. SQLite's BEGIN IMMEDIATE already does."""
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"my-data:{email_key}".encode()).digest()
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": int.from_bytes(digest[:8], "big", signed=True)})


def link_owner(db, link_id, now):
    """The link row (whose address it opens); Gone once expired, NotFound once erased."""
    with db.transaction() as session:
        link = session.get(MyDataLink, link_id)
    if link is None:
        raise NotFound("This link no longer opens anything.")
    if link.expires_at <= now:
        raise Gone("This link has expired.")
    return link


def correct(db, email, changes, now):
    """Rectification: the same changes on every registration under the address; the facts
    recorded from now on, and so the emails, carry them. Return how many were changed.
    Needs given are kept with the time of their own consent (the schema has asked it)."""
    changes = {name: value for name, value in changes.items() if name in CORRECTABLE}
    if "accessibility_needs" in changes:
        changes["accessibility_needs"] = (changes["accessibility_needs"] or "").strip() or None
        changes["accessibility_consent_at"] = now if changes["accessibility_needs"] else None
    with db.transaction() as session:
        return session.execute(update(Registration).where(
            Registration.email_key == normalize_email(email)).values(**changes),
            execution_options={"synchronize_session": False}).rowcount


def forget_links(db, email):
    """Erase the address's links and their facts not yet relayed (they carry the address)."""
    email_key = normalize_email(email)
    with db.transaction() as session:
        ids = session.scalars(select(MyDataLink.id).where(MyDataLink.email_key == email_key)).all()
        subjects = {facts.my_data_subject(link_id) for link_id in ids}
        for subject in subjects:
            candidates = session.execute(select(Outbox.id, Outbox.payload).where(
                Outbox.payload.contains(f'"{subject}"', autoescape=True))).all()
            stale = [row_id for row_id, payload in candidates
                     if json.loads(payload).get("subject") in subjects]
            if stale:
                session.execute(delete(Outbox).where(Outbox.id.in_(stale)))
        session.execute(delete(MyDataLink).where(MyDataLink.email_key == email_key))
    return len(ids)


def erase(db, bus, email, links, now):
    """Erase everything registration holds about the address (seats go to the people
    waiting) and the links to it; return how many rows."""
    return privacy.erase(db, bus, email, links, now) + forget_links(db, email)
