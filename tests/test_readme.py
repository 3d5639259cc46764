"""README's two commands are the ones CI and a newcomer actually run."""

from __future__ import annotations

import re

from conftest import REPO


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_opens_with_two_one_line_commands() -> None:
    blocks = _bash_blocks((REPO / "README.md").read_text())
    assert len(blocks) >= 2
    main_job, test_line = blocks[0], blocks[1]
    assert "\n" not in main_job
    assert "\n" not in test_line
    assert "ircreds" in main_job


def test_ci_runs_exactly_the_readme_test_line() -> None:
    test_line = _bash_blocks((REPO / "README.md").read_text())[1]
    ci_lines = [
        line.strip()
        for line in (REPO / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert test_line in ci_lines
