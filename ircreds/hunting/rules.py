"""Read Sigma rules (pySigma does the parsing) and say where each came from, for attribution.

SigmaHQ's rules are under the Detection Rule License (DRL 1.1): whoever shows a rule's result keeps
its author and a link to its source. :func:`source_link` builds that link from, in order: the
``source_url`` you give (a base URL the rule's path under the rules folder is appended to); the git
checkout the rules sit in (its ``origin`` remote and the checked-out commit); a ``MANIFEST.md``
beside the rules saying ``OWNER/REPO at commit SHA`` and the upstream folder; else the file's own
``file://`` URI.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "r.yml").write_text(
    ...     "title: t\\nid: 11111111-2222-3333-4444-555555555555\\nauthor: A. Author\\nlevel: high\\n"
    ...     "logsource: {product: aws, service: cloudtrail}\\n"
    ...     "detection: {sel: {eventName: StopLogging}, condition: sel}\\n")
    >>> loaded, unsupported = load_rules(folder, source_url="https://example.com/rules")
    >>> [(info.title, info.author, info.level, info.source) for _, info in loaded], unsupported
    ([('t', 'A. Author', 'high', 'https://example.com/rules/r.yml')], [])
"""

from __future__ import annotations

import configparser
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ircreds.errors import RuleError

log = logging.getLogger(__name__)

RULE_SUFFIXES = (".yml", ".yaml")


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleInfo:
    """What a hit says about its rule: identity, level, ATT&CK tags, and attribution."""

    rule_id: str
    title: str
    level: str
    tags: tuple[str, ...]
    author: str | None
    source: str
    path: str | None
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnsupportedRule:
    """A rule that could not be read, converted or run, and why (never dropped silently)."""

    path: str
    reason: str
    rule_id: str | None = None
    title: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``path`` and ``reason`` (plus the rule's id and title when known)."""
        return {"path": self.path, "reason": self.reason, "rule_id": self.rule_id, "title": self.title}


def _sigma() -> Any:
    try:
        import sigma.collection
    except ImportError as err:  # pragma: no cover - the extra is part of the dev install
        raise RuleError(
            "running Sigma rules needs pySigma: pip install 'ircreds[sigma]' (pysigma and its DuckDB backend)"
        ) from err
    return sigma.collection


def rule_files(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, Path]]:
    """Every rule file under ``paths`` as ``(file, the folder it was found under)``, sorted.

    Raises:
        RuleError: a path does not exist.
    """
    found: list[tuple[Path, Path]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += [(p, path) for p in sorted(path.rglob("*")) if p.suffix in RULE_SUFFIXES and p.is_file()]
        elif path.is_file():
            found.append((path, path.parent))
        else:
            raise RuleError(f"no Sigma rules at {path}: give a rule file or a folder of .yml rules")
    return found


def load_rules(
    rules: Any, *, source_url: str | None = None
) -> tuple[list[tuple[Any, RuleInfo]], list[UnsupportedRule]]:
    """Parse rules from paths (files or folders) or take a pySigma ``SigmaCollection`` as it is.

    Returns:
        ``(rules, unsupported)``: each usable rule with its :class:`RuleInfo`, and every rule or file
        that could not be parsed, with the reason.
    """
    collection_mod = _sigma()
    import yaml  # a pySigma dependency

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    from sigma.correlations import SigmaCorrelationRule
    from sigma.exceptions import SigmaRuleLocation

    unsupported: list[UnsupportedRule] = []
    loaded: list[tuple[Any, RuleInfo]] = []
    if isinstance(rules, collection_mod.SigmaCollection):
        items: list[tuple[Any, Path | None]] = [(r, None) for r in rules.rules]
    else:
        if isinstance(rules, (str, os.PathLike)):
            rules = [rules]
        items = []
        for path, root in rule_files(rules):
            try:
                # what SigmaCollection.from_yaml does, with libyaml's parser when present (10x faster)
                documents = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader))
                collection = collection_mod.SigmaCollection.from_dicts(
                    documents, collect_errors=True, source=SigmaRuleLocation(path)
                )
            except Exception as err:  # a broken file is listed, the others still run
                unsupported.append(
                    UnsupportedRule(path=str(path), reason=f"cannot be parsed: {_one_line(err)}")
                )
                continue
            items += [(r, root) for r in collection.rules]
    for rule, root in items:
        info = rule_info(rule, root=root, source_url=source_url)
        if rule.errors:
            reason = "; ".join(_one_line(e) for e in rule.errors)
            unsupported.append(_unsupported(info, f"invalid rule: {reason}"))
        elif isinstance(rule, SigmaCorrelationRule):
            unsupported.append(
                _unsupported(info, "correlation rules are not run (rules over one event only)")
            )
        else:
            loaded.append((rule, info))
    return loaded, unsupported


