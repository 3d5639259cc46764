"""The walkthrough on a case the kit was not written for, in real JupyterLab and Chromium.

A generated incident (no ``account.json``: the sandbox must come from the evidence) is written into the
lab's root; each notebook runs on it with only its parameters cell changed. Notebook 05's widget applies
the cut-off through the evidence-built sandbox, and the test reads the policy back from that moto server
(the kernel's sandbox binds ``IRCREDS_SANDBOX_PORT``). Every notebook is screenshotted after Run All;
the screenshots' paths are printed, and each page is checked for raw Python output (a dict, a tuple list,
a dataclass repr) and for the sample's names.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from ircreds.scenarios import generate

SEED = 5151
NOTEBOOKS = (
    "01_load_evidence",
    "02_find_the_session",
    "03_trace_the_calls",
    "04_scope_the_lineage",
    "05_contain",
    "06_verify_and_report",
)
SAMPLE_NAMES = ("DevUser", "ExampleRole", "DataPipelineRole", "backup-svc", "111122223333")
# what raw Python looks like on a page: a dataclass repr, a list of tuples, a dict literal of counts
VISIBLE = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on show (others may sit in hidden tabs)
RAW = re.compile(r"\w+Result\(|\[\('|\{'\w+': \d|Finding\(id=|Trace\(key=")


@pytest.fixture(scope="module")
def case(jupyterlab: Any) -> dict[str, Any]:
    """A generated incident in the lab root, without account.json, and each notebook parameterised for it."""
    scenario = generate(SEED, events=4000, twists=[])
    folder = jupyterlab.root / "cases" / f"exercise-{SEED}"
    scenario.write(folder)
    (folder / "account.json").unlink()
    key = scenario.answer_key
    now = (datetime.fromisoformat(key["cutoff"]) - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    params = {
        "EVIDENCE": f"../cases/exercise-{SEED}",
        "LEAKED_KEY": key["leaked_access_key_id"],
        "ANSWER_KEY": None,  # a real case: no answer key, the asserts are skipped
        "NOW": now,
    }
    names = {}
    for stem in NOTEBOOKS:
        doc = json.loads((jupyterlab.root / "notebooks" / f"{stem}.ipynb").read_text())
        cell = next(c for c in doc["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
        lines = []
        for line in "".join(cell["source"]).splitlines():
            name = line.split("=", 1)[0].strip()
            lines.append(f"{name} = {params[name]!r}" if name in params and "=" in line else line)
        cell["source"] = "\n".join(lines)
        name = f"notebooks/{stem}-case.ipynb"
        (jupyterlab.root / name).write_text(json.dumps(doc))
        names[stem] = name
    return {"scenario": scenario, "notebooks": names, "now": now}


def _screenshot(page: Any, path: Path) -> list[Path]:
    """The whole notebook, one viewport at a time: scroll the notebook panel from the top and shoot each screen.

    JupyterLab scrolls the notebook inside its own panel (and renders only what is near the view), so a
    full-page screenshot would miss most cells; ``path`` gets a ``-01``, ``-02``... suffix per screen.
    """
    scroller = f"{VISIBLE} .jp-WindowedPanel-outer"
    page.evaluate(f"() => {{ const s = document.querySelector('{scroller}'); if (s) s.scrollTop = 0; }}")
    shots = []
    for i in range(1, 41):
        page.wait_for_timeout(700)
        shot = path.with_name(f"{path.stem}-{i:02d}.png")
        page.screenshot(path=str(shot))
        shots.append(shot)
        print(f"screenshot: {shot}")
        done = page.evaluate(
            f"""() => {{ const s = document.querySelector('{scroller}');
                if (!s || s.scrollTop + s.clientHeight >= s.scrollHeight - 2) return true;
                s.scrollTop += s.clientHeight - 80; return false; }}"""
        )
        if done:
            break
    return shots


def _sandbox_iam(port: int, account_id: str) -> Any:
    iam = boto3.client(
        "iam",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    def _account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    iam.meta.events.register("before-sign.iam.*", _account)
    return iam


def _run(jupyterlab: Any, page: Any, notebook: str) -> str:
    jupyterlab.delete_kernels()  # one sandbox per process and port: no other notebook's kernel may hold it
    # a fresh workspace: JupyterLab would reopen the previous test's notebooks beside this one
    for session in jupyterlab.api("/api/sessions") or []:
        jupyterlab.api(f"/api/sessions/{session['id']}", method="DELETE")
    with contextlib.suppress(Exception):
        workspaces = jupyterlab.api("/lab/api/workspaces") or {}
        for ws in (workspaces.get("workspaces") or {}).get("ids") or []:
            jupyterlab.api(f"/lab/api/workspaces/{ws}", method="DELETE")
    jupyterlab.open(page, notebook)
    try:
        jupyterlab.run_all(page, timeout=240_000)
    except Exception:
        failed = Path(jupyterlab.root) / f"failed-{Path(notebook).stem}.png"
        page.screenshot(path=str(failed))
        print(f"screenshot of the failure: {failed}")
        raise
    page.wait_for_function(
        "() => !document.body.innerText.includes('Loading widget')", timeout=60_000, polling=250
    )
    text = page.locator(f"{VISIBLE} .jp-Notebook").inner_text()
    assert "Traceback" not in text, notebook
    return text


def test_contain_notebook_on_a_generated_case_applies_through_the_evidence_built_sandbox(
    jupyterlab: Any, page: Any, case: dict[str, Any], tmp_path: Path
) -> None:
    key = case["scenario"].answer_key
    role_arn = key["role_arn"]
    text = _run(jupyterlab, page, case["notebooks"]["05_contain"])
    assert key["leaked_access_key_id"] in text
    panel = page.locator(".ircreds-revoke-panel")
    panel.wait_for(timeout=60_000)
    panel.locator(".widget-checkbox", has_text="I confirm").first.locator(
        "input"
    ).check()  # the selected role only
    panel.locator("button", has_text=re.compile(r"^\s*Apply\s*$")).click()
    panel.locator(".ircreds-status", has_text="Applied").wait_for(timeout=90_000)
    _screenshot(page, tmp_path / "05_contain-applied.png")

    iam = _sandbox_iam(jupyterlab.sandbox_port, role_arn.split(":")[4])
    role = role_arn.rsplit("/", 1)[-1]
    stored = iam.get_role_policy(RoleName=role, PolicyName="AWSRevokeOlderSessions")["PolicyDocument"]
    assert stored["Statement"][0]["Effect"] == "Deny"
    assert "aws:TokenIssueTime" in stored["Statement"][0]["Condition"]["DateLessThan"]
    # the sandbox came from the evidence: it holds the case's other users too, and says what it assumed
    users = {u["UserName"] for u in iam.list_users()["Users"]}
    assert key["issuer_arn"].rsplit("/", 1)[-1] in users


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_every_notebook_on_a_generated_case_reads_as_prose_and_tables(
    jupyterlab: Any, page: Any, case: dict[str, Any], tmp_path: Path, stem: str
) -> None:
    text = _run(jupyterlab, page, case["notebooks"][stem])
    _screenshot(page, tmp_path / f"{stem}.png")
    assert not RAW.search(text), f"{stem}: raw Python output: {RAW.search(text).group()!r}"
    outputs = page.locator(f"{VISIBLE} .jp-OutputArea").all_inner_texts()
    leaked = [n for n in SAMPLE_NAMES for out in outputs if n.lower() in out.lower()]
    assert not leaked, f"{stem} outputs name the sample: {leaked}"
    if stem == "06_verify_and_report":
        link = page.locator(f"{VISIBLE} .jp-OutputArea a", has_text="open the report")
        assert link.count() == 1
        href = link.get_attribute("href") or ""
        assert not href.startswith("/tmp")


def test_exercise_notebook_run_all_reports_unanswered_not_zero(
    jupyterlab: Any, page: Any, tmp_path: Path
) -> None:
    text = _run(jupyterlab, page, "notebooks/exercise.ipynb")
    _screenshot(page, tmp_path / "exercise.png")
    assert "unanswered" in text
    assert "0/14" not in text
