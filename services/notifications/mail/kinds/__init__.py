"""Every email kind, found here: a module of this package whose `KIND` is an `EmailKind`, its
wording in `templates/<name>/`. Adding a kind is adding those two; nothing else names it.

Some events send nothing: `registration.expired` (the person did not confirm, and hears
no more) has no kind.
"""
import importlib
import pkgutil

from services.notifications.mail.kind import EmailKind


def _discover():
    found = {}
    for module in pkgutil.iter_modules(__path__):
        kind = getattr(importlib.import_module(f"{__name__}.{module.name}"), "KIND", None)
        if isinstance(kind, EmailKind):
            found[kind.name] = kind
    return found


REGISTRY = _discover()  # name -> kind; `register` adds one defined elsewhere


def register(kind):
    """Add a kind that lives outside this package (its `templates` say where its wording is)."""
    REGISTRY[kind.name] = kind
    return kind


def get(name):
    """The kind a delivery row names; ValueError if there is none."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown email kind: {name!r}") from None


def for_event(event_type):
    """The kinds an event of this type produces, in name order."""
    return [kind for name, kind in sorted(REGISTRY.items()) if event_type in kind.event_types]


def anonymous():
    """Names of the kinds an anonymous request can cause: they count towards MAIL_CAP."""
    return frozenset(name for name, kind in REGISTRY.items() if kind.anonymous)
