"""The package's exception hierarchy: every error a user can cause is a TinyEmoAuditError.

The CLI turns any of these into one line on stderr and exit code 2; anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Iterable


class TinyEmoAuditError(Exception):
    """Base class. ``str(err)`` is a single line meant for the user."""


class UsageError(TinyEmoAuditError):
    """Bad command-line usage or bad arguments to a public function."""


class InputError(TinyEmoAuditError):
    """A file, dataset or config the user gave cannot be used."""


class WeightsUnavailableError(TinyEmoAuditError):
    """Model weights were asked for that are not on this machine (and cannot be downloaded)."""


class UnknownNameError(UsageError):
    """A registry lookup failed; the message lists the valid choices."""

    def __init__(self, kind: str, name: str, choices: Iterable[str]):
        self.kind = kind
        self.name = name
        self.choices = sorted(choices)
        super().__init__(
            f"unknown {kind} {name!r}; valid choices: {', '.join(self.choices)}"
        )
