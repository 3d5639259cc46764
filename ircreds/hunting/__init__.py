"""Community detections: run Sigma rules (SigmaHQ's CloudTrail set, or your own) over the evidence.

``ircreds.hunt(events, rules)`` parses the rules with pySigma, converts each once to DuckDB SQL
through a pipeline that follows the Sigma specification over the events frame (:mod:`.backend`),
runs all of them in one pass (:mod:`.engine`) and returns a :class:`Hunt`: the rules read, the rules
that could not be converted or run with the reason, and one :class:`RuleHit` per rule that matched,
with its events, the keys that signed them, and the rule's author and source link (SigmaHQ rules
are under the DRL 1.1, which asks for exactly that attribution wherever a result is shown).

This package sits at the findings stage: it reads the events frame (or a case store) and knows
nothing of containment or the report; a trace's hits come from :meth:`Hunt.on_trace`.
"""

from __future__ import annotations

from ircreds.hunting.engine import Hunt, RuleHit, hunt
from ircreds.hunting.rules import RuleInfo, UnsupportedRule, load_rules, source_link
from ircreds.hunting.sql import LEVEL_RANK, level_rank

__all__ = [
    "LEVEL_RANK",
    "Hunt",
    "RuleHit",
    "RuleInfo",
    "UnsupportedRule",
    "hunt",
    "level_rank",
    "load_rules",
    "source_link",
]
