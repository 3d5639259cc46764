"""Pre-commit and CI lint with the same ruff."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_pre_commit_runs_the_ruff_version_pyproject_pins() -> None:
    pinned = re.search(r'"ruff==([\d.]+)"', (REPO / "pyproject.toml").read_text())
    hook = re.search(
        r"astral-sh/ruff-pre-commit\s*\n\s*rev:\s*v?([\d.]+)", (REPO / ".pre-commit-config.yaml").read_text()
    )
    assert pinned is not None
    assert hook is not None
    assert hook.group(1) == pinned.group(1)
