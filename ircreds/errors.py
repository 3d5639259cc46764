"""The exceptions ircreds raises: one root, one subclass per area.

Messages say what happened, where, and what to try. They never carry a secret
access key, a session token or a raw record (key ids and ARNs are fine).

>>> issubclass(LogFormatError, ValueError)
True
"""

from __future__ import annotations


class IrcredsError(Exception):
    """Root of every error ircreds raises on purpose."""


class LogFormatError(IrcredsError, ValueError):
    """Evidence that cannot be read as CloudTrail (names the file and the record)."""


class SourceError(IrcredsError, OSError):
    """An evidence source that cannot be reached: missing path, empty source, S3 or API access error."""


class SessionNotFoundError(IrcredsError, LookupError):
    """The credential asked for is not in the evidence (the message says what the evidence covers)."""


class PolicyError(IrcredsError, ValueError):
    """A policy or cut-off that cannot be built as asked (for example a naive datetime)."""


class PlanError(IrcredsError, ValueError):
    """A containment plan that cannot be built or applied as given."""


class AwsError(IrcredsError, RuntimeError):
    """An AWS call failed; the message says which permission or resource, and the AWS error code."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class ScenarioError(IrcredsError, ValueError):
    """A scenario or exercise that cannot be generated or graded as asked."""


class RuleError(IrcredsError, ValueError):
    """Sigma rules that cannot be used at all: a missing path, no rule in it, pySigma not installed."""