def _unsupported(info: RuleInfo, reason: str) -> UnsupportedRule:
    return UnsupportedRule(
        path=info.path or info.source, reason=reason, rule_id=info.rule_id, title=info.title
    )


def _one_line(err: BaseException | str) -> str:
    return " ".join(str(err).split())


def rule_info(rule: Any, *, root: Path | None = None, source_url: str | None = None) -> RuleInfo:
    """The :class:`RuleInfo` of a pySigma rule (``root``: the folder its path is relative to)."""
    path = rule.source.path if rule.source is not None else None
    level = rule.level.name.lower() if rule.level is not None else "informational"
    rule_id = str(rule.id) if rule.id is not None else (path.stem if path else rule.title)
    return RuleInfo(
        rule_id=rule_id,
        title=str(rule.title),
        level=level,
        tags=tuple(f"{t.namespace}.{t.name}" for t in rule.tags),
        author=rule.author,
        source=source_link(path, root or (path.parent if path else None), source_url)
        if path
        else (source_url or ""),
        path=str(path) if path else None,
        description=" ".join((rule.description or "").split()) or None,
    )


def source_link(path: Path, root: Path | None, source_url: str | None = None) -> str:
    """Where a rule came from: a URL for attribution (see the module docstring for the order).

    Example:
        >>> source_link(Path("/r/aws/x.yml"), Path("/r"), "https://example.com/sigma/")
        'https://example.com/sigma/aws/x.yml'
    """
    root = root or path.parent
    try:
        rel = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        rel = path.name
    if source_url:
        return source_url.rstrip("/") + "/" + rel
    return _git_link(path) or _manifest_link(root, rel) or path.resolve().as_uri()


def _git_dir(start: Path) -> tuple[Path, Path] | None:
    """``(git directory, work tree folder)`` of the checkout holding ``start``."""
    for folder in [start, *start.parents]:
        dot = folder / ".git"
        if dot.is_dir():
            return dot, folder
        if dot.is_file():  # a worktree: "gitdir: <path>"
            text = dot.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                return (folder / text.split(":", 1)[1].strip()).resolve(), folder
    return None


def _git_link(path: Path) -> str | None:
    found = _git_dir(path.resolve().parent)
    if found is None:
        return None
    git, work = found
    try:
        base = (
            (git / (git / "commondir").read_text().strip()).resolve() if (git / "commondir").exists() else git
        )
        config = configparser.ConfigParser(strict=False)
        config.read(base / "config")
        url = config.get('remote "origin"', "url", fallback="")
        commit = (git / "HEAD").read_text().strip()
        if commit.startswith("ref:"):
            ref = commit.split(":", 1)[1].strip()
            packed = (base / "packed-refs").read_text() if (base / "packed-refs").exists() else ""
            match = re.search(rf"^([0-9a-f]{{40}}) {re.escape(ref)}$", packed, re.M)
            commit = (
                (base / ref).read_text().strip()
                if (base / ref).exists()
                else (match.group(1) if match else ref.rsplit("/", 1)[-1])
            )
        repo = re.search(r"github\.com[:/]([^/]+/[^/]+?)(?:\.git)?/?$", url)
        rel = path.resolve().relative_to(work.resolve()).as_posix()
    except (OSError, ValueError, configparser.Error):
        return None
    return f"https://github.com/{repo.group(1)}/blob/{commit}/{rel}" if repo else None


_MANIFEST_REPO = re.compile(r"\b([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+) at commit ([0-9a-f]{40})")
_MANIFEST_FOLDER = re.compile(r"folder `([^`]+)`")


def _manifest_link(root: Path, rel: str) -> str | None:
    manifest = root / "MANIFEST.md"
    if not manifest.is_file():
        manifest = root.parent / "MANIFEST.md"
        if not manifest.is_file():
            return None
    text = manifest.read_text(errors="replace")
    repo, folder = _MANIFEST_REPO.search(text), _MANIFEST_FOLDER.search(text)
    if not repo:
        return None
    prefix = folder.group(1).strip("/") + "/" if folder else ""
    return f"https://github.com/{repo.group(1)}/blob/{repo.group(2)}/{prefix}{rel}"
