"""How a service declares itself, and how shared/ finds the services: shared/ names none.

Each service has one declaration module with `SERVICE = ServiceDeclaration(...)`, registered
as a package entry point in the group below (pyproject.toml), the way Flask finds the
`flask.commands` of installed packages. The `abierto` command, the migrations and the
settings read what they need from the declarations found there.
"""
import functools
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Callable

ENTRY_POINTS = "abierto.services"


@dataclass(frozen=True)
class Arco:
    """How a service answers an ARCO request (a person's data, by email address)."""

    # export(db, email) -> {key: that person's data}; the keys of `abierto arco export`'s
    # document, so no two services use the same key.
    export: Callable
    # erase(settings, db, email, now) -> how many of their records were erased.
    erase: Callable
    # The service that sends the emails: erased first, so that while the others erase, what
    # is still on its way to the person (a fact on the bus) reaches nobody.
    sends_mail: bool = False
    # log(db) -> the ARCO requests on record, oldest first, as plain dicts (`abierto arco
    # log`); None: this service keeps no such record.
    log: Callable | None = None


@dataclass(frozen=True, kw_only=True)
class ServiceDeclaration:
    """What shared/ and the `abierto` command need to know about one service."""

    name: str
    port: int | None = None  # its web app's; the default of its URLs. None: no web app
    app: str | None = None  # its app factory, "module:function", as gunicorn loads it
    models: ModuleType | None = None  # Base, ApiToken and, if it publishes, Outbox. None: no DB
    migrations: Path | None = None  # its Alembic versions folder
    scopes: dict = field(default_factory=dict)  # token scope -> what it allows
    seed: Callable | None = None  # seed(db) -> what it added, in words
    # demo(settings, db, earlier) -> (what it added, in words, {what later demos may use});
    # `abierto seed --demo`'s labelled example data. `earlier`: the services' it comes after.
    demo: Callable | None = None
    demo_after: tuple = ()  # the services whose demo must run first (their names)
    commands: tuple = ()  # click commands (or groups) it adds to `abierto`
    arco: Arco | None = None
    events: tuple = ()  # the shared.events.EventType it publishes on the bus

    @property
    def has_database(self):
        return self.models is not None

    @property
    def publishes(self):
        """Whether it has an outbox for a relay to publish."""
        return hasattr(self.models, "Outbox")


@functools.cache
def declared():
    """Every installed service's declaration by name: web services in port order, then the rest."""
    found = []
    for entry in entry_points(group=ENTRY_POINTS):
        declaration = entry.load()
        if declaration.name != entry.name:
            raise RuntimeError(f"entry point {entry.name!r} declares a service named "
                               f"{declaration.name!r}; give both the same name")
        found.append(declaration)
    found.sort(key=lambda d: (d.port is None, d.port or 0, d.name))
    return {declaration.name: declaration for declaration in found}


def names(which=lambda declaration: True):
    """The names of the declared services for which `which(declaration)` holds, in order."""
    return tuple(name for name, declaration in declared().items() if which(declaration))


def with_database():
    return names(lambda declaration: declaration.has_database)
