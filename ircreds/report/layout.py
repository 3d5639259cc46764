"""The post-incident report: one HTML file or a Markdown page with its figures, from the evidence.

:func:`render` is pure: it returns a :class:`Report` (the text, plus the files that go beside it:
PNG figures for Markdown, the indicators appendix as CSV and JSON) and writes nothing;
:meth:`Report.save` is the separate, explicit step that writes them. Usable from a notebook::

    report = ircreds.report.render(trace, plan=plan, events=events, fmt="html", now=now)
    report.save("incident.html")

The HTML inlines plotly.js once (no CDN, no network when opened) and prints as a PDF. The Markdown
renders on GitHub, with figures as PNG made by kaleido with Debian's Chromium. Session tokens and
secret keys never appear: the loader redacts them, and every text written passes through
:func:`scrub` once more.

Edge module: draws its figures through :mod:`ircreds.plots` (plotly, kaleido for PNG), never boto3.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ircreds import escape, plots
from ircreds.errors import SourceError
from ircreds.evidence.integrity import IntegrityResult
from ircreds.report.data import _duration, build_data, evidence_csv, scrub
from ircreds.report.indicators import indicators_csv
from ircreds.report.sigma import sigma_view
from ircreds.times import parse_iso

__all__ = ["FORMATS", "Report", "build_data", "holds", "render", "scrub"]

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"

FORMATS = ("html", "md")

#: Longest text one template expression writes; longer (attacker) values are cut in the display. The
#: JSON appendix file keeps every value whole, once.
TEXT_LIMIT = escape.TEXT_LIMIT

#: Appendix files up to this size are also embedded in the HTML as download links (data: URIs);
#: bigger ones are only written beside the report, so a huge value is not carried three more times.
EMBED_LIMIT = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """A rendered report: ``text`` plus ``assets`` (file name -> bytes) to write beside it.

    ``data`` is the JSON-ready content the templates were filled from (summary, indicators, ...).
    Asset names start with ``stem`` (``<stem>-timeline.png``); :meth:`save` renames them after the
    file it writes, so ``save("out/incident.md")`` writes ``out/incident-timeline.png`` and links it.
    """

    text: str
    fmt: str
    assets: Mapping[str, bytes] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    stem: str = "report"

    def files(self, path: str | Path) -> list[Path]:
        """The files :meth:`save` writes for ``path``: the report first, then each asset beside it."""
        path = Path(path)
        return [path, *(path.parent / name for name in self._names(path).values())]

    def contents(self, path: str | Path) -> dict[Path, bytes]:
        """What :meth:`save` writes for ``path``: each file (as :meth:`files`) and its bytes."""
        path = Path(path)
        text, assets = self._renamed(path)
        return {path: text.encode("utf-8"), **{path.parent / name: blob for name, blob in assets.items()}}

    def save(self, path: str | Path, *, overwrite: bool = False) -> list[Path]:
        """Write the report to ``path`` and each asset beside it; return the paths written (report first).

        An earlier report or appendix is never replaced by accident: when any of :meth:`files` exists
        with other bytes, nothing is written and :class:`~ircreds.errors.SourceError` says which, unless
        ``overwrite``. A file that already holds exactly what would be written is left as it is (the
        ``.html`` and ``.md`` of one report share their appendix).

        Args:
            path: the report file (``.html`` or ``.md``); its folder is created when missing.
            overwrite: replace files left by an earlier save.
        """
        path = Path(path)
        contents = self.contents(path)
        same = {target for target, blob in contents.items() if holds(target, blob)}
        if not overwrite:
            existing = next((p for p in contents if p not in same and (p.exists() or p.is_symlink())), None)
            if existing is not None:
                raise SourceError(
                    f"{existing} exists; save the report under a new name, or pass overwrite=True to replace it"
                )
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = "wb" if overwrite else "xb"
        for target, blob in contents.items():
            if target in same:
                continue
            try:
                with open(target, mode) as fh:
                    fh.write(blob)
            except FileExistsError:  # appeared since the check: still not replaced
                raise SourceError(
                    f"{target} exists; save the report under a new name, or pass overwrite=True to replace it"
                ) from None
        return list(contents)

    def _names(self, path: Path) -> dict[str, str]:
        """Each asset's name beside ``path``: its stem follows the report file's."""
        if path.stem == self.stem:
            return {name: name for name in self.assets}
        return {name: path.stem + name[len(self.stem) :] for name in self.assets}

    def _renamed(self, path: Path) -> tuple[str, dict[str, bytes]]:
        """The text and assets with the asset names following ``path``'s stem (links included)."""
        names = self._names(path)
        text = self.text
        for old, new in names.items():
            if old != new:
                text = text.replace(old, new)
        return text, {names[name]: blob for name, blob in self.assets.items()}


