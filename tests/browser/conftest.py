"""A real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, offline.

Every test in this folder is marked ``browser``. The browser is launched once per session with the
flags that work as root and without network (docs/stack-notes.md); playwright never downloads one.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A launched Playwright Chromium browser; fails loudly when Debian's chromium is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test.sh does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh page in its own context (1400x1000)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def offline_page(chromium: Any) -> Iterator[Any]:
    """A page whose context refuses every network request except file:// and data: URLs."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, offline=True)
    blocked: list[str] = []

    def _route(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", _route)
    page = context.new_page()
    page.blocked_requests = blocked  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()


# --- JupyterLab (added for the notebook widget test) --------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class JupyterLab:
    """A running ``jupyter lab`` server on 127.0.0.1 with a random token, over a copy of the repo's notebooks."""

    def __init__(self, root: Path, port: int, token: str, process: Any) -> None:
        self.root = root
        self.port = port
        self.token = token
        self.process = process
        self.base = f"http://127.0.0.1:{port}"

    def api(self, path: str, method: str = "GET") -> Any:
        """Call the server's REST API (``/api/...``) with the token; returns the decoded JSON or None."""
        import json
        import urllib.request

        request = urllib.request.Request(
            f"{self.base}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def url(self, notebook: str) -> str:
        """The JupyterLab URL that opens ``notebook`` (a path relative to the server root)."""
        return f"{self.base}/lab/tree/{notebook}?token={self.token}"

    def delete_kernels(self) -> None:
        """Shut down every kernel the server runs (kernels outlive the page)."""
        for kernel in self.api("/api/kernels") or []:
            self.api(f"/api/kernels/{kernel['id']}", method="DELETE")

    # -- driving a notebook in the page --------------------------------------------------------------

    def open(self, page: Any, notebook: str, *, timeout: float = 60_000) -> None:
        """Open ``notebook`` in ``page``, wait until its kernel is idle, and dismiss the news pop-up."""
        page.goto(self.url(notebook))
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout)
        self.wait_kernel(notebook, timeout=timeout)
        self.choose_kernel(page)
        self.wait_idle(page, timeout=timeout)
        self.dismiss_popups(page)

    def wait_kernel(self, notebook: str, *, timeout: float = 60_000) -> None:
        """Wait until the server runs an idle kernel for ``notebook`` (the page's status bar can say Idle earlier)."""
        import time

        deadline = time.monotonic() + timeout / 1000
        while time.monotonic() < deadline:
            for session in self.api("/api/sessions") or []:
                kernel = session.get("kernel") or {}
                if session.get("path") == notebook and kernel.get("execution_state") == "idle":
                    return
            time.sleep(0.25)
        raise TimeoutError(f"no idle kernel for {notebook} after {timeout / 1000:.0f} s")

    def choose_kernel(self, page: Any) -> None:
        """Accept JupyterLab's "Select Kernel" dialog (the preselected Python kernel) if it shows up."""
        dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
        if dialog.count():
            dialog.locator("button", has_text=re.compile(r"^Select$")).click()

    def dismiss_popups(self, page: Any) -> None:
        """Close JupyterLab's "get notified about news" toast if it shows up (it steals clicks)."""
        for label in ("No", "Dismiss"):
            buttons = page.locator(".Toastify__toast button", has_text=re.compile(rf"^{label}$"))
            if buttons.count():
                buttons.first.click()

    def wait_idle(self, page: Any, *, timeout: float = 60_000) -> None:
        """Wait until the notebook's kernel status says Idle."""
        page.wait_for_function(
            """() => {
                const s = document.querySelector('.jp-Notebook-ExecutionIndicator')
                    || document.querySelector('[data-status]');
                const t = document.querySelector('#jp-main-statusbar');
                const idleIndicator = s && (s.getAttribute('data-status') === 'idle');
                return idleIndicator || (t && /\\bIdle\\b/.test(t.textContent));
            }""",
            timeout=timeout,
            polling=250,
        )

    def run_all(self, page: Any, *, timeout: float = 120_000) -> None:
        """Use the menu item matched exactly (Run ▸ Run All Cells), then wait for every cell to finish."""
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        page.wait_for_timeout(500)
        self.choose_kernel(page)
        page.wait_for_function(
            """() => {
                // a cell whose source is hidden (answer-key checks) shows no prompt text: it does not count
                // only the notebook on show: JupyterLab may restore other notebooks in hidden tabs
                const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
                    .filter(p => p.textContent.trim() !== '');
                return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            timeout=timeout,
            polling=250,
        )
        self.wait_idle(page, timeout=timeout)


def _copy_tree_for_lab(dest: Path) -> None:
    import shutil

    shutil.copytree(
        REPO / "notebooks",
        dest / "notebooks",
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "ircreds-out", "ircreds-actions"),
    )
    shutil.copytree(REPO / "data" / "samples", dest / "data" / "samples")


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """JupyterLab serving a temporary copy of ``notebooks/`` and ``data/samples/``; stopped at the end.

    The server gets its own settings dir (news and update checks off), its own workspaces and runtime dirs,
    and the environment variable ``IRCREDS_SANDBOX_PORT`` (a free port the notebooks' sandbox binds, so a test
    can read the sandbox's state from outside the kernel).
    """
    import json
    import os
    import secrets
    import subprocess
    import sys
    import time
    import urllib.error

    root = tmp_path_factory.mktemp("lab")
    _copy_tree_for_lab(root)
    home = tmp_path_factory.mktemp("lab_home")
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IRCREDS_SANDBOX_PORT": str(_free_port()),
        "IRCREDS_RECORD_DIR": str(home / "actions"),  # never the analyst's real record folder
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env.pop("AWS_PROFILE", None)
    log = (home / "jupyterlab.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip", "127.0.0.1",
            f"--port={port}", f"--ServerApp.token={token}", "--allow-root",
            f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    lab = JupyterLab(root, port, token, process)
    lab.sandbox_port = int(env["IRCREDS_SANDBOX_PORT"])  # type: ignore[attr-defined]
    lab.log_path = home / "jupyterlab.log"  # type: ignore[attr-defined]
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"jupyter lab exited with {process.returncode}: {lab.log_path.read_text()[-2000:]}"
                )
            try:
                lab.api("/api/status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer /api/status in 60 s: {lab.log_path}")
                time.sleep(0.2)
        yield lab
    finally:
        with contextlib.suppress(Exception):  # the server may already be gone
            lab.delete_kernels()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()
