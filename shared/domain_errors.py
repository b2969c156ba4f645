"""The ways a rule of the domain says no: plain exceptions that know nothing of HTTP.

Domain and service code raises one of the kinds below (or a subclass with a name from its
own rules, e.g. registration's `RegistrationClosed(Conflict)`); the web edge
(`shared.errors.install`) is the one place that says each kind as an HTTP status, and the
operator commands print the `detail`.
"""


class DomainError(Exception):
    """A rule of the domain said no; `detail` says why, in words the caller can act on."""

    def __init__(self, detail):
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """The thing asked for does not exist, or no longer does."""


class Conflict(DomainError):
    """The request clashes with the state things are in (a duplicate, a closed window)."""


class Invalid(DomainError):
    """The request breaks a rule about its values."""


class InvalidField(Invalid):
    """A rule about one field said no; the answer names the field."""

    def __init__(self, field, message):
        super().__init__(f"`{field}` {message}")
        self.field, self.message = field, message


class Forbidden(DomainError):
    """The caller may not do this to this thing."""


class Gone(DomainError):
    """The thing was there, but its time has passed."""
