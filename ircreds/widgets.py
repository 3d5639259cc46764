"""Notebook panels (ipywidgets): the revoke panel and the trace explorer. Wiring only, no logic of their own.

:class:`RevokePanel` wires a containment :class:`~ircreds.containment.Plan` (impact re-evaluated with
:meth:`Plan.with_cutoff` as the cut-off moves), the exact policy document, and the apply layer
(:func:`ircreds.aws.apply` / :func:`ircreds.aws.rollback`) against the local sandbox
(:func:`ircreds.sandbox.start_sandbox`) by default or an AWS profile. Applying needs an explicit
confirmation, and the same document is never written twice to the same target from one kernel, so
re-running the cell (or clicking twice) does not apply twice.

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
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import ipywidgets as widgets
from botocore.exceptions import BotoCoreError, ClientError

from ircreds.containment.policy import canonical
from ircreds.errors import IrcredsError
from ircreds.model import iso_z

log = logging.getLogger(__name__)

SANDBOX = "sandbox"
NUDGE_MINUTES = 180

# (target id, policy target ARN, canonical document) -> action record: what this kernel already applied.
_APPLIED: dict[tuple[str, str, str], Any] = {}


def _parse_cutoff(text: str) -> datetime:
    """A UTC time from ``YYYY-MM-DDTHH:MM:SSZ`` (or any ISO 8601 form with an offset)."""
    value = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: write it in UTC with a Z, e.g. 2025-01-20T12:00:00Z")
    return value.astimezone(UTC)


def _esc(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return html.escape(iso_z(value) or "")
    if isinstance(value, list | tuple):
        return html.escape(", ".join(str(v) for v in value))
    return html.escape(str(value))


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
</style>"""