def holds(path: Path, blob: bytes) -> bool:
    """True when the file at ``path`` holds exactly ``blob`` (writing it again would change nothing)."""
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size != len(blob):
            return False
        return path.read_bytes() == blob
    except OSError:
        return False


def render(
    trace: Any,
    *,
    plan: Any = None,
    actions: Any = None,
    events: pd.DataFrame | None = None,
    fmt: str = "html",
    command: str | None = None,
    now: datetime | None = None,
    integrity: IntegrityResult | bool | None = None,
    load_report: Mapping[str, Any] | None = None,
    detected_at: datetime | None = None,
    verification: Any = None,
    figures: bool = True,
    stem: str = "report",
    max_calls: int = 200,
    hunt: Any = None,
    scope: Any = None,
) -> Report:
    """Render the post-incident report for ``trace`` as HTML or Markdown; write nothing.

    Args:
        trace: the :class:`ircreds.model.Trace` of the leaked key.
        plan: the containment :class:`~ircreds.containment.Plan` (or its ``to_dict()``).
        actions: the action record(s) of ``ircreds.aws.apply`` (dicts, a list, or objects with
            ``to_dict()``): who applied what, when, before and after. A record against a sandbox or any
            non-AWS endpoint is a *rehearsal*: shown and labelled so, never counted as containment.
        events: the events frame the trace came from (load report, coverage, containment seen in logs).
        fmt: ``"html"`` (one self-contained file) or ``"md"`` (PNG figures as assets).
        command: the exact command line or notebook call, recorded in the evidence section.
        now: the time the report describes the state at; default the plan's ``now`` (the report's
            "state as of" is the plan's), else the end of the evidence. A ``now`` that differs from the
            plan's is refused. Denies applied after it do not count.
        integrity: :func:`ircreds.evidence.integrity.check` of the evidence files. ``None`` (the default)
            checks the folders and files ``events`` was loaded from (hashes every file: about a
            second per thousand files); ``False`` leaves the check out.
        load_report: overrides ``events.attrs["load_report"]``.
        detected_at: when the leak was detected, for the time to detect.
        verification: :func:`ircreds.verify` of the plan against the logs after the deny (the proof);
            default: computed here when the logs show a deny of the plan by the report's now
            (``False`` leaves the proof out).
        figures: draw the timeline and lineage (False skips plotly/kaleido, e.g. for a quick preview).
        stem: prefix of asset file names (``<stem>-timeline.png``, ``<stem>-indicators.csv``...).
        max_calls: how many key calls to list at most (sensitive and write calls come first).
        hunt: an :func:`ircreds.hunt` of the same events: its rule hits on the lineage's calls are listed
            beside the findings (with each rule's author and source).
        scope: :func:`ircreds.scope`'s result: the report then shows every credential the attacker holds,
            what links them and the first malicious event across them (section after the summary).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    for name, value in (("now", now), ("detected_at", detected_at)):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    if integrity is None:
        integrity = _check_sources(events)
    elif integrity is False or integrity is True:
        integrity = _check_sources(events) if integrity else None
    data = build_data(
        trace,
        plan=plan,
        actions=actions,
        events=events,
        command=command,
        now=now,
        integrity=integrity,
        load_report=load_report,
        detected_at=detected_at,
        verification=verification,
        max_calls=max_calls,
    )
    data["sigma"] = sigma_view(hunt, trace)
    data["scope"] = _scope_data(scope)
    # -- digest signatures (validate_logs), in its own block ------------------------------------
    if integrity is not None:
        _add_validation(data, events)
    assets: dict[str, bytes] = {
        f"{stem}-indicators.csv": scrub(indicators_csv(data["indicators"])).encode(),
        f"{stem}-indicators.json": _indicators_json(data),
        f"{stem}-evidence.csv": evidence_csv(data["evidence"]["files"]).encode(),
    }
    figs = _figures(trace, parse_iso(data["containment"]["cutoff"])) if figures else {}
    fig_out: dict[str, dict[str, str] | None] = {"timeline": None, "lineage": None}
    if fmt == "html":
        for name, fig in figs.items():
            fig_out[name] = {"html": plots.figure_html(fig, name)}
        plotlyjs = plots.plotlyjs() if figs else ""
        csv_blob, json_blob = assets[f"{stem}-indicators.csv"], assets[f"{stem}-indicators.json"]
        appendix = {
            "csv_uri": (
                "data:text/csv;base64," + base64.b64encode(csv_blob).decode()
                if len(csv_blob) <= EMBED_LIMIT
                else f"{stem}-indicators.csv"
            ),
            "json_uri": (
                "data:application/json;base64," + base64.b64encode(json_blob).decode()
                if len(json_blob) <= EMBED_LIMIT
                else f"{stem}-indicators.json"
            ),
            "json_inline": _inline_indicators(data, json_blob, f"{stem}-indicators.json"),
        }
    else:
        plotlyjs = ""
        appendix = {}
        for name, png in plots.figures_png(figs).items():
            file = f"{stem}-{name}.png"
            assets[file] = png
            fig_out[name] = {"png": file}
    env = _environment(fmt)
    template = env.get_template(f"report.{fmt}.j2")
    text = template.render(
        d=data, figures=fig_out, plotlyjs=plotlyjs, appendix=appendix, stem=stem, fig_names=list(figs)
    )
    return Report(text=scrub(text), fmt=fmt, assets=assets, data=data, stem=stem)


def _indicators_json(data: Mapping[str, Any]) -> bytes:
    """The indicators appendix file: every value whole (the one place a huge attacker value is kept)."""
    text = scrub(json.dumps({"key": data["key"], "indicators": data["indicators"]}, indent=2))
    return text.encode()


def _inline_indicators(data: Mapping[str, Any], json_blob: bytes, file_name: str) -> str:
    """The indicators JSON inside the HTML page, safe in ``<script>``.

    A small appendix goes in whole. A big one (past :data:`EMBED_LIMIT`: some attacker value is huge)
    has each string cut to :data:`ircreds.escape.TEXT_LIMIT`; an indicator with a cut value says
    ``"truncated": true`` and ``full_values`` names the file beside the report that holds them whole, so
    the page stays small and never carries a 200 MB user agent.
    """
    if len(json_blob) <= EMBED_LIMIT:
        return escape.script_safe(json_blob.decode())
    rows = []
    for item in data["indicators"]:
        cut, truncated = escape.truncate_tree(item, escape.TEXT_LIMIT)
        rows.append({**cut, "truncated": True} if truncated else cut)
    return escape.script_json(
        {"key": data["key"], "indicators": rows, "full_values": file_name}, indent=2, default=str
    )


def _scope_data(scope: Any) -> dict[str, Any] | None:
    from ircreds.report.scope import scope_section

    return scope_section(scope)


def _check_sources(events: pd.DataFrame | None) -> IntegrityResult | None:
    """Hash and digest-check the local files and folders ``events`` was loaded from, if any."""
    if events is None:
        return None
    report = events.attrs.get("load_report") or {}
    paths = [
        str(src["input"])
        for src in report.get("sources") or ()
        if isinstance(src, Mapping) and src.get("kind") == "files" and src.get("input")
    ]
    if not paths or not all(Path(p).exists() for p in paths):
        return None
    from ircreds.evidence import integrity

    return integrity.check(paths, events=events)


def _add_validation(data: dict[str, Any], events: pd.DataFrame | None) -> None:
    """The RSA/digest-chain proof of :func:`ircreds.integrity.validate_logs` beside the hash check."""
    report = getattr(events, "attrs", {}).get("load_report") or {}
    summary = report.get("integrity")
    if not summary:
        paths = [
            str(src["input"])
            for src in report.get("sources") or ()
            if isinstance(src, Mapping) and src.get("kind") == "files" and src.get("input")
        ]
        if not paths or not all(Path(p).exists() for p in paths):
            return
        from ircreds.evidence.validation import validate_logs

        summary = validate_logs(paths).summary()
    data["evidence"]["validation"] = summary
    from ircreds.evidence.digests import SIGNATURE_NOTE

    c = summary["counts"]
    sentence = (
        f"Digest signatures (SHA256withRSA) checked: {c['signatures_valid']} valid, "
        f"{c['signatures_invalid']} invalid, {c['signatures_unverifiable']} unverifiable of {c['digests']}; "
        f"validation status {summary['status']} (ircreds validate-logs)."
    )
    data["caveats"] = [sentence if text == SIGNATURE_NOTE else text for text in data.get("caveats") or ()]


class _Markdown(str):
    """Markdown text already encoded (a filter's output): the Markdown finalizer leaves it alone."""

    __slots__ = ()


def _environment(fmt: str) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=fmt == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        # Every expression goes through the output-encoding layer: in HTML, autoescape (after a length
        # cap); in Markdown, escape.md_text unless a filter (md, code, fenced) encoded it already.
        finalize=_html_final if fmt == "html" else _md_final,
    )
    env.filters["md"] = _md_cell
    env.filters["code"] = _md_code
    env.filters["fenced"] = _md_fenced
    env.filters["short"] = lambda v, limit=escape.DISPLAY_LIMIT: v if v is None else escape.truncate(v, limit)
    env.filters["dur"] = _duration
    env.filters["pretty"] = lambda v: json.dumps(v, indent=2, sort_keys=True, default=str)
    env.filters["nz"] = lambda v, dash="—": dash if v in (None, "", [], ()) else v
    return env


