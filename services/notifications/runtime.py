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


def mail_domain():
    return parseaddr(settings().mail_from)[1].rpartition("@")[2] or "abierto.local"
