"""``ircreds notebooks PATH --key K --out DIR``: run the whole walkthrough on a case with papermill.

What an analyst runs at 3 a.m.: notebooks 01–06 executed on the case's evidence (only their parameters
cells changed), the executed notebooks written to ``DIR`` (readable in JupyterLab, or as HTML with
nbconvert), and notebook 06's report, action records and ``sandbox.json`` in ``DIR/case``. The apply in
06 is a rehearsal in the local sandbox (built from the evidence when no ``account.json`` is at hand);
nothing touches an AWS account.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ircreds.cli._io import echo, iso_z
from ircreds.cli._write import check_folder
from ircreds.errors import IrcredsError

WALKTHROUGH = (
    "01_load_evidence.ipynb",
    "02_find_the_session.ipynb",
    "03_trace_the_calls.ipynb",
    "04_scope_the_lineage.ipynb",
    "05_contain.ipynb",
    "06_verify_and_report.ipynb",
)


class NotebookRunError(IrcredsError, RuntimeError):
    """A walkthrough notebook failed (or papermill is missing)."""


def register(subparsers: Any) -> None:
    """Add ``notebooks``."""
    p = subparsers.add_parser(
        "notebooks",
        help="run the walkthrough notebooks 01-06 on a case with papermill; write them and the report",
        description="Execute notebooks 01-06 on PATH (papermill; only the parameters change) and write the "
        "executed notebooks to DIR and the report, action records and sandbox.json to DIR/case.",
    )
    p.add_argument("evidence", metavar="PATH", help="the case's evidence (anything `ircreds load` reads)")
    p.add_argument("--key", help="the leaked access key id (default: the answer key's, for a training case)")
    p.add_argument(
        "--answer-key", type=Path, metavar="FILE", help="training only: the scenario's answer_key.json"
    )
    p.add_argument("--now", help="the moment of decision, ISO 8601 UTC (default: the real clock)")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="where the executed notebooks go (new or empty)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="write into a folder that holds files: the notebooks are replaced, the case outputs go to a "
        "new DIR/case-N",
    )
    p.add_argument(
        "--notebooks", type=Path, metavar="DIR", help="the notebooks folder (default: the kit's own)"
    )
    p.add_argument("--format", choices=("html", "md"), default="html", help="report format (default html)")
    p.set_defaults(func=run_notebooks)


def _notebooks_dir(given: Path | None) -> Path:
    candidates = [given] if given else [Path(__file__).resolve().parents[2] / "notebooks", Path("notebooks")]
    for folder in candidates:
        if folder and all((folder / name).is_file() for name in WALKTHROUGH):
            return folder
    raise NotebookRunError(
        f"no walkthrough notebooks in {candidates[0]}; pass --notebooks DIR (the folder holding 01-06)"
    )


def run_notebooks(args: argparse.Namespace) -> int:
    """Execute 01-06 in order; stop at the first failure with the notebook and cell named."""
    try:
        import papermill
    except ImportError:
        raise NotebookRunError("papermill is not installed; pip install 'ircreds[notebook]'") from None
    folder = _notebooks_dir(args.notebooks)
    out = check_folder(args.out, force=args.force).resolve()
    case = out / "case"
    n = 1
    while case.exists() and any(case.iterdir()):  # an earlier run's report and records stay (--force)
        n += 1
        case = out / f"case-{n}"
    case.mkdir(parents=True, exist_ok=True)
    evidence = str(args.evidence) if "://" in str(args.evidence) else str(Path(args.evidence).resolve())
    answer_key = args.answer_key
    if (
        answer_key is None
        and Path(evidence).is_dir()
        and (Path(evidence) / "answer_key.json").is_file()
        and not args.key
    ):
        answer_key = Path(evidence) / "answer_key.json"
    if not args.key and answer_key is None:
        raise NotebookRunError("give the leaked key with --key (or a training case's --answer-key)")
    now = args.now
    if now is None and answer_key is not None:
        # a training case: decide at its moment of decision (the answer key's cut-off less the 30 s margin)
        cutoff = json.loads(Path(answer_key).read_text()).get("cutoff")
        if cutoff:
            now = iso_z(datetime.fromisoformat(cutoff.replace("Z", "+00:00")) - timedelta(seconds=30))
            echo(
                f"training case: deciding at {now} (the answer key's cut-off less the 30 s margin); --now overrides"
            )
    params = {
        "EVIDENCE": evidence,
        "LEAKED_KEY": args.key,
        "ANSWER_KEY": str(Path(answer_key).resolve()) if answer_key else None,
        "NOW": now,
        "OUT": str(case),
        "REPORT_FORMAT": args.format,
    }
    for name in WALKTHROUGH:
        started = time.monotonic()
        target = out / name
        declared = set(papermill.inspect_notebook(str(folder / name)))
        try:
            papermill.execute_notebook(
                str(folder / name),
                str(target),
                parameters={k: v for k, v in params.items() if k in declared},
                cwd=str(out),
                kernel_name="python3",
                progress_bar=False,
                log_output=False,
            )
        except papermill.PapermillExecutionError as err:
            raise NotebookRunError(
                f"{name} failed in cell {err.exec_count}: {err.ename}: {err.evalue} (executed notebook: {target})"
            ) from None
        echo(f"{name}: ok ({time.monotonic() - started:.0f} s) -> {target}")
    reports = sorted(case.glob("incident-report.*"))
    echo(f"report: {reports[0] if reports else '(none written)'}")
    echo(f"action records and sandbox.json: {case}")
    return 0
