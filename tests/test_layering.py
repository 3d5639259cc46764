"""The pure core never imports an edge library; the public API resolves."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import ircreds

EDGE_MODULES = {
    "ircreds.aws",
    "ircreds.sandbox",
    "ircreds.widgets",
    "ircreds.plots",
    "ircreds.report.layout",
    "ircreds.accessor",
    "ircreds.evidence.sources.s3",
    "ircreds.evidence.sources.lookup_api",
    "ircreds.engines.athena",
}
EDGE_LIBRARIES = ("boto3", "botocore", "ipywidgets", "IPython", "plotly")


def _core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(ircreds.__path__, "ircreds."):
        if info.name in EDGE_MODULES or info.name.startswith("ircreds.cli"):
            continue
        names.append(info.name)
    return names


def test_core_modules_import_without_edge_libraries() -> None:
    blocked = "; ".join(f"sys.modules[{lib!r}] = None" for lib in EDGE_LIBRARIES)
    modules = _core_modules()
    code = f"import sys; {blocked}\n" + "\n".join(f"import {m}" for m in modules)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "ircreds.errors" in modules


@pytest.mark.parametrize("name", ircreds.__all__)
def test_public_name_resolves(name: str) -> None:
    assert getattr(ircreds, name) is not None


def test_every_cli_command_module_imports() -> None:
    from ircreds.cli import COMMAND_MODULES

    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        assert callable(module.register), name