def _html_final(value: Any) -> Any:
    from markupsafe import Markup

    if isinstance(value, str) and not isinstance(value, Markup) and len(value) > TEXT_LIMIT:
        return escape.truncate(value, TEXT_LIMIT)
    return value


def _md_final(value: Any) -> str:
    if isinstance(value, _Markdown):
        return value
    return escape.md_text(value, TEXT_LIMIT)


def _md_cell(value: Any, limit: int = TEXT_LIMIT) -> _Markdown:
    """Attacker-safe Markdown text for a table cell or a sentence ("—" when empty)."""
    if value is None or value == "" or value == [] or value == ():
        return _Markdown("—")
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    return _Markdown(escape.md_text(value, limit))


def _md_code(value: Any, limit: int = TEXT_LIMIT) -> _Markdown:
    """A code span a backtick in the value cannot break out of ("—" when empty)."""
    if value is None or value == "":
        return _Markdown("—")
    return _Markdown(escape.md_code(value, limit))


def _md_fenced(text: Any, lang: str = "") -> _Markdown:
    """A fenced code block whose fence is longer than any backtick run inside."""
    body = str(text)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return _Markdown(f"{fence}{lang}\n{body}\n{fence}")


#: The call columns the figures draw (plots.timeline); the others (free text an attacker may make huge)
#: are left out of the trace the figures get, so drawing never copies them.
DRAWN_COLUMNS = ("eventTime", "eventName", "sourceIPAddress", "errorCode", "eventID", "credential")


def _drawn(trace: Any) -> Any:
    """``trace`` with each node's calls cut to :data:`DRAWN_COLUMNS` (the same figures, less to copy)."""
    if not dataclasses.is_dataclass(trace) or not hasattr(trace, "children"):
        return trace
    calls = trace.calls[[c for c in trace.calls.columns if c in DRAWN_COLUMNS]]
    return dataclasses.replace(trace, calls=calls, children=tuple(_drawn(c) for c in trace.children))


def _figures(trace: Any, cutoff: datetime | None) -> dict[str, Any]:
    trace = _drawn(trace)
    figs = {"timeline": plots.timeline(trace, cutoff=cutoff), "lineage": plots.lineage(trace)}
    for fig in figs.values():  # legends under the plot, inside the page's margins (print, PDF, PNG)
        fig.update_layout(
            legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.3, "yanchor": "top"},
            margin={"l": 10, "r": 10, "t": 60, "b": 140},
            height=(fig.layout.height or 400) + 100,
        )
    return figs
