"""The local SMTP sink (`make run`'s mail server): no web app, no database, two commands."""
from services.mailsink import commands
from shared.services import ServiceDeclaration

SERVICE = ServiceDeclaration(name="mailsink", commands=(commands.mailsink, commands.mail))
