"""Plotly figures of a trace (edge module): the calls timeline and the lineage diagram.

Both stay readable for a 10,000-call lineage: the timeline draws points with WebGL
(``Scattergl``), one lane per credential, one trace per source IP (the busiest
``MAX_IP_TRACES``; the rest share one "other IPs" trace), errors as crosses; the lineage diagram
draws one node per credential, however many calls it made.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from ircreds.errors import IrcredsError
from ircreds.escape import plot_text

if TYPE_CHECKING:
    from ircreds.model import Trace

#: Source IPs with their own colour and legend entry; the rest are grouped.
MAX_IP_TRACES = 12
_PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939",
)  # fmt: skip
_KIND_COLOURS = {
    "AssumeRole": "#1f77b4",
    "AssumeRoleWithSAML": "#17becf",
    "AssumeRoleWithWebIdentity": "#17becf",
    "GetSessionToken": "#9467bd",
    "GetFederationToken": "#9467bd",
    "ConsoleLogin": "#8c564b",
    "SwitchRole": "#8c564b",
    "Service": "#2ca02c",
    "CreateAccessKey": "#d62728",
    "Observed": "#7f7f7f",
}


def _lane(node: Trace) -> str:
    # plotly reads HTML (<a href> links) and %{...} in labels: every attacker-written part is encoded
    s = node.session
    what = s.role_arn.rsplit("/", 1)[-1] if s.role_arn else (s.session_name or "")
    return plot_text(f"{node.key} · {s.kind}{' · ' + what if what else ''}")


def timeline(trace: Trace, cutoff: datetime | None = None, *, title: str | None = None) -> go.Figure:
    """Every call of the lineage on a time axis: one lane per credential, coloured by source IP.

    Errors are crosses; each credential's issue time is a diamond on its lane; ``cutoff`` (a
    timezone-aware datetime) is a dashed vertical mark across the lanes of temporary credentials only
    (a long-term key carries no ``aws:TokenIssueTime``: the deny does not cut it).
    """
    if cutoff is not None and cutoff.tzinfo is None:
        raise ValueError(f"cutoff must be timezone-aware, got {cutoff!r}")
    nodes = list(trace.walk())
    lanes = [_lane(n) for n in nodes]
    calls = trace.all_calls()
    fig = go.Figure()
    if len(calls):
        lane_of = {n.key: lane for n, lane in zip(nodes, lanes, strict=True)}
        ips = (
            calls["sourceIPAddress"].astype("string").fillna("unknown")
            if "sourceIPAddress" in calls
            else None
        )
        ips = ips if ips is not None else pd.Series("unknown", index=calls.index, dtype="string")
        top = ips.value_counts().index[:MAX_IP_TRACES].tolist()
        group = ips.where(ips.isin(top), "other IPs")
        errors = calls["errorCode"].notna() if "errorCode" in calls else pd.Series(False, index=calls.index)
        names = calls["eventName"].astype("string").fillna("") if "eventName" in calls else ""
        suspicious = set(trace.suspicious_ips())
        for i, ip in enumerate([*top, "other IPs"]):
            mask = (group == ip).to_numpy()
            if not mask.any():
                continue
            sub = calls.loc[mask]
            err = errors.loc[mask].to_numpy()
            label = plot_text(f"{ip} (new)" if ip in suspicious else ip)
            fig.add_trace(
                go.Scattergl(
                    x=sub["eventTime"],
                    y=sub["credential"].map(lane_of),
                    mode="markers",
                    name=label,
                    marker={
                        "color": _PALETTE[i % len(_PALETTE)] if ip != "other IPs" else "#c7c7c7",
                        "symbol": ["x" if e else "circle" for e in err],
                        "size": [9 if e else 6 for e in err],
                        "line": {"width": 0},
                    },
                    customdata=list(
                        zip(
                            (plot_text(n) for n in names.loc[mask])
                            if isinstance(names, pd.Series)
                            else [""] * len(sub),
                            (plot_text(e) for e in calls.loc[mask, "errorCode"].astype("string").fillna(""))
                            if "errorCode" in calls
                            else [""] * len(sub),
                            strict=True,
                        )
                    ),
                    hovertemplate="%{x}<br>%{y}<br>%{customdata[0]} %{customdata[1]}<extra>"
                    + plot_text(ip)
                    + "</extra>",
                )
            )
    issued = [
        (n.session.issued_at, lane) for n, lane in zip(nodes, lanes, strict=True) if n.session.issued_at
    ]
    if issued:
        fig.add_trace(
            go.Scatter(
                x=[t for t, _ in issued],
                y=[lane for _, lane in issued],
                mode="markers",
                name="issued",
                marker={"symbol": "diamond", "size": 12, "color": "black"},
                hovertemplate="issued %{x}<br>%{y}<extra></extra>",
            )
        )
    order = list(reversed(lanes))
    if cutoff is not None:
        # the deny reaches temporary credentials only (aws:TokenIssueTime): draw it across their lanes,
        # never across a long-term key's lane, which it does not cut
        from ircreds.containment.evaluate import is_temporary_key

        for n, lane in zip(nodes, lanes, strict=True):
            if is_temporary_key(n.key):
                y = order.index(lane)
                fig.add_shape(
                    type="line",
                    x0=cutoff,
                    x1=cutoff,
                    y0=y - 0.45,
                    y1=y + 0.45,
                    xref="x",
                    yref="y",
                    line={"dash": "dash", "color": "#d62728"},
                )
        fig.add_annotation(x=cutoff, y=1, yref="paper", text="cut-off", showarrow=False, yanchor="bottom")
    fig.update_yaxes(categoryorder="array", categoryarray=order, title=None)
    fig.update_xaxes(title="time (UTC)", **_zoom(trace, calls, cutoff))
    fig.update_layout(
        title=plot_text(title or f"Calls in the lineage of {trace.key}"),
        height=max(300, 90 + 45 * len(lanes)),
        legend={"title": "source IP (× = error)"},
        margin={"l": 10, "r": 10, "t": 60, "b": 40},
    )
    return fig


def _zoom(trace: Trace, calls: pd.DataFrame, cutoff: datetime | None) -> dict[str, Any]:
    """Open on the lineage's activity; a range slider spans the whole evidence (``trace.evidence``)."""
    times = [t for n in trace.walk() for t in (n.session.issued_at, n.summary.first, n.summary.last) if t]
    if len(calls) and "eventTime" in calls:
        times += [calls["eventTime"].min(), calls["eventTime"].max()]
    if cutoff is not None:
        times.append(cutoff)
    times = [pd.Timestamp(t) for t in times if t is not None and not pd.isna(t)]
    if not times:
        return {}
    first, last = min(times), max(times)
    pad = max((last - first) * 0.05, pd.Timedelta(minutes=5))
    view = [first - pad, last + pad]
    start, end = getattr(trace.evidence, "start", None), getattr(trace.evidence, "end", None)
    whole = [min(pd.Timestamp(start), view[0]), max(pd.Timestamp(end), view[1])] if start and end else view
    return {"range": view, "rangeslider": {"visible": True, "range": whole, "thickness": 0.08}}


