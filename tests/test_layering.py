"""The pure core never imports an edge library; the public API resolves."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

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


# -- the stages: imports go down only, private names stay inside their package ---------------------

#: The pipeline's stages, lowest first (README "Module map"). A module may import its own stage
#: and the stages below it; ``edges`` (I/O, AWS, UI, CLI, the case store) may import anything.
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("kernel", ("errors", "model", "schema", "times", "escape", "display", "addresses", "redaction")),
    ("evidence", ("evidence", "integrity")),
    ("sessions", ("lineage",)),
    ("trace", ("tracer",)),
    ("findings", ("findings", "hunting")),
    ("scope", ("scoping",)),
    ("containment", ("containment", "policy")),
    ("report", ("report", "plots")),
    ("edges", ("aws", "sandbox", "widgets", "accessor", "clock", "cli", "engines", "scenarios")),
)
PACKAGE = Path(ircreds.__file__).parent


def _sources(root: Path = PACKAGE) -> dict[str, str]:
    """Module name -> source text of every module of the package."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path.read_text(encoding="utf-8")
    return out


def _stage(module: str) -> int:
    """The stage index of a module (``ircreds`` itself, the lazy facade, counts as an edge)."""
    parts = module.split(".")
    if len(parts) == 1:
        return len(STAGES) - 1
    for i, (_, names) in enumerate(STAGES):
        if parts[1] in names:
            return i
    raise AssertionError(f"{module} is in no stage: add it to STAGES (and to README's module map)")


def _imports(modules: dict[str, str]) -> list[tuple[str, int, str, str | None]]:
    """Every ``ircreds`` import, lazy ones included: (importer, line, module imported, name or None)."""
    packages = {m for m in modules if f"{m}.__init__" not in modules and _is_package(m, modules)}
    found = []
    for importer, text in modules.items():
        base = importer if importer in packages else importer.rpartition(".")[0]
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                found += [
                    (importer, node.lineno, a.name, None) for a in node.names if a.name.startswith("ircreds")
                ]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = base.split(".")
                    target = ".".join(
                        parts[: len(parts) - node.level + 1] + ([node.module] if node.module else [])
                    )
                else:
                    target = node.module or ""
                if not target.startswith("ircreds"):
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    found.append(
                        (importer, node.lineno, sub, None)
                        if sub in modules
                        else (importer, node.lineno, target, alias.name)
                    )
    return found


def _is_package(module: str, modules: dict[str, str]) -> bool:
    return any(other.startswith(module + ".") for other in modules)


def _owner(module: str, modules: dict[str, str]) -> str:
    """Where a private thing defined in ``module`` may be used: its package, or the module itself at the top."""
    if _is_package(module, modules):
        return module
    parent = module.rpartition(".")[0]
    return module if parent == "ircreds" else parent


def layering_violations(modules: dict[str, str]) -> list[str]:
    """Upward imports and private names used outside their package, one sentence each."""
    out = []
    for importer, line, target, name in _imports(modules):
        where = f"{importer}:{line}"
        if not (target == "ircreds" and name == "__version__") and _stage(target) > _stage(importer):
            out.append(
                f"{where} imports {target} ({STAGES[_stage(target)][0]}) from the {STAGES[_stage(importer)][0]} stage"
            )
        parts = target.split(".")
        private = [
            (".".join(parts[:i]), p)
            for i, p in enumerate(parts)
            if p.startswith("_") and not p.startswith("__")
        ]
        if name and name.startswith("_") and not name.startswith("__"):
            private.append((_owner(target, modules), name))
        for owner, what in private:
            if importer != owner and not importer.startswith(owner + "."):
                out.append(f"{where} uses {what} of {owner}, private to it: export it from its facade")
    return out


def test_imports_go_down_the_stages_and_private_names_stay_home() -> None:
    assert layering_violations(_sources()) == []


@pytest.mark.parametrize(
    ("module", "planted", "expected"),
    [
        (
            "ircreds.tracer",
            "from ircreds.findings import run_findings",
            "imports ircreds.findings (findings) from the trace stage",
        ),
        ("ircreds.lineage.index", "import ircreds.containment.policy", "imports ircreds.containment.policy"),
        ("ircreds.report.data", "from ircreds.findings._util import make", "uses _util of ircreds.findings"),
        (
            "ircreds.scoping",
            "from ircreds.model import _private_helper",
            "uses _private_helper of ircreds.model",
        ),
        (
            "ircreds.engines.store",
            "from ircreds.evidence.sources import _reader",
            "uses _reader of ircreds.evidence.sources",
        ),
    ],
)
def test_a_planted_violation_is_found(module: str, planted: str, expected: str) -> None:
    modules = _sources()
    modules[module] += f"\n\ndef _planted():\n    {planted}\n"
    found = layering_violations(modules)
    assert any(expected in v and v.startswith(module) for v in found), found


def test_every_module_has_a_stage() -> None:
    stages = {_stage(m) for m in _sources()}
    assert stages == set(range(len(STAGES)))


def test_the_readme_module_map_is_the_stages() -> None:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| stage | where | what |") :]
    lines = table.splitlines()[2:]
    rows = [
        line.split("|")[1:3]
        for line in lines[: next(i for i, line in enumerate(lines) if not line.startswith("|"))]
    ]
    documented = [
        (stage.strip(), tuple(re.findall(r"`([a-z_]+)(?:\.py|/)`", where))) for stage, where in rows
    ]
    assert documented == [(name, modules) for name, modules in STAGES]
    existing = {m.split(".")[1] for m in _sources() if "." in m}
    assert {name for _, modules in STAGES for name in modules} == existing
