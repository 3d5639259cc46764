"""Every file the command line writes: never over evidence, never over an earlier output, never a traceback.

Each writing command is driven with a destination the rules refuse (an existing file without --force,
a folder that holds evidence even with --force, a place that cannot be written) and must exit 1 with
one sentence on stderr naming the path, leaving every file as it was.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from findings.records import K1, leak_story

import ircreds
from ircreds.cli import main
from ircreds.errors import SourceError
from ircreds.evidence.loader import save
from ircreds.report import render

ACCT = "111122223333"
NOW = "2025-01-20T13:00:00Z"
CUTOFF = "2025-01-20T12:00:00Z"
LOG_KEY = f"AWSLogs/{ACCT}/CloudTrail/us-east-1/2025/01/20/{ACCT}_CloudTrail_us-east-1_20250120T0905Z_EXAMPLE.json.gz"

Argv = Callable[[Path, Path], list[str]]
ACQUIRE = ["acquire", "s3://example-trail/", "--start", "2025-01-20T00:00:00Z", "--end", "2025-01-21T00:00:00Z",
           "--endpoint-url", "http://127.0.0.1:9", "--no-progress"]  # fmt: skip

#: Commands that write one file (and, for the report, files beside it): (evidence, destination) -> argv.
FILE_COMMANDS: dict[str, tuple[str, Argv]] = {
    "load --save": ("events.parquet", lambda ev, out: ["load", str(ev), "--save", str(out), "--no-progress"]),
    "plan --out": (
        "plan.json",
        lambda ev, out: ["plan", str(ev), "--key", K1, "--cutoff", CUTOFF, "--now", NOW, "--out", str(out)],
    ),
    "report --out": (
        "report.md",
        lambda ev, out: ["report", str(ev), "--key", K1, "--now", NOW, "--no-figures", "--out", str(out)],
    ),
}

#: Commands that write into a folder: (evidence, destination folder) -> argv.
FOLDER_COMMANDS: dict[str, Argv] = {
    "scenario --out": lambda ev, out: ["scenario", "--seed", "3", "--events", "300", "--out", str(out)],
    "scenario --stream --out": lambda ev, out: ["scenario", "--stream", "--events", "300", "--out", str(out)],
    "notebooks --out": lambda ev, out: ["notebooks", str(ev), "--key", K1, "--now", NOW, "--out", str(out)],
    "demo --out": lambda ev, out: ["demo", "--out", str(out)],
    "acquire --out": lambda ev, out: [*ACQUIRE, "--out", str(out)],
    "index --out": lambda ev, out: ["index", str(ev), "--no-progress", "--out", str(out)],
}


def _s3_layout(root: Path) -> Path:
    """A scenario-like evidence folder: the S3 delivery layout and an answer key."""
    path = root / LOG_KEY
    path.parent.mkdir(parents=True)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(json.dumps({"Records": leak_story()}).encode())
    (root / "answer_key.json").write_text(json.dumps({"leaked_access_key_id": K1}) + "\n")
    return root


def _flat(root: Path) -> Path:
    """Evidence as one file of CloudTrail records (a name CloudTrail never gives)."""
    root.mkdir()
    (root / "trail.json").write_text(json.dumps({"Records": leak_story()}))
    return root


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    return _flat(tmp_path / "evidence")


def _fingerprint(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str], *words: str) -> str:
    """Run, expect exit 1 and one sentence on stderr holding ``words``; return it."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------------------ existing outputs


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_an_existing_output_is_refused_without_force(
    tmp_path: Path, evidence: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    name, argv = FILE_COMMANDS[command]
    out = tmp_path / name
    out.write_text("an earlier output\n")
    _refused(argv(evidence, out), capsys, str(out), "exists", "--force")
    assert out.read_text() == "an earlier output\n"


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_force_replaces_an_earlier_output(
    tmp_path: Path, evidence: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    name, argv = FILE_COMMANDS[command]
    out = tmp_path / name
    assert main(argv(evidence, out)) == 0
    first = out.read_bytes()
    os.utime(out, (0, 0))  # an earlier output
    assert main([*argv(evidence, out), "--force"]) == 0, capsys.readouterr().err
    assert out.stat().st_mtime > 0
    assert out.read_bytes().replace(b" --force", b"") == first  # the report records its command line


def test_a_report_whose_appendix_exists_writes_nothing(
    tmp_path: Path, evidence: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, argv = FILE_COMMANDS["report --out"]
    sidecar = tmp_path / "report-indicators.csv"
    sidecar.write_text("an earlier blocklist\n")
    _refused(argv(evidence, tmp_path / name), capsys, str(sidecar), "exists", "--force")
    assert sidecar.read_text() == "an earlier blocklist\n"
    assert not (tmp_path / name).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evidence", "report-indicators.csv"]


def test_the_html_and_markdown_of_one_report_share_their_appendix(
    tmp_path: Path, evidence: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = FILE_COMMANDS["report --out"][1]
    assert main(argv(evidence, tmp_path / "r.md")) == 0
    appendix = (tmp_path / "r-indicators.json").read_bytes()
    # the same bytes again: nothing is replaced, so nothing is refused
    assert main(argv(evidence, tmp_path / "r.html")) == 0, capsys.readouterr().err
    assert (tmp_path / "r-indicators.json").read_bytes() == appendix


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_a_folder_that_holds_files_is_refused_without_force(
    tmp_path: Path, evidence: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    _refused(FOLDER_COMMANDS[command](evidence, out), capsys, str(out), "already holds files", "--force")
    assert _fingerprint(out) == {"notes.txt": hashlib.sha256(b"mine\n").hexdigest()}


def test_load_save_onto_its_own_input_is_refused_even_with_force(
    tmp_path: Path, evidence: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = tmp_path / "events.parquet"
    assert main(["load", str(evidence), "--save", str(frame), "--no-progress"]) == 0
    before = frame.read_bytes()
    _refused(["load", str(frame), "--save", str(frame), "--force", "--no-progress"], capsys, "inputs")
    assert frame.read_bytes() == before


# ------------------------------------------------------------------------------------- evidence


@pytest.mark.parametrize("force", [[], ["--force"]])
@pytest.mark.parametrize("layout", [_flat, _s3_layout])
@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_no_file_is_written_into_an_evidence_folder(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    layout: Callable[[Path], Path],
    force: list[str],
) -> None:
    evidence = layout(tmp_path / "case")
    folder = evidence / LOG_KEY.rsplit("/", 1)[0] if layout is _s3_layout else evidence
    before = _fingerprint(evidence)
    name, argv = FILE_COMMANDS[command]
    _refused([*argv(evidence, folder / name), *force], capsys, str(folder / name), "evidence")
    assert _fingerprint(evidence) == before


@pytest.mark.parametrize("force", [[], ["--force"]])
@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_no_command_writes_into_a_folder_of_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, force: list[str]
) -> None:
    evidence = _s3_layout(tmp_path / "case")
    before = _fingerprint(evidence)
    _refused([*FOLDER_COMMANDS[command](evidence, evidence), *force], capsys, str(evidence), "evidence")
    assert _fingerprint(evidence) == before  # was: answer_key.json replaced, synthetic events mixed in


def test_no_new_folder_is_made_inside_an_evidence_folder(
    tmp_path: Path, evidence: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _fingerprint(evidence)
    name, argv = FILE_COMMANDS["report --out"]
    _refused(argv(evidence, evidence / "reports" / name), capsys, "evidence")
    assert not (evidence / "reports").exists()
    assert _fingerprint(evidence) == before


def test_missing_parent_folders_of_an_output_are_created(
    tmp_path: Path, evidence: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, argv = FILE_COMMANDS["plan --out"]
    out = tmp_path / "case-1" / "plans" / name
    assert main(argv(evidence, out)) == 0, capsys.readouterr().err
    assert json.loads(out.read_text())["key"] == K1


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_load_save_onto_an_evidence_file_is_refused(
    tmp_path: Path, evidence: Path, capsys: pytest.CaptureFixture[str], force: list[str]
) -> None:
    trail = evidence / "trail.json"
    copy = tmp_path / "elsewhere.json"  # evidence outside the evidence folder: still never replaced
    copy.write_bytes(trail.read_bytes())
    before = copy.read_bytes()
    _refused(
        ["load", str(evidence), "--save", str(copy), "--no-progress", *force], capsys, str(copy), "evidence"
    )
    assert copy.read_bytes() == before


def test_apply_records_are_never_written_among_evidence(
    tmp_path: Path, evidence: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.json"
    assert main(FILE_COMMANDS["plan --out"][1](evidence, plan)) == 0
    capsys.readouterr()
    before = _fingerprint(evidence)
    _refused(["apply", str(plan), "--record-dir", str(evidence)], capsys, "--record-dir", "evidence")
    assert _fingerprint(evidence) == before


# ------------------------------------------------------------------------ unwritable destinations


def _unwritable(tmp_path: Path, kind: str, name: str) -> Path:
    if kind == "proc":
        return Path("/proc") / name
    if kind == "parent-is-a-file":
        (tmp_path / "a-file").write_text("x\n")
        return tmp_path / "a-file" / "sub" / name
    folder = tmp_path / name  # a folder where a file is wanted
    folder.mkdir()
    return folder


@pytest.mark.parametrize("kind", ["proc", "parent-is-a-file", "folder"])
@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_an_unwritable_file_destination_is_one_sentence(
    tmp_path: Path, evidence: Path, capsys: pytest.CaptureFixture[str], command: str, kind: str
) -> None:
    name, argv = FILE_COMMANDS[command]
    out = _unwritable(tmp_path, kind, name)
    _refused(argv(evidence, out), capsys, str(out))


@pytest.mark.parametrize("kind", ["proc", "parent-is-a-file", "file"])
@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_an_unwritable_folder_destination_is_one_sentence(
    tmp_path: Path, evidence: Path, capsys: pytest.CaptureFixture[str], command: str, kind: str
) -> None:
    if kind == "file":
        out = tmp_path / "a-file"
        out.write_text("x\n")
    else:
        out = _unwritable(tmp_path, kind, "out")
    _refused(FOLDER_COMMANDS[command](evidence, out), capsys, str(out))


# ------------------------------------------------------------------------------- library writers


def test_library_save_never_replaces_a_file_by_accident(tmp_path: Path, evidence: Path) -> None:
    frame = ircreds.load(evidence)
    out = save(frame, tmp_path / "events.parquet")
    first = out.read_bytes()
    with pytest.raises(SourceError, match="exists"):
        save(frame.head(1), out)
    assert out.read_bytes().replace(b" --force", b"") == first  # the report records its command line
    save(frame.head(1), out, overwrite=True)
    assert len(pd.read_parquet(out)) == 1
    trail = evidence / "trail.json"
    before = trail.read_bytes()
    with pytest.raises(SourceError, match="not a saved events frame"):
        save(frame, trail, overwrite=True)
    assert trail.read_bytes() == before


def test_library_report_save_refuses_earlier_files_unless_overwrite(tmp_path: Path, evidence: Path) -> None:
    events = ircreds.load(evidence)
    report = render(ircreds.trace(events, K1), events=events, fmt="md", figures=False, integrity=False)
    written = report.save(tmp_path / "incident.md")
    assert written == report.files(tmp_path / "incident.md")
    assert [p.name for p in written] == [
        "incident.md",
        "incident-indicators.csv",
        "incident-indicators.json",
        "incident-evidence.csv",
    ]
    (tmp_path / "incident.md").write_text("edited\n")
    with pytest.raises(SourceError, match=r"incident\.md exists"):
        report.save(tmp_path / "incident.md")
    assert (tmp_path / "incident.md").read_text() == "edited\n"
    report.save(tmp_path / "incident.md", overwrite=True)
    assert (tmp_path / "incident.md").read_text() == report.text.replace("report-", "incident-")
