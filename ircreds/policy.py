"""Old home of :mod:`ircreds.containment.policy`, kept because the 0.1 README and notebooks import
it (``ircreds.policy.cutoff_policy``, ``from ircreds.policy import canonical``).

>>> from ircreds.policy import cutoff_policy
>>> from ircreds.containment import policy
>>> cutoff_policy is policy.cutoff_policy
True
"""

from __future__ import annotations

from ircreds.containment.policy import (
    POLICY_NAME,
    POLICY_VERSION,
    ROLE_INLINE_POLICY_LIMIT,
    USER_INLINE_POLICY_LIMIT,
    PolicyOption,
    TargetKind,
    canonical,
    cutoff_policy,
    deny_session_policy,
    deny_source_identity_policy,
    deny_source_ip_policy,
    format_cutoff,
    narrower_options,
    normalize_cutoff,
    policy_size,
    session_userid,
    user_cutoff_policy,
)

__all__ = [
    "POLICY_NAME",
    "POLICY_VERSION",
    "ROLE_INLINE_POLICY_LIMIT",
    "USER_INLINE_POLICY_LIMIT",
    "PolicyOption",
    "TargetKind",
    "canonical",
    "cutoff_policy",
    "deny_session_policy",
    "deny_source_identity_policy",
    "deny_source_ip_policy",
    "format_cutoff",
    "narrower_options",
    "normalize_cutoff",
    "policy_size",
    "session_userid",
    "user_cutoff_policy",
]
