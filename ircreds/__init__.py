"""ircreds: trace and contain leaked AWS temporary credentials from CloudTrail.

The public API is a handful of functions over one pandas frame of CloudTrail events:

>>> import ircreds
>>> {"load", "sessions", "trace", "plan", "verify"} <= set(ircreds.__all__)
True

Names are resolved lazily so that ``import ircreds`` stays cheap and never pulls in
an edge library (boto3, ipywidgets, plotly).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> (module, attribute). Add, never rename: other tools rely on these.
_EXPORTS: dict[str, tuple[str, str]] = {
    "load": ("ircreds.evidence.loader", "load"),
    "sessions": ("ircreds.lineage", "sessions"),
    "trace": ("ircreds.findings", "trace"),  # the tracer with the kit's detectors passed in
    # the library's plan: ircreds.containment.plan with now defaulting to the real clock (ircreds.clock)
    "plan": ("ircreds.clock", "plan"),
    "verify": ("ircreds.containment", "verify"),
    "scope": ("ircreds.scoping", "scope"),
    "Scope": ("ircreds.scoping", "Scope"),
    "plan_scope": ("ircreds.containment", "plan_scope"),
    "open_case": ("ircreds.engines", "open_case"),
    "IrcredsError": ("ircreds.errors", "IrcredsError"),
    "LogFormatError": ("ircreds.errors", "LogFormatError"),
    "SessionNotFoundError": ("ircreds.errors", "SessionNotFoundError"),
    "hunt": ("ircreds.hunting", "hunt"),
    "Hunt": ("ircreds.hunting", "Hunt"),
    "RuleError": ("ircreds.errors", "RuleError"),
    "validate_logs": ("ircreds.evidence.validation", "validate_logs"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'ircreds' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
