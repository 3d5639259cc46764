"""What a command's ``PATH...`` names: evidence to load, or one case store (told by content)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ircreds.errors import SourceError


def case_of(paths: Sequence[str]) -> Any:
    """The opened case store when ``paths`` is one, else None (evidence to load in memory).

    Raises:
        SourceError: a case store given together with other paths.
    """
    from ircreds.engines import is_case, open_case

    cases = [p for p in paths if "://" not in str(p) and is_case(p)]
    if not cases:
        return None
    if len(paths) > 1:
        raise SourceError(
            f"{cases[0]} is a case store: pass it alone (add more evidence to it with `ircreds index PATH... --out {cases[0]}`)"
        )
    return open_case(cases[0])


def load_events(paths: Sequence[str], **options: Any) -> Any:
    """The whole events frame: loaded from the evidence, or read back from a case store."""
    import ircreds

    case = case_of(paths)
    if case is None:
        return ircreds.load(*paths, **options)
    with case:
        return case.events()
