"""Domain errors: every use case fails with one of these, never with a Slack or HTTP type."""


class DomainError(Exception):
    """Base class; `str(error)` is a sentence fit to show to a user."""


class ValidationError(DomainError):
    """Bad input. `field` names the input at fault (a model field or `cf.KEY`)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class NotFound(DomainError):
    pass


class Ambiguous(DomainError):
    """A reference matched several records; `candidates` lists them."""

    def __init__(self, message: str, candidates: list):
        super().__init__(message)
        self.candidates = candidates


class Forbidden(DomainError):
    pass


class Conflict(DomainError):
    pass