def _layout(trace: Trace) -> tuple[dict[str, tuple[float, float]], list[tuple[str, str]]]:
    """X = depth, y = leaf order (parents centred over their children)."""
    pos: dict[str, tuple[float, float]] = {}
    edges: list[tuple[str, str]] = []
    counter = [0.0]

    def place(node: Trace, depth: int) -> float:
        ys = []
        for child in node.children:
            edges.append((node.key, child.key))
            ys.append(place(child, depth + 1))
        if ys:
            y = sum(ys) / len(ys)
        else:
            y = counter[0]
            counter[0] += 1
        pos[node.key] = (float(depth), y)
        return y

    place(trace, 1)
    return pos, edges


def lineage(trace: Trace, *, title: str | None = None) -> go.Figure:
    """The lineage as a tree: root (user, identity or service) → sessions → children → minted keys."""
    pos, edges = _layout(trace)
    nodes = {n.key: n for n in trace.walk()}
    root_label = plot_text(f"{trace.root.type}: {trace.root.name or trace.root.arn or '?'}")
    top_y = pos[trace.key][1]
    # The root sits left of the traced credential; a dotted edge when hops above it are not shown.
    pos_root = (0.0, top_y)
    fig = go.Figure()
    ex: list[Any] = []
    ey: list[Any] = []
    for a, b in [("__root__", trace.key), *edges]:
        (x0, y0), (x1, y1) = (pos_root if a == "__root__" else pos[a]), pos[b]
        ex += [x0, x1, None]
        ey += [y0, y1, None]
    fig.add_trace(
        go.Scatter(
            x=ex, y=ey, mode="lines", line={"color": "#999", "width": 1}, hoverinfo="skip", showlegend=False
        )
    )
    keys = list(nodes)
    fig.add_trace(
        go.Scatter(
            x=[pos_root[0], *(pos[k][0] for k in keys)],
            y=[pos_root[1], *(pos[k][1] for k in keys)],
            mode="markers+text",
            text=[root_label, *(_node_text(nodes[k]) for k in keys)],
            textposition="bottom center",
            marker={
                "size": [22, *(10 + 4 * math.log10(1 + nodes[k].summary.count) for k in keys)],
                "color": ["black", *(_node_colour(nodes[k]) for k in keys)],
                "symbol": ["square", *("diamond" if nodes[k].findings else "circle" for k in keys)],
            },
            hovertext=[root_label, *(_hover(nodes[k]) for k in keys)],
            hoverinfo="text",
            showlegend=False,
        )
    )
    _legend(fig, [trace.root.type, *(nodes[k] for k in keys)])
    depth = max(x for x, _ in pos.values())
    fig.update_xaxes(visible=False, range=[-0.6, depth + 0.6])
    fig.update_yaxes(visible=False, autorange="reversed")
    fig.update_layout(
        plot_bgcolor="white",
        title=plot_text(title or f"Lineage of {trace.key}"),
        height=max(300, 120 + 70 * (1 + max(y for _, y in pos.values()))),
        margin={"l": 10, "r": 10, "t": 60, "b": 50},
    )
    return fig