class RevokePanel:
    """Pick a role, move the cut-off, see who is cut, read the policy, dry run, confirm, apply, roll back.

    Args:
        plan: the containment plan (``ircreds.plan(trace, now=...)``).
        trace: the traced lineage; when given, the timeline is drawn with the cut-off on it.
        account: what seeds the sandbox (a scenario folder or ``account.json``); needed for ``"sandbox"``.
        target: ``"sandbox"`` (default) or the name of an AWS profile.
        sandbox_port: the port the sandbox binds (0: a free one).
        record_dir: where action records are written (default: the apply layer's default).
        apply_fn / rollback_fn: the apply layer (default :func:`ircreds.aws.apply` / ``rollback``).
        clock: the time stamped on action records (default: the machine's UTC clock, read only when
            applying or rolling back; the plan's own "now" stays whatever the notebook passed to it).
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
        self.base_plan = plan
        self.plan = plan
        self.trace = trace
        self.account = account
        self.sandbox_port = sandbox_port
        self.record_dir = record_dir
        self._apply_fn = apply_fn
        self._rollback_fn = rollback_fn
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sandbox: Any = None
        self.records: list[Any] = []
        self.last_readback: dict[str, Any] | None = None

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
            layout=widgets.Layout(width="330px"),
            style={"description_width": "initial"},
        )
        self.recommended = widgets.Button(
            description="Recommended", tooltip=iso_z(plan.recommended_cutoff) or ""
        )
        # Move the cut-off by minutes around the recommendation (the text box stays the exact value).
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
        self.rollback_button = widgets.Button(description="Rollback", icon="undo", disabled=True)
        self.summary = widgets.HTML()
        self.impact = widgets.HTML()
        self.warnings = widgets.HTML()
        self.policy = widgets.HTML()
        self.status = widgets.HTML()
        self.readback = widgets.HTML()
        self.plot = widgets.Output()
        self.show_expired = widgets.Checkbox(value=False, description="show expired sessions")

        self.role.observe(self._refresh, names="value")
        self.cutoff.observe(self._refresh, names="value")
        self.target.observe(self._refresh, names="value")
        self.show_expired.observe(self._refresh, names="value")
        self.confirm.observe(self._on_confirm, names="value")
        self.recommended.on_click(self._on_recommended)
        self.nudge.observe(self._on_nudge, names="value")
        self.dry_run_button.on_click(lambda _b: self.dry_run())
        self.apply_button.on_click(lambda _b: self.apply())
        self.rollback_button.on_click(lambda _b: self.rollback())

        self.widget = widgets.VBox(
            [
                widgets.HTML(_STYLE + "<h3>Revoke older sessions (cut-off deny on aws:TokenIssueTime)</h3>"),
                widgets.HBox([self.role, self.cutoff, self.recommended]),
                self.nudge,
                self.summary,
                self.plot,
                widgets.HBox([widgets.HTML("<b>Sessions of this role</b>"), self.show_expired]),
                self.impact,
                self.warnings,
                widgets.HTML("<b>The exact policy document</b>"),
                self.policy,
                widgets.HBox([self.target, self.dry_run_button]),
                widgets.HBox([self.confirm, self.apply_button, self.rollback_button]),
                self.status,
                self.readback,
            ],
            layout=widgets.Layout(border="1px solid #ddd", padding="6px"),
        )
        self.widget.add_class("ircreds-revoke-panel")
        for name in ("summary", "impact", "warnings", "policy", "status", "readback", "plot"):
            getattr(self, name).add_class(f"ircreds-{name}")
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

    def _target_id(self) -> str:
        if self.target.value == SANDBOX:
            return f"sandbox:{self.sandbox.endpoint_url}" if self.sandbox is not None else "sandbox"
        return f"profile:{self.target.value}"

    def _applied_key(self) -> tuple[str, str, str]:
        rev = self.revocation
        return (self._target_id(), rev.arn, canonical(rev.policy))

    # -- callbacks -------------------------------------------------------------------------------
    def _on_recommended(self, _button: Any = None) -> None:
        self.cutoff.value = iso_z(self._anchor()) or self.cutoff.value
        self.nudge.value = 0

    def _anchor(self) -> datetime | None:
        return self.base_plan.recommended_cutoff or self.base_plan.cutoff

    def _on_nudge(self, change: Any = None) -> None:
        anchor = self._anchor()
        if anchor is not None:
            self.cutoff.value = iso_z(anchor + timedelta(minutes=self.nudge.value)) or self.cutoff.value

    def _on_confirm(self, change: Any = None) -> None:
        self.apply_button.disabled = not self.confirm.value

    def _refresh(self, change: Any = None) -> None:
        try:
            cutoff = _parse_cutoff(self.cutoff.value)
        except ValueError as err:
            self.status.value = f'<span style="color:#b00">{html.escape(str(err))}</span>'
            self.apply_button.disabled = True
            return
        self.plan = self.base_plan.with_cutoff(cutoff)
        if change is not None:
            self.confirm.value = False  # any change needs a fresh confirmation
        rev = self.revocation
        self.confirm.description = (
            f"I confirm: write {rev.policy_name} to {rev.target} in {self.target.value}"
        )
        self.confirm.layout = widgets.Layout(width="auto")
        self.summary.value = (
            f"<b>{len(rev.cuts)}</b> session(s) cut, <b>{len(rev.survives)}</b> survive, "
            f"<b>{len(rev.expired)}</b> expire before the cut-off anyway "
            f"(cut-off {html.escape(iso_z(cutoff) or '')}, strict: a session issued in that second survives)"
        )
        rows = []
        order = {"cut": 0, "survives": 1}
        shown = sorted(
            (s for s in rev.sessions if self.show_expired.value or str(s.verdict) != "expired"),
            key=lambda s: order.get(str(s.verdict), 2),
        )
        for s in shown:
            rows.append(
                {
                    "verdict": str(s.verdict),
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
        hidden = len(rev.sessions) - len(shown)
        if hidden:
            self.impact.value += (
                f"<p>{hidden} session(s) that expire before the cut-off anyway are hidden.</p>"
            )
        items = "".join(f"<li>{html.escape(w.message)}</li>" for w in self.plan.warnings)
        self.warnings.value = f"<b>Warnings</b><ul>{items}</ul>" if items else ""
        self.policy.value = _pre(rev.policy)
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
                from ircreds.aws import DEFAULT_RECORD_DIR

                arns = [r.arn for r in self.plan.revocations if r.arn and r.arn.count(":") >= 5]
                self.sandbox = start_sandbox(
                    self.account, port=self.sandbox_port, account_id=arns[0].split(":")[4] if arns else None
                )
                if self.sandbox.account.get("source") == "evidence":
                    self.sandbox.write_description(self.record_dir or DEFAULT_RECORD_DIR)
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

    def dry_run(self) -> Any:
        """Show what Apply would write (before and after); touch nothing."""
        apply_fn, _ = self._apply_layer()
        session = self._call("starting the sandbox", self._session)
        if session is None:
            return None
        record = self._call(
            "dry run", lambda: apply_fn(self.selected_plan(), session, now=self.clock(), dry_run=True)
        )
        if record is not None:
            self.status.value = "<b>Dry run</b>: nothing was written. This is what Apply would change:"
            diff = record.diff() if hasattr(record, "diff") else json.dumps(_record_dict(record), indent=2)
            self.readback.value = _pre(diff)
        return record

    def apply(self) -> Any:
        """Write the selected role's cut-off deny to the target, once, after the confirmation box is ticked."""
        if not self.confirm.value:
            self.status.value = "Tick the confirmation box first: nothing was written."
            return None
        apply_fn, _ = self._apply_layer()
        session = self._call("starting the sandbox", self._session)
        if session is None:
            return None
        key = self._applied_key()
        if key in _APPLIED:
            self.confirm.value = False
            self.status.value = (
                "<b>Already applied</b> from this kernel: the same document is in place on "
                f"{html.escape(self.revocation.target)}; nothing was written again."
            )
            self._show(_APPLIED[key])
            return _APPLIED[key]
        kwargs: dict[str, Any] = {"now": self.clock(), "dry_run": False, "confirm": True}
        if self.record_dir is not None:
            kwargs["record_dir"] = self.record_dir
        record = self._call("apply", lambda: apply_fn(self.selected_plan(), session, **kwargs))
        self.confirm.value = False
        if record is None:
            return None
        _APPLIED[key] = record
        self.records.append(record)
        self.rollback_button.disabled = False
        rev = self.revocation
        self._show(record)
        self.status.value = (
            f"<b>Applied</b>: {html.escape(rev.policy_name)} on {html.escape(rev.arn)} "
            f"in {html.escape(self._target_id())}. Read back from IAM:"
        )
        return record

    def rollback(self) -> Any:
        """Undo the last apply of this panel (restore exactly the state before it)."""
        if not self.records:
            self.status.value = "Nothing to roll back."
            return None
        _, rollback_fn = self._apply_layer()
        session = self._call("starting the sandbox", self._session)
        if session is None:
            return None
        record = self.records[-1]
        kwargs: dict[str, Any] = {"now": self.clock(), "dry_run": False, "confirm": True}
        if self.record_dir is not None:
            kwargs["record_dir"] = self.record_dir
        undone = self._call("rollback", lambda: rollback_fn(record, session, **kwargs))
        if undone is None:
            return None
        self.records.pop()
        for key, value in list(_APPLIED.items()):
            if value is record:
                del _APPLIED[key]
        self.rollback_button.disabled = not self.records
        self.status.value = "<b>Rolled back</b>: the role's policies are as they were before the apply."
        self._show(undone)
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
        stored = "not present" if self.last_readback is None else _pre(self.last_readback)
        self.readback.value = (
            f"<b>In IAM now</b> ({html.escape(self.revocation.policy_name)}):{stored}"
            f"<details><summary>Action record</summary>{_pre(_record_dict(record))}</details>"
        )


