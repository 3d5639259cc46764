"""Notebook panels (ipywidgets): the revoke panel and the trace explorer. Wiring only, no logic of their own.

:class:`RevokePanel` wires a containment :class:`~ircreds.containment.Plan` (impact re-evaluated with
:meth:`Plan.with_cutoff` as the cut-off moves), the exact policy document, and the apply layer
(:func:`ircreds.aws.apply` / :func:`ircreds.aws.rollback`) against the local sandbox
(:func:`ircreds.sandbox.start_sandbox`) by default or an AWS profile. What it shows is what Apply
writes; applying and rolling back need an explicit confirmation; against the sandbox every action is
a rehearsal. It keeps no global state: applying a document already in place writes nothing because
the apply layer reads IAM first.

:class:`TraceExplorer` shows, for any credential of a :class:`~ircreds.model.Trace`, its timeline and calls.

Both display themselves: put the object last in a cell. Edge module: imports ipywidgets and IPython.

Example::

    panel = RevokePanel(plan, trace=trace, account="../data/samples/walkthrough")
    panel            # pick a role, move the cut-off, dry run, confirm, apply
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import ipywidgets as widgets
from botocore.exceptions import BotoCoreError, ClientError

from ircreds.containment.policy import normalize_cutoff
from ircreds.errors import IrcredsError
from ircreds.escape import DISPLAY_LIMIT, html_text
from ircreds.times import iso_z, parse_iso

log = logging.getLogger(__name__)


def _esc(value: Any) -> str:
    """A table cell: HTML-escaped and cut to a display length (the frame keeps the full value)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return html_text(iso_z(value) or "")
    if isinstance(value, list | tuple):
        return html_text(", ".join(str(v) for v in value), DISPLAY_LIMIT)
    return html_text(value, DISPLAY_LIMIT)


def _table(rows: list[dict[str, Any]], columns: list[str], *, css: str = "") -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        f'<tr class="{_esc(r.get("_class", ""))}">'
        + "".join(f"<td>{_esc(r.get(c))}</td>" for c in columns)
        + "</tr>"
        for r in rows
    )
    return f'<table class="ircreds-table {css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _pre(doc: Any) -> str:
    text = doc if isinstance(doc, str) else json.dumps(doc, indent=2, default=str)
    return f'<pre class="ircreds-pre">{html.escape(text)}</pre>'


def _figure_output(fig: Any) -> dict[str, Any]:
    """A plotly figure as an output-area entry: plotly's own mimetype (what its default notebook renderer sends)."""
    return {
        "output_type": "display_data",
        "data": {
            "application/vnd.plotly.v1+json": {**json.loads(fig.to_json()), "config": {"displaylogo": False}},
            "text/plain": f"<plotly figure: {fig.layout.title.text or 'timeline'}>",
        },
        "metadata": {},
    }


def _record_dict(record: Any) -> dict[str, Any]:
    if record is None:
        return {}
    if hasattr(record, "to_dict"):
        return record.to_dict()
    return dict(record)


_STYLE = """<style>
.ircreds-table {border-collapse: collapse; font-size: 12px}
.ircreds-table th, .ircreds-table td {border: 1px solid #ccc; padding: 2px 6px; text-align: left}
.ircreds-table tr.cut td {background: #fde2e1}
.ircreds-table tr.suspicious td:first-child {font-weight: bold}
.ircreds-pre {font-size: 12px; background: #f6f8fa; padding: 6px; margin: 0}
.ircreds-confirm.widget-checkbox {height: auto; min-height: 28px; flex: 1 1 auto}
.ircreds-confirm .widget-label-basic {white-space: normal; align-items: flex-start}
.ircreds-confirm .widget-label-basic span {white-space: normal; overflow: visible; text-overflow: clip}
</style>"""


SANDBOX = "sandbox"
NUDGE_MINUTES = 180

_HUMAN_TIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)"
    r"\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