def _node_text(node: Trace) -> str:
    """Key and kind; a minted key also says whose it is (the user it was created for)."""
    s = node.session
    text = f"{plot_text(node.key)}<br>{plot_text(s.kind)}"
    owner = s.principal_arn or ""
    if str(s.kind) in ("CreateAccessKey", "IAMUserKey") and ":user/" in owner:
        text += f"<br>key of user {plot_text(owner.rsplit('/', 1)[-1])}"
    elif s.role_arn:
        text += f"<br>role {plot_text(s.role_arn.rsplit('/', 1)[-1])}"
    return text


_LEGEND = (
    ("the root (user, identity or service)", "black", "square"),
    ("role session (AssumeRole)", _KIND_COLOURS["AssumeRole"], "circle"),
    ("federated session (SAML / OIDC)", _KIND_COLOURS["AssumeRoleWithSAML"], "circle"),
    ("user session token (GetSessionToken / GetFederationToken)", _KIND_COLOURS["GetSessionToken"], "circle"),
    ("minted access key (CreateAccessKey)", _KIND_COLOURS["CreateAccessKey"], "circle"),
    ("service-issued session", _KIND_COLOURS["Service"], "circle"),
    ("used from an IP the issuer never used", "#d62728", "circle"),
    ("has findings", "#7f7f7f", "diamond"),
)


