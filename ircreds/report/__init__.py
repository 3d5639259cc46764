"""The post-incident report: what it says (:mod:`.data`, :mod:`.indicators`, :mod:`.containment`,
pure) and how it is laid out (:mod:`.layout` with ``templates/``, at the edge: it draws figures
through plotly).

``render`` and ``Report`` are resolved lazily, so importing the pure parts (``ircreds.report.data``)
never pulls in plotly:

>>> import ircreds.report
>>> callable(ircreds.report.render)
True
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["FORMATS", "Report", "render", "scrub"]

_LAZY = {
    "FORMATS": "ircreds.report.layout",
    "Report": "ircreds.report.layout",
    "render": "ircreds.report.layout",
    "scrub": "ircreds.report.data",
}


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'ircreds.report' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