def _parse_cutoff(text: str) -> tuple[datetime, str]:
    """The cut-off a box holds, and how it was read: ISO 8601 with a zone, or a human form taken as UTC.

    ``2025-01-20T12:05:00Z``, ``2025-01-20 12:05`` (no zone: UTC), ``2025-01-20 12:05 UTC``,
    ``2025-01-20T13:05+01:00`` (converted). A date alone, a time alone or anything else is refused:
    those are ambiguous. The value is what the policy writes (UTC, whole seconds rounded up).
    """
    match = _HUMAN_TIME.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"{text.strip()!r} is not a date and time: write it as 2025-01-20T12:05:00Z or 2025-01-20 12:05 (UTC)"
        )
    hour, _, rest = match["time"].partition(":")
    clock = f"{int(hour):02d}:{rest}" if len(rest.split(":")[0]) == 2 else match["time"]
    zone = (match["zone"] or "").upper()
    offset = (
        "+00:00" if zone in ("", "Z", "UTC", "GMT") else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    )
    try:
        value = parse_iso(f"{match['date']}T{clock}{offset}", strict=True)
    except ValueError as err:
        raise ValueError(f"{text.strip()!r} is not a valid time ({err})") from None
    how = "read as UTC" if not zone else "converted to UTC" if zone not in ("Z", "UTC", "GMT") else "UTC"
    if value.microsecond:
        how += ", rounded up to the whole second"
    return normalize_cutoff(value), how


def _names(values: Any) -> str:
    return ", ".join(html.escape(str(v)) for v in values)


