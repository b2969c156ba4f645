"""The collaborators of the notification processes, made once per process on first use."""
import functools
from email.utils import parseaddr

from shared import config
from shared.db import Database


@functools.cache
def settings():
    return config.load("notifications")


@functools.cache
def db():
    return Database(settings().database_url)


@functools.cache
def mailer():
    from services.notifications.mailer import SMTPMailer

    return SMTPMailer(settings())


@functools.cache
def links():
    from services.notifications.links import Links

    return Links(settings().public_base_url, settings().keys)


@functools.cache
def commitments():
    from services.notifications.commitments import CommitmentsClient

    return CommitmentsClient(settings().peers["commitments"].api_url)


def mail_domain():
    return mail_domain_of(settings().mail_from)


def mail_domain_of(mail_from):
    """The domain of the From address: Message-IDs and List-Ids are made under it."""
    return parseaddr(mail_from)[1].rpartition("@")[2] or "abierto.local"
