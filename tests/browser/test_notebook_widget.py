"""The contain notebook in a real JupyterLab and Chromium: run it, move the cut-off, confirm, apply.

The notebook's sandbox runs inside the kernel on the port the fixture chose (``IRCREDS_SANDBOX_PORT``),
so the test reads the stored policy from that moto server itself instead of trusting the page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3

NOTEBOOK = "notebooks/05_contain.ipynb"
CUTOFF = "2025-01-20T12:00:30Z"


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


def test_contain_notebook_applies_the_cutoff_from_the_widget(
    jupyterlab: Any, page: Any, tmp_path: Path
) -> None:
    account_id = json.loads((jupyterlab.root / "data/samples/walkthrough/account.json").read_text())[
        "account_id"
    ]
    jupyterlab.open(page, NOTEBOOK)
    jupyterlab.run_all(page, timeout=180_000)

    panel = page.locator(".ircreds-revoke-panel")
    panel.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => !document.body.innerText.includes('Loading widget')", timeout=30_000, polling=250
    )
    panel.locator(".plotly .main-svg").first.wait_for(timeout=60_000)
    assert "2025-01-20T12:00:00Z" in panel.inner_text()

    cutoff = panel.locator(".widget-text input").first
    cutoff.fill(CUTOFF)
    cutoff.press("Enter")
    panel.get_by_text(f"cut-off {CUTOFF}").wait_for(timeout=30_000)
    assert "ASIA" in panel.locator("table.ircreds-impact").inner_text()

    apply_button = panel.locator("button", has_text=re.compile(r"^\s*Apply\s*$"))
    assert apply_button.is_disabled()
    panel.locator(".widget-checkbox", has_text="I confirm").locator("input").check()
    apply_button.click()
    panel.locator(".ircreds-status", has_text="Applied").wait_for(timeout=60_000)
    readback = panel.locator(".ircreds-readback")
    assert "In IAM now" in readback.inner_text()
    assert CUTOFF in readback.inner_text()  # the document the widget read back from the sandbox

    shot = tmp_path / "contain-widget.png"
    panel.scroll_into_view_if_needed()
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")

    assert "Loading widget" not in page.content()
    assert panel.locator(".plotly .main-svg").count() >= 1

    iam = _sandbox_iam(jupyterlab.sandbox_port, account_id)
    stored = iam.get_role_policy(RoleName="ExampleRole", PolicyName="AWSRevokeOlderSessions")[
        "PolicyDocument"
    ]
    assert stored["Statement"][0]["Effect"] == "Deny"
    assert stored["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"] == CUTOFF
    assert "DevAccess" in iam.list_role_policies(RoleName="ExampleRole")["PolicyNames"]