class RevokePanel:
    """Pick a role, move the cut-off, see who is cut, read the policy, dry run, confirm, apply, roll back.

    What the panel shows is exactly what Apply writes: the cut-off in the policy, in the confirmation
    label and beside the buttons is one value; an edit that does not parse locks Apply and says why
    next to the box; every confirmation is cleared when the cut-off, the role or the target changes.
    **Apply** writes the selected role's deny; **Apply plan** writes every revocation of the plan in one
    confirmed step. **Rollback** is a change like Apply: a dry run first, an explicit confirmation, an
    action record. Against the sandbox every action is a *rehearsal*: no AWS account changes, and the
    record never counts as containment. Applying the same document again changes nothing (the apply
    layer skips a document already in place), so re-running the cell is safe.

    Args:
        plan: the containment plan (``ircreds.plan(trace, now=...)``).
        trace: the traced lineage; when given, the timeline is drawn with the cut-off on it.
        account: what seeds the sandbox (a scenario folder or ``account.json``); needed for ``"sandbox"``.
        target: ``"sandbox"`` (default) or the name of an AWS profile.
        sandbox_port: the port the sandbox binds (0: a free one).
        record_dir: where action records are written (default: the apply layer's, ``$IRCREDS_RECORD_DIR``
            or ``~/.local/share/ircreds/actions``; each record's path is shown).
        apply_fn / rollback_fn: the apply layer (default :func:`ircreds.aws.apply` / ``rollback``).
        clock: the time stamped on action records (default: :func:`ircreds.clock.utc_now`, the same real
            clock the library and the CLI read; the plan's own ``now`` stays whatever built the plan).
    """

    def __init__(
        self,
        plan: Any,
        *,
        trace: Any = None,
        account: Any = None,
        target: str = SANDBOX,
        sandbox_port: int = 0,
        record_dir: Any = None,
        apply_fn: Callable[..., Any] | None = None,
        rollback_fn: Callable[..., Any] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not plan.revocations:
            raise IrcredsError(
                "the plan has no revocation to apply: nothing in the lineage can take a cut-off deny"
            )
        from ircreds.clock import utc_now

        self.base_plan = plan
        self.plan = plan
        self.trace = trace
        self.account = account
        self.sandbox_port = sandbox_port
        self.record_dir = record_dir
        self._apply_fn = apply_fn
        self._rollback_fn = rollback_fn
        self.clock = clock or utc_now
        self.sandbox: Any = None
        self.records: list[Any] = []
        self.last_readback: dict[str, Any] | None = None
        self.error: str | None = None
        """Why the cut-off box does not parse (Apply is locked meanwhile), or ``None``."""
        self._anchor = plan.cutoff  # what the slider moves around: the last cut-off typed or chosen
        self._quiet = False  # set while the panel itself writes the box or the slider
        self._rollback_preview: Any = None  # the record whose rollback dry run was shown

        self.role = widgets.Dropdown(
            options=[(f"{r.target} ({r.target_kind})", r.target) for r in plan.revocations],
            value=plan.revocations[0].target,
            description="Role",
            layout=widgets.Layout(width="480px"),
        )
        self.cutoff = widgets.Text(
            value=iso_z(plan.cutoff) or "",
            description="Cut-off (UTC)",
            continuous_update=False,
            placeholder="2025-01-20T12:05:00Z",
            layout=widgets.Layout(width="330px"),
            style={"description_width": "initial"},
        )
        self.cutoff_note = widgets.HTML()
        self.recommended = widgets.Button(
            description="Recommended", tooltip=iso_z(plan.recommended_cutoff) or ""
        )
        # Move the cut-off by minutes around the last value typed (the text box stays the exact value).
        self.nudge = widgets.IntSlider(
            value=0,
            min=-NUDGE_MINUTES,
            max=NUDGE_MINUTES,
            step=1,
            description="± minutes",
            continuous_update=False,
            readout=True,
            layout=widgets.Layout(width="480px"),
        )
        self.target = widgets.Dropdown(
            options=self._targets(target),
            value=target,
            description="Target",
            layout=widgets.Layout(width="330px"),
        )
        self.dry_run_button = widgets.Button(description="Dry run", icon="eye")
        self.confirm = widgets.Checkbox(value=False, description="", indent=False)
        self.apply_button = widgets.Button(
            description="Apply", button_style="danger", icon="lock", disabled=True
        )
        self.confirm_plan = widgets.Checkbox(value=False, description="", indent=False)
        self.apply_plan_button = widgets.Button(
            description="Apply plan", button_style="danger", icon="lock", disabled=True
        )
        self.apply_note = widgets.HTML()
        self.rollback_button = widgets.Button(description="Rollback (dry run)", icon="undo", disabled=True)
        self.confirm_rollback = widgets.Checkbox(value=False, description="", indent=False, disabled=True)
        self.rollback_confirm_button = widgets.Button(
            description="Roll back", button_style="warning", icon="undo", disabled=True
        )
        self.summary = widgets.HTML()
        self.impact = widgets.HTML()
        self.warnings = widgets.HTML()
        self.policy = widgets.HTML()
        self.status = widgets.HTML()
        self.readback = widgets.HTML()
        self.plot = widgets.Output()
        self.show_expired = widgets.Checkbox(value=False, description="show expired sessions")
        for box in (self.confirm, self.confirm_plan, self.confirm_rollback):
            box.layout = widgets.Layout(width="auto", flex="1 1 auto")
            box.add_class("ircreds-confirm")  # long labels wrap beside their button (see _STYLE)
        for button in (
            self.recommended,
            self.apply_plan_button,
            self.rollback_button,
            self.rollback_confirm_button,
        ):
            button.layout = widgets.Layout(width="auto", min_width="100px", flex="0 0 auto")

        self.role.observe(self._on_change, names="value")
        self.cutoff.observe(self._on_cutoff, names="value")
        self.target.observe(self._on_change, names="value")
        self.show_expired.observe(lambda _c: self._refresh(), names="value")
        self.confirm.observe(self._on_confirm, names="value")
        self.confirm_plan.observe(self._on_confirm, names="value")
        self.confirm_rollback.observe(self._on_confirm, names="value")
        self.recommended.on_click(self._on_recommended)
        self.nudge.observe(self._on_nudge, names="value")
        self.dry_run_button.on_click(lambda _b: self.dry_run())
        self.apply_button.on_click(lambda _b: self.apply())
        self.apply_plan_button.on_click(lambda _b: self.apply_plan())
        self.rollback_button.on_click(lambda _b: self.rollback_dry_run())
        self.rollback_confirm_button.on_click(lambda _b: self.rollback())

        self.widget = widgets.VBox(
            [
                widgets.HTML(_STYLE + "<h3>Revoke older sessions (cut-off deny on aws:TokenIssueTime)</h3>"),
                widgets.HBox([self.role, self.cutoff, self.cutoff_note, self.recommended]),
                self.nudge,
                self.summary,
                self.plot,
                widgets.HBox([widgets.HTML("<b>Sessions of this role</b>"), self.show_expired]),
                self.impact,
                self.warnings,
                widgets.HTML("<b>The exact policy document</b>"),
                self.policy,
                widgets.HBox([self.target, self.dry_run_button]),
                self.apply_note,
                widgets.HBox([self.apply_button, self.confirm]),
                widgets.HBox([self.apply_plan_button, self.confirm_plan]),
                widgets.HBox([self.rollback_button, self.rollback_confirm_button, self.confirm_rollback]),
                self.status,
                self.readback,
            ],
            layout=widgets.Layout(border="1px solid #ddd", padding="6px"),
        )
        self.widget.add_class("ircreds-revoke-panel")
        for name in (
            "summary",
            "impact",
            "warnings",
            "policy",
            "status",
            "readback",
            "plot",
            "cutoff_note",
            "apply_note",
        ):
            getattr(self, name).add_class(f"ircreds-{name.replace('_', '-')}")
        self._refresh()

    # -- display ---------------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- state -----------------------------------------------------------------------------------
    @staticmethod
    def _targets(target: str) -> list[str]:
        options = [SANDBOX]
        try:
            import boto3

            options += sorted(boto3.session.Session().available_profiles)
        except Exception as err:  # no config file is fine: the sandbox remains
            log.debug("no AWS profiles: %s", err)
        if target not in options:
            options.append(target)
        return options

    @property
    def revocation(self) -> Any:
        """The selected role's revocation, at the current cut-off."""
        return self.plan.revocation(self.role.value)

    def selected_plan(self) -> Any:
        """The plan narrowed to the selected role, at the current cut-off: what Apply writes."""
        return replace(self.plan, revocations=(self.revocation,))

    @property
    def rehearsal(self) -> bool:
        """True when the target is the sandbox: every action is a rehearsal, never containment."""
        return self.target.value == SANDBOX

    def _target_label(self) -> str:
        if self.rehearsal:
            return "the sandbox (a rehearsal: no AWS account changes)"
        return f"AWS profile {self.target.value}"

    def _target_id(self) -> str:
        if self.target.value == SANDBOX:
            return f"sandbox:{self.sandbox.endpoint_url}" if self.sandbox is not None else "sandbox"
        return f"profile:{self.target.value}"

    # -- callbacks -------------------------------------------------------------------------------
    def _set_quietly(self, widget: Any, value: Any) -> None:
        self._quiet = True
        try:
            widget.value = value
        finally:
            self._quiet = False

    def _on_recommended(self, _button: Any = None) -> None:
        value = self.base_plan.recommended_cutoff or self.base_plan.cutoff
        if value is None:
            return
        self._anchor = value
        self._set_quietly(self.nudge, 0)
        self.cutoff.value = iso_z(value) or self.cutoff.value

    def _on_nudge(self, change: Any = None) -> None:
        if self._quiet or self._anchor is None:
            return
        # written quietly: the box changes (and re-evaluates), the anchor stays what was typed
        self._set_quietly(
            self.cutoff, iso_z(self._anchor + timedelta(minutes=self.nudge.value)) or self.cutoff.value
        )

    def _on_cutoff(self, change: Any = None) -> None:
        if not self._quiet:  # typed: the slider now moves around this value
            try:
                self._anchor = _parse_cutoff(self.cutoff.value)[0]
                self._set_quietly(self.nudge, 0)
            except ValueError:
                pass
        self._on_change(change)

    def _on_change(self, change: Any = None) -> None:
        """The cut-off, role or target changed: withdraw every confirmation, then re-evaluate."""
        for box in (self.confirm, self.confirm_plan):
            box.value = False
        self._refresh()

    def _on_confirm(self, change: Any = None) -> None:
        ok = self.error is None
        self.apply_button.disabled = not (ok and self.confirm.value)
        self.apply_plan_button.disabled = not (ok and self.confirm_plan.value)
        self.rollback_confirm_button.disabled = not (
            self.confirm_rollback.value and self._rollback_preview is not None
        )

    def _lock(self, error: str) -> None:
        """An unparseable cut-off: say why next to the box and lock Apply until it parses."""
        self.error = error
        self.cutoff_note.value = f'<span style="color:#b00">{html.escape(error)}; Apply is locked</span>'
        for box in (self.confirm, self.confirm_plan):
            box.value = False
            box.disabled = True
            box.description = "(no valid cut-off: fix the box first)"
        self.apply_note.value = (
            '<span style="color:#b00">Apply is locked: the cut-off box does not hold a time.</span>'
        )
        self.summary.value = "<i>No valid cut-off: the impact and the policy below are not shown.</i>"
        self.impact.value = ""
        self.warnings.value = ""
        self.policy.value = ""
        self.plot.outputs = ()  # no cut-off line where there is no valid cut-off
        self._on_confirm()

    def _refresh(self, change: Any = None) -> None:
        try:
            cutoff, how = _parse_cutoff(self.cutoff.value)
        except ValueError as err:
            self._lock(str(err))
            return
        self.error = None
        self.plan = self.base_plan.with_cutoff(cutoff)
        cutoff = self.plan.cutoff  # exactly what the policy writes
        when = html.escape(iso_z(cutoff) or "")
        shown = self.cutoff.value.strip()
        self.cutoff_note.value = f"= <b>{when}</b>" + (
            "" if shown == iso_z(cutoff) else f" ({html.escape(how)})"
        )
        rev = self.revocation
        revs = self.plan.revocations
        for box in (self.confirm, self.confirm_plan):
            box.disabled = False
        self.confirm.description = (
            f"I confirm: write {rev.policy_name} with aws:TokenIssueTime < {iso_z(cutoff)} "
            f"to {rev.target} in {self._target_label()}"
        )
        self.confirm_plan.description = (
            f"I confirm: write {rev.policy_name} with aws:TokenIssueTime < {iso_z(cutoff)} to all "
            f"{len(revs)} target(s) of the plan ({', '.join(r.target for r in revs)}) in {self._target_label()}"
        )
        others = [r.target for r in revs if r.target != rev.target]
        self.apply_note.value = (
            f"Apply writes <code>aws:TokenIssueTime &lt; {when}</code> to <b>{html.escape(rev.target)}</b> only"
            + (
                f"; the plan has {len(revs)} revocations: <b>Apply plan</b> also writes {_names(others)}."
                if others
                else "."
            )
            + (
                " <b>Rehearsal</b>: the target is the local sandbox, no AWS account changes and nothing "
                "here counts as containment."
                if self.rehearsal
                else f" Target: AWS profile <b>{html.escape(self.target.value)}</b>."
            )
        )
        live = [s for s in rev.cuts if s.live_at_now]
        now = iso_z(self.plan.now) if self.plan.now else None
        self.summary.value = (
            f"<b>{len(rev.cuts)}</b> session(s) cut"
            + (f" (<b>{len(live)}</b> live at now, {html.escape(now)})" if now else "")
            + f", <b>{len(rev.survives)}</b> survive, <b>{len(rev.expired)}</b> already expired"
            + (" at now" if now else " before the cut-off")
            + f" (cut-off {when}, strict: a session issued in that second survives)"
        )
        rows = []
        order = {"cut": 0, "survives": 1}
        shown_sessions = sorted(
            (s for s in rev.sessions if self.show_expired.value or str(s.verdict) != "expired"),
            key=lambda s: order.get(str(s.verdict), 2),
        )
        for s in shown_sessions:
            rows.append(
                {
                    "verdict": str(s.verdict),
                    "live now": {True: "yes", False: "no"}.get(s.live_at_now, "?"),
                    "status": "suspicious" if s.suspicious else "legitimate",
                    "principal": s.principal,
                    "access key": s.access_key_id,
                    "issued": s.issued_at,
                    "expires": s.expires_at,
                    "last activity": s.last_activity,
                    "source IPs": s.source_ips,
                    "_class": " ".join(
                        c for c in (str(s.verdict), "suspicious" if s.suspicious else "") if c
                    ),
                }
            )
        self.impact.value = _table(
            rows,
            [
                "verdict",
                "live now",
                "status",
                "principal",
                "access key",
                "issued",
                "expires",
                "last activity",
                "source IPs",
            ],
            css="ircreds-impact",
        )
        hidden = len(rev.sessions) - len(shown_sessions)
        if hidden:
            self.impact.value += f"<p>{hidden} session(s) that have already expired are hidden.</p>"
        items = "".join(
            f'<li class="{html.escape(str(w.code))}">{html.escape(w.message)}</li>'
            for w in self.plan.warnings
        )
        self.warnings.value = f"<b>Warnings</b><ul>{items}</ul>" if items else ""
        self.policy.value = _pre(rev.policy)
        self._on_confirm()
        self._draw(cutoff)

    def _draw(self, cutoff: datetime) -> None:
        if self.trace is None:
            return
        try:
            from ircreds import plots
        except ImportError as err:  # plotly missing: the panel works without the plot
            log.debug("no plot: %s", err)
            return
        self.plot.outputs = (_figure_output(plots.timeline(self.trace, cutoff=cutoff)),)

    # -- the apply layer -------------------------------------------------------------------------
    def _session(self) -> Any:
        """What the apply layer is given: the sandbox (started on first use) or a boto3 session for the profile."""
        if self.target.value == SANDBOX:
            from ircreds.sandbox import start_sandbox

            if self.sandbox is None or not self.sandbox.running:
                # no account.json (any real case): the sandbox is built from the evidence, in the plan's
                # account, and says what it assumed in sandbox.json beside the action records
                from ircreds.aws import default_record_dir

                arns = [r.arn for r in self.plan.revocations if r.arn and r.arn.count(":") >= 5]
                self.sandbox = start_sandbox(
                    self.account, port=self.sandbox_port, account_id=arns[0].split(":")[4] if arns else None
                )
                if self.sandbox.account.get("source") == "evidence":
                    self.sandbox.write_description(self.record_dir or default_record_dir())
            return self.sandbox
        import boto3

        return boto3.session.Session(profile_name=self.target.value)

    def _iam(self) -> Any:
        return self._session().client("iam")

    def _apply_layer(self) -> tuple[Callable[..., Any], Callable[..., Any]]:
        if self._apply_fn is not None and self._rollback_fn is not None:
            return self._apply_fn, self._rollback_fn
        from ircreds import aws

        return self._apply_fn or aws.apply, self._rollback_fn or aws.rollback

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (IrcredsError, ValueError, BotoCoreError, ClientError) as err:
            self.status.value = (
                f'<span style="color:#b00">{html.escape(what)} failed: {html.escape(str(err))}</span>'
            )
            log.warning("%s failed: %s", what, err)
            return None

    def _kwargs(self, *, dry_run: bool) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"now": self.clock(), "dry_run": dry_run}
        if not dry_run:
            kwargs["confirm"] = True
            if self.record_dir is not None:
                kwargs["record_dir"] = self.record_dir
        return kwargs

    def dry_run(self) -> Any:
        """Show what Apply would write for the selected role (before and after); touch nothing."""
        if self.error is not None:
            self.status.value = f"Fix the cut-off first: {html.escape(self.error)}. Nothing was read."
            return None
        apply_fn, _ = self._apply_layer()
        session = self._call("starting the sandbox", self._session)
        if session is None:
            return None
        record = self._call(
            "dry run", lambda: apply_fn(self.selected_plan(), session, **self._kwargs(dry_run=True))
        )
        if record is not None:
            self.status.value = "<b>Dry run</b>: nothing was written. This is what Apply would change:"
            diff = record.diff() if hasattr(record, "diff") else json.dumps(_record_dict(record), indent=2)
            self.readback.value = _pre(diff)
        return record

    def apply(self) -> Any:
        """Write the selected role's cut-off deny to the target, after its confirmation box is ticked."""
        return self._apply(self.selected_plan(), self.confirm, what=self.revocation.target)

    def apply_plan(self) -> Any:
        """Write every revocation of the plan to the target in one step, after its confirmation box is ticked."""
        return self._apply(
            self.plan, self.confirm_plan, what=", ".join(r.target for r in self.plan.revocations)
        )

    def _apply(self, plan: Any, box: Any, *, what: str) -> Any:
        if self.error is not None:
            self.status.value = f"Apply is locked: {html.escape(self.error)}. Nothing was written."
            return None
        if not box.value:
            self.status.value = "Tick the confirmation box first: nothing was written."
            return None
        apply_fn, _ = self._apply_layer()
        session = self._call("starting the sandbox", self._session)
        if session is None:
            return None
        record = self._call("apply", lambda: apply_fn(plan, session, **self._kwargs(dry_run=False)))
        box.value = False  # a second apply needs a fresh confirmation
        if record is None:
            return None
        changed = record.changed if hasattr(record, "changed") else getattr(record, "changes", ())
        label = " (rehearsal in the sandbox: no AWS account changed)" if self.rehearsal else ""
        if not changed:
            self.status.value = (
                f"<b>Already in place</b> on {html.escape(what)} in {html.escape(self._target_id())}: "
                f"the same document is there, nothing was written again{label}."
            )
        else:
            self.records.append(record)
            self._rollback_preview = None
            self.status.value = (
                f"<b>Applied</b>{html.escape(label)}: {html.escape(plan.revocations[0].policy_name)} with "
                f"aws:TokenIssueTime &lt; {html.escape(iso_z(plan.cutoff) or '')} on {html.escape(what)} in "
                f"{html.escape(self._target_id())}. Read back from IAM:"
            )
        self.rollback_button.disabled = not self.records
        self._show(record)
        return record

    def rollback_dry_run(self) -> Any:
        """Step one of Rollback: show what undoing the last apply would change, and ask for a confirmation."""
        if not self.records:
            self.status.value = "Nothing to roll back."
            return None
        _, rollback_fn = self._apply_layer()
        session = self._call("starting the sandbox", self._session)
        if session is None:
            return None
        record = self.records[-1]
        preview = self._call(
            "rollback dry run", lambda: rollback_fn(record, session, **self._kwargs(dry_run=True))
        )
        if preview is None:
            return None
        self._rollback_preview = record
        targets = ", ".join(c.target for c in getattr(record, "changed", record.changes))
        self.confirm_rollback.disabled = False
        self.confirm_rollback.value = False
        self.confirm_rollback.description = (
            f"I confirm: roll back the apply on {targets} in {self._target_label()} "
            "(the sessions it cut work again, the attacker's included)"
        )
        self.status.value = "<b>Rollback dry run</b>: nothing was changed. Rolling back would do this:"
        diff = preview.diff() if hasattr(preview, "diff") else json.dumps(_record_dict(preview), indent=2)
        self.readback.value = _pre(diff)
        self._on_confirm()
        return preview

    def rollback(self) -> Any:
        """Step two of Rollback: undo the last apply, after its dry run was shown and confirmed."""
        if not self.records:
            self.status.value = "Nothing to roll back."
            return None
        record = self.records[-1]
        if self._rollback_preview is not record:
            self.status.value = (
                "Run the rollback dry run first (Rollback), then confirm: nothing was changed."
            )
            return None
        if not self.confirm_rollback.value:
            self.status.value = "Tick the rollback confirmation first: nothing was changed."
            return None
        _, rollback_fn = self._apply_layer()
        session = self._call("starting the sandbox", self._session)
        if session is None:
            return None
        undone = self._call("rollback", lambda: rollback_fn(record, session, **self._kwargs(dry_run=False)))
        self.confirm_rollback.value = False
        if undone is None:
            return None
        self.records.pop()
        self._rollback_preview = None
        self.confirm_rollback.disabled = True
        self.confirm_rollback.description = ""
        self.rollback_button.disabled = not self.records
        label = " (rehearsal in the sandbox)" if self.rehearsal else ""
        self.status.value = f"<b>Rolled back</b>{label}: the policies are as they were before the apply."
        self._show(undone)
        self._on_confirm()
        return undone

    def read_back(self) -> dict[str, Any] | None:
        """The selected role's (or user's) inline policy of the plan's name, as stored in IAM now, or None."""
        rev = self.revocation
        iam = self._iam()
        name = rev.arn.split("/")[-1]
        try:
            if str(rev.target_kind) == "user":
                doc = iam.get_user_policy(UserName=name, PolicyName=rev.policy_name)["PolicyDocument"]
            else:
                doc = iam.get_role_policy(RoleName=name, PolicyName=rev.policy_name)["PolicyDocument"]
        except iam.exceptions.NoSuchEntityException:
            return None
        return json.loads(doc) if isinstance(doc, str) else doc

    def _show(self, record: Any) -> None:
        self.last_readback = self._call("read-back", self.read_back)
        stored = " not present" if self.last_readback is None else _pre(self.last_readback)
        path = getattr(record, "path", None)
        where = f" written to <code>{html.escape(str(path))}</code>" if path else ""
        self.readback.value = (
            f"<b>In IAM now</b> ({html.escape(self.revocation.target)}, "
            f"{html.escape(self.revocation.policy_name)}):{stored}"
            f"<details><summary>Action record{where}</summary>{_pre(_record_dict(record))}</details>"
        )


