"""The real clock is read in one place (ircreds.clock.utc_now), so a test or a replay can replace it."""

from __future__ import annotations

import ast
from pathlib import Path

import ircreds

ROOT = Path(ircreds.__file__).parent


def clock_reads(source: str) -> list[int]:
    """Lines of ``source`` that call ``datetime.now``/``utcnow``/``today`` or ``time.time``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if (name, node.func.attr) in {
                ("datetime", "now"),
                ("datetime", "utcnow"),
                ("datetime", "today"),
                ("date", "today"),
                ("time", "time"),
            }:
                lines.append(node.lineno)
    return lines


def test_the_checker_sees_a_clock_read() -> None:
    assert clock_reads("from datetime import datetime, UTC\nx = 1\nnow = datetime.now(UTC)\n") == [3]
    assert clock_reads("import datetime\nnow = datetime.datetime.utcnow()\n") == [2]


def test_only_the_clock_module_reads_the_clock() -> None:
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for path in ROOT.rglob("*.py")
        if path.name != "clock.py"
        for line in clock_reads(path.read_text())
    }
    assert found == set()
