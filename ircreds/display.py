"""HTML an analyst can read in a notebook: a verdict in words first, a short table, details collapsible.

Kernel module: it reads attributes (duck typing) and imports nothing above the kernel, so every stage's
classes can give themselves a one-line ``_repr_html_`` that calls in here (``Trace``, ``Plan``,
``VerifyResult``, ``Finding``). The load report (a dict in ``events.attrs``) and lists of findings get a
small view object: ``display.load_report(events)``, ``display.findings(trace.all_findings())``.
Every string from the evidence goes through :func:`ircreds.escape.html_text`.

Example:
    >>> html = load_report_html({"events": 3, "files_read": 1, "records_read": 3, "duplicates": 0,
    ...                          "rejects": [], "time_range": {"start": "2025-01-20T09:00:00Z",
    ...                          "end": "2025-01-20T10:00:00Z"}, "accounts": ["123456789012"]})
    >>> "3 events from 1 file" in html
    True
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ircreds.escape import html_text, truncate

__all__ = [
    "HtmlView",
    "MarkdownView",
    "findings",
    "findings_html",
    "link",
    "load_report",
    "load_report_html",
    "plan_html",
    "scope_html",
    "table",
    "trace_html",
    "verify_html",
]

_STYLE = (
    "<style>.ircreds-view{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;"
    "line-height:1.4;max-width:100%}.ircreds-view .verdict{font-size:14px;font-weight:600;margin:.2em 0 .4em}"
    ".ircreds-view table{border-collapse:collapse;margin:.3em 0;width:auto!important;table-layout:auto!important}"
    ".ircreds-view th,.ircreds-view td{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left!important;"
    "vertical-align:top}"
    ".ircreds-view td.t,.ircreds-view td.k{white-space:nowrap;font-family:ui-monospace,monospace}"
    ".ircreds-view .bad{color:#b00020;font-weight:600}.ircreds-view .ok{color:#1b5e20;font-weight:600}"
    ".ircreds-view details{margin:.2em 0}.ircreds-view summary{cursor:pointer}</style>"
)


class HtmlView:
    """A value with an HTML representation (Jupyter calls ``_repr_html_``); ``str()`` gives the verdict.

    Example:
        >>> HtmlView("<b>x</b>", "x")._repr_html_()
        '<b>x</b>'
    """

    __slots__ = ("html", "text")

    def __init__(self, html: str, text: str = "") -> None:
        self.html = html
        self.text = text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text or "<ircreds view>"


# ------------------------------------------------------------------------------------------- helpers
def _e(value: Any, limit: int | None = 200) -> str:
    if value is None:
        return ""
    return html_text(truncate(value, limit) if limit else value)


def _t(value: Any) -> str:
    """A time as ``YYYY-MM-DD HH:MM:SSZ`` (UTC), or the text as given."""
    if value is None:
        return ""
    if isinstance(value, datetime) or hasattr(value, "to_pydatetime"):
        try:
            value = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
            if value.tzinfo is not None:
                return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        except (TypeError, ValueError):
            return ""
    return _e(value)


def _wrap(verdict: str, body: str = "", *, ok: bool | None = None) -> str:
    cls = "" if ok is None else (" ok" if ok else " bad")
    return f'{_STYLE}<div class="ircreds-view"><div class="verdict{cls}">{verdict}</div>{body}</div>'


def _details(summary: str, body: str, *, open_: bool = False) -> str:
    return f"<details{' open' if open_ else ''}><summary>{summary}</summary>{body}</details>"


def table(rows: Iterable[Sequence[Any]], header: Sequence[str], *, times: Sequence[int] = ()) -> str:
    """An HTML table; every cell escaped; columns in ``times`` formatted as UTC times, unbroken.

    Example:
        >>> "&lt;b&gt;" in table([["<b>"]], ["ua"])
        True
    """
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            if i in times:
                cells.append(f'<td class="t">{_t(cell)}</td>')
            else:
                cells.append(f"<td>{_e(cell)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


# ------------------------------------------------------------------------------------------- load report
def load_report_html(report: Mapping[str, Any]) -> str:
    """The load report: counts in words, then the time range, accounts, regions; skips and rejects collapsed."""
    events, files = int(report.get("events") or 0), int(report.get("files_read") or 0)
    rejects = list(report.get("rejects") or ())
    span = report.get("time_range") or {}
    verdict = f"{events:,} events from {_plural(files, 'file')}"
    if span.get("start"):
        verdict += f", {_e(span.get('start'))} to {_e(span.get('end'))}"
    verdict += f"; {_plural(len(rejects), 'record')} rejected" if rejects else "; nothing rejected"
    rows = [
        ("records read", f"{int(report.get('records_read') or 0):,}"),
        ("re-deliveries dropped", f"{int(report.get('duplicates') or 0):,}"),
        ("eventID collisions", f"{len(report.get('id_collisions') or ()):,}"),
        ("accounts", ", ".join(map(str, report.get("accounts") or ())) or "none"),
        ("regions", ", ".join(map(str, report.get("regions") or ())) or "none"),
    ]
    body = table(rows, ["", ""])
    skipped = list(report.get("files_skipped") or ())
    if skipped:
        reasons = Counter(str(item.get("reason")) for item in skipped)
        body += _details(
            f"{_plural(len(skipped), 'file')} skipped",
            table(sorted(reasons.items(), key=lambda kv: -kv[1]), ["reason", "files"]),
        )
    if rejects:
        body += _details(
            f"{_plural(len(rejects), 'rejected record')}",
            table(
                ([r.get("file"), r.get("record"), r.get("reason")] for r in rejects[:200]),
                ["file", "record", "reason"],
            ),
            open_=True,
        )
    for caveat in report.get("caveats") or ():
        body += f"<div>caveat: {_e(caveat, None)}</div>"
    return _wrap(verdict, body, ok=not rejects)


def load_report(events_or_report: Any) -> HtmlView:
    """A view of ``events.attrs["load_report"]`` (or of the report dict itself)."""
    report = getattr(events_or_report, "attrs", {}).get("load_report", events_or_report)
    if not isinstance(report, Mapping):
        report = {}
    span = report.get("time_range") or {}
    text = f"{int(report.get('events') or 0):,} events, {span.get('start')} to {span.get('end')}"
    return HtmlView(load_report_html(report), text)


# ------------------------------------------------------------------------------------------- trace
def trace_html(trace: Any) -> str:
    """A trace: who issued the key and when, its calls, its lineage, its findings."""
    s = trace.session
    summary = trace.summary
    nodes = list(trace.walk())
    calls = sum(int(getattr(n.summary, "count", 0) or 0) for n in nodes)
    new_ips = list(trace.suspicious_ips())
    verdict = (
        f"{_e(trace.key)}: {_e(s.kind)} session of {_e(s.role_arn or s.principal_arn or '?')}, issued "
        f"{_t(s.issued_at)} by {_e(s.issuer.arn or s.issuer.type)}; {_plural(calls, 'call')} across "
        f"{_plural(len(nodes), 'credential')}"
        + (f", {_plural(len(new_ips), 'new source IP')}" if new_ips else "")
    )
    rows = []
    for node in nodes:
        n = node.session
        rows.append(
            [
                "\u2003" * int(getattr(node, "depth", 0) or 0) + str(node.key),
                str(n.kind),
                n.role_arn or n.principal_arn,
                n.issued_at,
                n.expires_at,
                node.summary.count,
                ", ".join(node.summary.new_source_ips),
            ]
        )
    body = table(
        rows,
        ["credential", "kind", "role / principal", "issued", "expires", "calls", "new IPs"],
        times=(3, 4),
    )
    body += f"<div>root: {_e(trace.root.type)} {_e(trace.root.name or trace.root.arn)}; first call {_t(summary.first)}, last {_t(summary.last)}</div>"
    found = trace.all_findings()
    if found:
        body += _details(f"{_plural(len(found), 'finding')}", findings_html(found, wrap=False))
    return _wrap(verdict, body)


# ------------------------------------------------------------------------------------------- findings
def findings_html(found: Iterable[Any], *, wrap: bool = True) -> str:
    """Findings as a compact table (severity, what, credential) with each one's event ids collapsed."""
    found = list(found)
    rows = []
    for f in found:
        ids = list(getattr(f, "event_ids", ()) or ())
        ev = _details(f"{len(ids)} event(s)", "<br>".join(_e(i) for i in ids[:100])) if ids else ""
        rows.append(
            f"<tr><td>{_e(getattr(f.severity, 'value', f.severity))}</td><td>{_e(getattr(f, 'title', None) or f.id)}"
            f'<br><small>{_e(f.summary, 400)}</small></td><td class="k">{_e(getattr(f, "access_key_id", ""))}</td>'
            f"<td>{ev}</td></tr>"
        )
    body = (
        "<table><thead><tr><th>severity</th><th>finding</th><th>credential</th><th>events</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    if not wrap:
        return body
    counts = Counter(str(getattr(f.severity, "value", f.severity)) for f in found)
    verdict = (
        f"{_plural(len(found), 'finding')}: " + ", ".join(f"{n} {sev}" for sev, n in counts.most_common())
        if found
        else "no findings"
    )
    return _wrap(verdict, body if found else "")


def findings(found: Iterable[Any]) -> HtmlView:
    """A view of a list of findings (``trace.all_findings()``)."""
    found = list(found)
    return HtmlView(findings_html(found), f"{len(found)} findings")


# ------------------------------------------------------------------------------------------- plan
def plan_html(plan: Any) -> str:
    """A plan: the cut-off and what it cuts per target, the warnings, what no revocation reaches."""
    revocations = list(plan.revocations)
    cut = sum(len(r.cuts) for r in revocations)
    attacker = sum(1 for r in revocations for s in r.cuts if s.suspicious)
    verdict = (
        f"cut-off {_t(plan.cutoff)} on {_plural(len(revocations), 'target')}: cuts {_plural(cut, 'session')} "
        f"({attacker} suspicious, {cut - attacker} legitimate); {_plural(len(plan.warnings), 'warning')}, "
        f"{_plural(len(plan.uncovered), 'item')} no revocation reaches"
    )
    rows = [
        [
            r.target,
            str(r.target_kind),
            r.account_id,
            len(r.cuts),
            sum(1 for s in r.cuts if s.suspicious),
            len(r.survives),
        ]
        for r in revocations
    ]
    body = table(rows, ["target", "kind", "account", "cuts", "suspicious", "survive"])
    sessions = [
        [r.target, s.access_key_id, "suspicious" if s.suspicious else "legitimate", s.principal, s.expires_at]
        for r in revocations
        for s in r.cuts
    ]
    if sessions:
        body += _details(
            f"the {_plural(len(sessions), 'session')} cut",
            table(sessions, ["target", "key", "status", "principal", "expires"], times=(4,)),
        )
    if plan.warnings:
        items = "".join(f"<li>{_e(w.message, 600)}</li>" for w in plan.warnings)
        body += _details(f"{_plural(len(plan.warnings), 'warning')}", f"<ul>{items}</ul>", open_=True)
    if plan.uncovered:
        body += _details(
            f"{_plural(len(plan.uncovered), 'item')} no revocation reaches",
            table(([str(u.kind), u.target, u.action] for u in plan.uncovered), ["kind", "target", "action"]),
        )
    return _wrap(verdict, body)


# ------------------------------------------------------------------------------------------- verify
def verify_html(result: Any) -> str:
    """A verification: the verdict in words, then the calls by outcome (each list collapsed)."""
    denied, succeeded = len(result.denied), len(result.succeeded)
    if result.ok:
        verdict = f"cut-off verified: {_plural(denied, 'call')} denied, 0 succeeded past the allowance"
    else:
        verdict = (
            f"cut-off NOT verified: {_plural(succeeded, 'call')} succeeded past the allowance, "
            f"{len(result.minted)} minted a new credential; {denied} denied"
        )
    allowance = int(result.allowance.total_seconds())
    body = (
        f"<div>applied {_t(result.applied_at)}, allowance {allowance} s, "
        f"{_plural(len(result.checked_keys), 'cut session')} checked</div>"
    )
    groups = (
        ("denied", "denied (explicit deny)"),
        ("succeeded", "succeeded past the allowance"),
        ("minted", "minted a credential"),
        ("within_allowance", "within the propagation allowance"),
        ("exempt", "exempt (GetCallerIdentity: never denied)"),
        ("implicit_denies", "implicit denies (no allow: another problem)"),
        ("other_errors", "other errors"),
        ("survivors_active", "calls by sessions the cut-off spares"),
    )
    for name, label in groups:
        calls = list(getattr(result, name, ()) or ())
        if not calls:
            continue
        names = Counter(c.event_name for c in calls)
        rows = [[c.event_time, c.access_key_id, c.event_name, c.error_code, c.event_id] for c in calls[:200]]
        body += _details(
            f"{len(calls)} {label}: " + _e(", ".join(f"{n} ×{k}" for n, k in names.most_common(5))),
            table(rows, ["time", "key", "call", "error", "event id"], times=(0,)),
            open_=name in ("succeeded", "minted"),
        )
    for reason in getattr(result, "reasons", ()) or ():
        body += f'<div class="bad">{_e(reason, 600)}</div>'
    return _wrap(verdict, body, ok=bool(result.ok))


# ------------------------------------------------------------------------------------------- scope
def scope_html(scope: Any) -> str:
    """A scope, read generically: its compromised credentials (``credentials``) with why, when present."""
    creds = list(getattr(scope, "credentials", ()) or ())
    verdict = f"{_plural(len(creds), 'compromised credential')} in scope"
    rows = [[getattr(c, "access_key_id", getattr(c, "key", c)), getattr(c, "why", "")] for c in creds]
    return _wrap(verdict, table(rows, ["credential", "why"]) if rows else "")


# ------------------------------------------------------------------------------------------- links
def link(path: str, label: str | None = None) -> HtmlView:
    """A link to a file written beside the notebook (a relative path opens inside JupyterLab).

    Example:
        >>> link("out/report.html")._repr_html_()
        '<a href="out/report.html" target="_blank">out/report.html</a>'
    """
    from ircreds.escape import html_attr

    return HtmlView(f'<a href="{html_attr(path)}" target="_blank">{_e(label or path, None)}</a>', str(path))


class MarkdownView(str):
    """Markdown text that a notebook renders as Markdown (``_repr_markdown_``); a plain ``str`` otherwise.

    Example:
        >>> MarkdownView("**x**")._repr_markdown_()
        '**x**'
    """

    __slots__ = ()

    def _repr_markdown_(self) -> str:
        return str(self)