class TraceExplorer:
    """Pick a credential of the lineage; see its timeline and its calls, filtered and paged.

    Args:
        trace: the :class:`~ircreds.model.Trace` to explore.
        max_rows: calls a page shows (50); Previous / Next page through the rest.
    """

    COLUMNS = ("eventTime", "awsRegion", "eventSource", "eventName", "sourceIPAddress", "errorCode")

    def __init__(self, trace: Any, *, max_rows: int = 50) -> None:
        self.trace = trace
        self.max_rows = max(1, int(max_rows))
        self.page = 0
        self.nodes = {node.key: node for node in trace.walk()}
        self.credential = widgets.Dropdown(
            options=[(self._label(node), node.key) for node in trace.walk()],
            value=trace.key,
            description="Credential",
            layout=widgets.Layout(width="720px"),
        )
        self.errors_only = widgets.Checkbox(value=False, description="errors only", indent=False)
        self.new_ips_only = widgets.Checkbox(value=False, description="new source IPs only", indent=False)
        self.filter = widgets.Text(
            value="",
            placeholder="call, service, IP, region, error…",
            description="Filter",
            continuous_update=False,
        )
        self.previous = widgets.Button(description="◀ Previous", layout=widgets.Layout(width="110px"))
        self.next = widgets.Button(description="Next ▶", layout=widgets.Layout(width="110px"))
        self.position = widgets.HTML()
        self.summary = widgets.HTML()
        self.plot = widgets.Output()
        self.calls = widgets.HTML()
        self.credential.observe(self._refresh, names="value")
        for control in (self.errors_only, self.new_ips_only, self.filter):
            control.observe(self._refilter, names="value")
        self.previous.on_click(lambda _: self._turn(-1))
        self.next.on_click(lambda _: self._turn(1))
        self.widget = widgets.VBox(
            [
                widgets.HTML(_STYLE),
                self.credential,
                self.summary,
                self.plot,
                widgets.HBox([self.filter, self.errors_only, self.new_ips_only]),
                widgets.HBox([self.previous, self.next, self.position]),
                self.calls,
            ]
        )
        self.widget.add_class("ircreds-trace-explorer")
        self._refresh()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    @staticmethod
    def _label(node: Any) -> str:
        s = node.session
        where = s.role_arn or s.principal_arn or ""
        return f"{'  ' * node.depth}{node.key} · {s.kind} · {where} · {node.summary.count} calls"

    @property
    def node(self) -> Any:
        """The selected credential's trace node."""
        return self.nodes[self.credential.value]

    def filtered(self) -> Any:
        """The selected credential's calls that pass the filters (errors only, new IPs only, the text)."""
        calls = self.node.calls
        if self.errors_only.value and "errorCode" in calls.columns:
            calls = calls[calls["errorCode"].notna()]
        if self.new_ips_only.value and "sourceIPAddress" in calls.columns:
            calls = calls[calls["sourceIPAddress"].isin(self.node.summary.new_source_ips)]
        needle = self.filter.value.strip().lower()
        if needle:
            cols = [c for c in self.COLUMNS[1:] if c in calls.columns]
            hay = calls[cols].astype("string").fillna("").agg(" ".join, axis=1).str.lower()
            calls = calls[hay.str.contains(needle, regex=False)]
        return calls

    def _turn(self, step: int) -> None:
        self.page += step
        self._show_calls()

    def _refilter(self, change: Any = None) -> None:
        self.page = 0
        self._show_calls()

    def _show_calls(self) -> None:
        calls = self.filtered()
        pages = max(1, -(-len(calls) // self.max_rows))
        self.page = min(max(self.page, 0), pages - 1)
        start = self.page * self.max_rows
        cols = [c for c in self.COLUMNS if c in calls.columns]
        rows = calls[cols].iloc[start : start + self.max_rows].to_dict("records")
        rows = [{k: (None if _missing(v) else v) for k, v in r.items()} for r in rows]
        self.calls.value = _table(rows, cols, css="ircreds-calls")
        shown = (
            f"calls {start + 1:,}–{start + len(rows):,} of {len(calls):,}"
            if len(calls)
            else "no call matches"
        )
        total = len(self.node.calls)
        self.position.value = f"&nbsp;{shown}" + (
            f" (filtered from {total:,})" if len(calls) != total else ""
        )
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= pages - 1

    def _refresh(self, change: Any = None) -> None:
        node = self.node
        s, summary = node.session, node.summary
        self.summary.value = (
            f"<b>{_esc(node.key)}</b> ({_esc(s.kind)}) issued {_esc(s.issued_at)} by {_esc(s.issuer.arn)}, "
            f"expires {_esc(s.expires_at)}; {summary.count} calls, {summary.error_count} errors; "
            f"new source IPs: <b>{_esc(', '.join(summary.new_source_ips)) or 'none'}</b>"
        )
        self.page = 0
        self._show_calls()
        try:
            from ircreds import plots
        except ImportError as err:
            log.debug("no plot: %s", err)
            return
        self.plot.outputs = (_figure_output(plots.timeline(node)),)


def _missing(value: Any) -> bool:
    try:
        return bool(value != value) or value is None or str(value) in ("<NA>", "NaT")
    except (TypeError, ValueError):
        return False
