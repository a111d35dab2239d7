"""Domain errors whose messages are safe to show to the person who caused them."""

from __future__ import annotations


class UserFacingError(Exception):
    """An error caused by the user's input: its message says what was wrong and what is accepted."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(UserFacingError):
    """A value given to a command cannot be used."""


class NotConfiguredError(UserFacingError):
    """The server has not been set up enough for this command."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        listed = ", ".join(missing)
        super().__init__(
            f"This server isn't set up for that yet. Someone with the Manage Server permission can run "
            f"`/setup start` (it creates what is missing) or `/setup configure` to set: {listed}."
        )


class NotFoundError(UserFacingError):
    """The thing a command refers to does not exist (any more)."""


class ConflictError(UserFacingError):
    """The action lost a race or no longer applies (someone else got there first)."""
