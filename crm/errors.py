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


class EditConflict(Conflict):
    """Fields someone else changed since the form was opened: field -> a sentence naming the newer value."""

    def __init__(self, fields: dict[str, str]):
        super().__init__(" ".join(fields.values()))
        self.fields = fields


class DatabaseUnavailable(DomainError):
    """The database did not answer in time or refused the connection; nothing was changed."""

    def __init__(self) -> None:
        super().__init__("The database is unavailable just now, so nothing was changed. Please try again in a moment.")


class OutcomeUnknown(DomainError):
    """The database stopped answering while saving: the change may or may not have been saved."""

    def __init__(self, how_to_check: str = "Check before trying again.") -> None:
        super().__init__("The database stopped answering while saving, so this may or may not have been saved. "
                         + how_to_check)