class TraceExplorer:
    """Pick a credential of the lineage; see its timeline and its calls.

    Args:
        trace: the :class:`~ircreds.model.Trace` to explore.
        max_rows: how many calls the table shows at most.
    """

    COLUMNS = ("eventTime", "awsRegion", "eventSource", "eventName", "sourceIPAddress", "errorCode")

    def __init__(self, trace: Any, *, max_rows: int = 200) -> None:
        self.trace = trace
        self.max_rows = max_rows
        self.nodes = {node.key: node for node in trace.walk()}
        self.credential = widgets.Dropdown(
            options=[(self._label(node), node.key) for node in trace.walk()],
            value=trace.key,
            description="Credential",
            layout=widgets.Layout(width="720px"),
        )
        self.errors_only = widgets.Checkbox(value=False, description="errors only")
        self.summary = widgets.HTML()
        self.plot = widgets.Output()
        self.calls = widgets.HTML()
        self.credential.observe(self._refresh, names="value")
        self.errors_only.observe(self._refresh, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HTML(_STYLE),
                widgets.HBox([self.credential, self.errors_only]),
                self.summary,
                self.plot,
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

    def _refresh(self, change: Any = None) -> None:
        node = self.node
        s, summary = node.session, node.summary
        self.summary.value = (
            f"<b>{_esc(node.key)}</b> ({_esc(s.kind)}) issued {_esc(s.issued_at)} by {_esc(s.issuer.arn)}, "
            f"expires {_esc(s.expires_at)}; {summary.count} calls, {summary.error_count} errors; "
            f"new source IPs: <b>{_esc(summary.new_source_ips) or 'none'}</b>"
        )
        calls = node.calls
        if self.errors_only.value and "errorCode" in calls.columns:
            calls = calls[calls["errorCode"].notna()]
        cols = [c for c in self.COLUMNS if c in calls.columns]
        rows = calls[cols].head(self.max_rows).to_dict("records")
        rows = [{k: (None if _missing(v) else v) for k, v in r.items()} for r in rows]
        more = f"<p>… {len(calls) - self.max_rows} more</p>" if len(calls) > self.max_rows else ""
        self.calls.value = _table(rows, cols, css="ircreds-calls") + more
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