def _legend(fig: go.Figure, nodes: list[Any]) -> None:
    """One legend entry per mark the diagram uses (invisible points carry them)."""
    kinds = {str(n.session.kind) for n in nodes[1:]}
    present = {
        "the root (user, identity or service)": True,
        "role session (AssumeRole)": "AssumeRole" in kinds,
        "federated session (SAML / OIDC)": bool(kinds & {"AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"}),
        "user session token (GetSessionToken / GetFederationToken)": bool(
            kinds & {"GetSessionToken", "GetFederationToken"}
        ),
        "minted access key (CreateAccessKey)": "CreateAccessKey" in kinds,
        "service-issued session": "Service" in kinds,
        "used from an IP the issuer never used": any(n.summary.new_source_ips for n in nodes[1:]),
        "has findings": any(n.findings for n in nodes[1:]),
    }
    for label, colour, symbol in _LEGEND:
        if present.get(label):
            fig.add_trace(
                go.Scatter(
                    x=[None], y=[None], mode="markers", name=label,
                    marker={"color": colour, "symbol": symbol, "size": 12}, hoverinfo="skip",
                )
            )  # fmt: skip
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.05, "x": 0, "yanchor": "top"})


def _node_colour(node: Trace) -> str:
    if node.summary.new_source_ips:
        return "#d62728"
    return _KIND_COLOURS.get(str(node.session.kind), "#7f7f7f")


def _hover(node: Trace) -> str:
    s = node.session
    lines = [
        f"<b>{plot_text(node.key)}</b> ({plot_text(s.kind)})",
        f"role: {plot_text(s.role_arn or '-')}",
        f"session: {plot_text(s.session_name or '-')}",
        f"issuer: {plot_text(s.issuer.name or s.issuer.arn or '-')}",
        f"calls: {node.summary.count}, errors: {node.summary.error_count}",
    ]
    if node.summary.new_source_ips:
        lines.append("new IPs: " + plot_text(", ".join(node.summary.new_source_ips)))
    lines += [f"{plot_text(f.severity)}: {plot_text(f.id)}" for f in node.findings[:6]]
    return "<br>".join(lines)


# Export helpers for the report (plotly.js inlined once, kaleido PNGs).


def plotlyjs() -> str:
    """The plotly.js bundle, to inline once in a self-contained HTML file."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def figure_html(fig: go.Figure, name: str) -> str:
    """A figure as an HTML fragment (no plotly.js: inline :func:`plotlyjs` once per page)."""
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"figure-{name}",
        config={"displaylogo": False, "responsive": True},
    )


def figures_png(figs: Mapping[str, go.Figure], *, timeout: float = 180.0) -> dict[str, bytes]:
    """PNG bytes of each figure, drawn by one kaleido browser session in a thread of its own.

    The thread has its own event loop, so this works inside Jupyter's running loop too, and a
    browser that cannot start becomes one :class:`IrcredsError` instead of a hang.
    """
    if not figs:
        return {}
    import kaleido

    async def draw() -> dict[str, bytes]:
        async with kaleido.Kaleido(n=1) as k:
            return {
                name: await k.calc_fig(
                    fig, opts={"format": "png", "width": 1200, "height": _height(fig), "scale": 1}
                )
                for name, fig in figs.items()
            }

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["pngs"] = asyncio.run(draw())
        except BaseException as err:  # handed to the caller's thread below
            outcome["error"] = err

    worker = threading.Thread(target=run, name="ircreds-kaleido", daemon=True)
    worker.start()
    worker.join(timeout)
    hint = "install Debian's chromium (or set BROWSER_PATH), or leave the figures out (--no-figures)"
    if worker.is_alive():
        raise IrcredsError(f"kaleido did not draw the report's PNG figures within {timeout:.0f} s; {hint}")
    if "error" in outcome:
        err = outcome["error"]
        raise IrcredsError(
            f"cannot draw the Markdown report's PNG figures with kaleido ({type(err).__name__}: {err}); {hint}"
        ) from err
    return outcome["pngs"]


def _height(fig: Any) -> int:
    height = getattr(fig.layout, "height", None)
    return int(height) if height else 550
