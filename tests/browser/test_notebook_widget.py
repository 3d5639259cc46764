"""The contain notebook in a real JupyterLab and Chromium: run it, edit the cut-off, confirm, apply, roll back.

The notebook's sandbox runs inside the kernel on the port the fixture chose (``IRCREDS_SANDBOX_PORT``),
so the test reads the stored policy from that moto server itself instead of trusting the page. It saves
a screenshot at each step in ``$IRCREDS_SCREENSHOT_DIR`` (default: the test's temporary folder) and
prints the paths: look at them.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import boto3
from playwright.sync_api import expect

NOTEBOOK = "notebooks/05_contain.ipynb"
TYPED = "2025-01-20 12:00:30"  # a human form: read as UTC
CUTOFF = "2025-01-20T12:00:30Z"  # what the panel shows and Apply writes
POLICY = "AWSRevokeOlderSessions"


def _sandbox_iam(port: int, account_id: str) -> Any:
    iam = boto3.client(
        "iam",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    def _account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id  # moto: act in the scenario's account

    iam.meta.events.register("before-sign.iam.*", _account)
    return iam


def _button(panel: Any, label: str) -> Any:
    return panel.locator("button", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))


def _checkbox(panel: Any, text: str) -> Any:
    return panel.locator(".widget-checkbox", has_text=text).locator("input")


def _type(box: Any, text: str) -> None:
    box.fill(text)
    box.press("Enter")


def _shot(page: Any, panel: Any, path: Path, part: Any = None) -> None:
    (part or panel).scroll_into_view_if_needed()
    page.screenshot(path=str(path), full_page=False)
    print(f"screenshot: {path}")


def test_contain_notebook_edits_applies_the_plan_and_rolls_back_from_the_widget(
    jupyterlab: Any, page: Any, tmp_path: Path
) -> None:
    account_id = json.loads((jupyterlab.root / "data/samples/walkthrough/account.json").read_text())[
        "account_id"
    ]
    shots = Path(os.environ.get("IRCREDS_SCREENSHOT_DIR") or tmp_path)  # keep them somewhere to look at
    shots.mkdir(parents=True, exist_ok=True)
    jupyterlab.open(page, NOTEBOOK)
    jupyterlab.run_all(page, timeout=180_000)

    panel = page.locator(".ircreds-revoke-panel")
    panel.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => !document.body.innerText.includes('Loading widget')", timeout=30_000, polling=250
    )
    panel.locator(".plotly .main-svg").first.wait_for(timeout=60_000)
    assert "2025-01-20T12:00:00Z" in panel.inner_text()
    apply_plan = _button(panel, "Apply plan")
    expect(_button(panel, "Apply")).to_be_disabled()
    expect(apply_plan).to_be_disabled()
    expect(panel.locator(".ircreds-apply-note")).to_contain_text("Rehearsal")

    # an edit that does not parse: the error next to the box, Apply locked, no policy shown
    box = panel.locator(".widget-text input").first
    _type(box, "noon tomorrow")
    note = panel.locator(".ircreds-cutoff-note")
    note.get_by_text("Apply is locked").wait_for(timeout=30_000)
    expect(note).to_contain_text("noon tomorrow")
    expect(apply_plan).to_be_disabled()
    expect(_checkbox(panel, "no valid cut-off").first).to_be_disabled()
    expect(panel.locator(".ircreds-policy")).to_have_text("")
    _shot(page, panel, shots / "1-unparseable-cutoff.png", box)

    # a human form: read as UTC, the normalised value beside the box, in the policy and in the label
    _type(box, TYPED)
    note.get_by_text(f"= {CUTOFF}").wait_for(timeout=30_000)
    expect(note).to_contain_text("read as UTC")
    expect(panel.locator(".ircreds-policy")).to_contain_text(CUTOFF)
    expect(panel.locator("table.ircreds-impact")).to_contain_text("ASIA")
    plan_box = _checkbox(panel, "to all 2 target(s) of the plan")
    expect(panel.locator(".widget-checkbox", has_text="to all 2 target(s)")).to_contain_text(CUTOFF)
    plan_box.check()
    expect(apply_plan).to_be_enabled(timeout=30_000)
    _shot(page, panel, shots / "2-confirmed-human-cutoff.png", apply_plan)
    apply_plan.click()
    panel.locator(".ircreds-status", has_text="Applied").wait_for(timeout=60_000)
    expect(panel.locator(".ircreds-status")).to_contain_text("rehearsal")
    readback = panel.locator(".ircreds-readback")
    expect(readback).to_contain_text("In IAM now")
    expect(readback).to_contain_text(CUTOFF)  # the document the widget read back from the sandbox
    _shot(page, panel, shots / "3-applied-plan.png", apply_plan)

    iam = _sandbox_iam(jupyterlab.sandbox_port, account_id)
    for role in ("ExampleRole", "DataPipelineRole"):  # Apply plan wrote every revocation
        stored = iam.get_role_policy(RoleName=role, PolicyName=POLICY)["PolicyDocument"]
        assert stored["Statement"][0]["Effect"] == "Deny"
        assert stored["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"] == CUTOFF
    assert "DevAccess" in iam.list_role_policies(RoleName="ExampleRole")["PolicyNames"]

    # rollback: a dry run first, then an explicit confirmation
    _button(panel, "Rollback (dry run)").click()
    panel.locator(".ircreds-status", has_text="Rollback dry run").wait_for(timeout=60_000)
    roll_back = _button(panel, "Roll back")
    expect(roll_back).to_be_disabled()
    assert POLICY in iam.list_role_policies(RoleName="ExampleRole")["PolicyNames"]
    _checkbox(panel, "roll back the apply").check()
    expect(roll_back).to_be_enabled(timeout=30_000)
    _shot(page, panel, shots / "4-rollback-confirmation.png", roll_back)
    roll_back.click()
    panel.locator(".ircreds-status", has_text="Rolled back").wait_for(timeout=60_000)
    expect(panel.locator(".ircreds-readback")).to_contain_text("not present", timeout=30_000)
    for role in ("ExampleRole", "DataPipelineRole"):
        assert POLICY not in iam.list_role_policies(RoleName=role)["PolicyNames"]
    _shot(page, panel, shots / "5-rolled-back.png", roll_back)
    assert "Loading widget" not in page.content()
    assert panel.locator(".plotly .main-svg").count() >= 1
