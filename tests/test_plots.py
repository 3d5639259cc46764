"""plots: one lane per credential, colour by IP, errors and times drawn; big traces stay WebGL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import plotly.graph_objects as go
import pytest
from findings.records import ATTACKER_IP, K1, K2, K3, k1_identity, leak_story, record, t, traced

import ircreds
from ircreds import plots

CUTOFF = datetime(2025, 1, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def tr():
    return ircreds.trace(ircreds.load(leak_story()), K1)


def test_timeline_has_one_lane_per_credential_and_every_call(tr) -> None:
    fig = plots.timeline(tr, cutoff=CUTOFF)
    points = [d for d in fig.data if isinstance(d, go.Scattergl)]
    lanes = {y for d in points for y in d.y}
    assert len(lanes) == 3
    assert all(any(key in lane for lane in lanes) for key in (K1, K2, K3))
    assert sum(len(d.x) for d in points) == len(tr.all_calls())


def test_timeline_colours_by_ip_marks_errors_and_draws_issue_and_cutoff(tr) -> None:
    fig = plots.timeline(tr, cutoff=CUTOFF)
    by_name = {d.name: d for d in fig.data}
    attacker = by_name[f"{ATTACKER_IP} (new)"]
    assert "x" in attacker.marker.symbol  # the denied recon calls
    assert by_name["issued"].marker.symbol == "diamond"
    assert len(by_name["issued"].x) == 3
    assert any(shape.line.dash == "dash" for shape in fig.layout.shapes)


def test_the_cutoff_mark_crosses_temporary_credentials_lanes_only(tr) -> None:
    fig = plots.timeline(tr, cutoff=CUTOFF)
    order = list(fig.layout.yaxis.categoryarray)
    marked = {
        order[round((shape.y0 + shape.y1) / 2)] for shape in fig.layout.shapes if shape.line.dash == "dash"
    }
    assert any(K1 in lane for lane in marked)
    assert any(K2 in lane for lane in marked)
    assert not any(K3 in lane for lane in marked)  # a long-term key: the TokenIssueTime deny does not cut it
    assert all(shape.x0 == shape.x1 for shape in fig.layout.shapes)


def test_timeline_rejects_a_naive_cutoff(tr) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plots.timeline(tr, cutoff=datetime(2025, 1, 20, 12, 0))  # noqa: DTZ001


def test_timeline_of_ten_thousand_calls_stays_webgl_with_bounded_traces() -> None:
    recs = [
        record(
            k1_identity(),
            "DescribeInstances",
            t(1) + timedelta(seconds=i),
            ip=f"198.51.100.{i % 40}",
            error="AccessDenied" if i % 7 == 0 else None,
        )
        for i in range(10_000)
    ]
    from findings.records import base_session

    node = traced([*base_session(), *recs], K1)
    fig = plots.timeline(node)
    points = [d for d in fig.data if isinstance(d, go.Scattergl)]
    assert sum(len(d.x) for d in points) == 10_001
    assert len(points) <= plots.MAX_IP_TRACES + 1
    assert any(d.name == "other IPs" for d in points)


def test_lineage_draws_root_and_every_credential_with_edges(tr) -> None:
    fig = plots.lineage(tr)
    nodes = fig.data[1]
    assert len(nodes.x) == 1 + 3  # DevUser + K1, K2, K3
    assert nodes.text[0] == "IAMUser: DevUser"
    edges = fig.data[0]
    assert list(edges.x).count(None) == 3  # root→K1, K1→K2, K1→K3
    assert any(K2 in text for text in nodes.text)


HOSTILE_IP = '<a href="https://203.0.113.9/phish">click</a>%{x}'


def test_attacker_text_in_legend_hover_and_labels_is_shown_not_a_link() -> None:
    from findings.records import base_session

    recs = [
        *base_session(),
        record(k1_identity(), "ListBuckets<a href='x'>", t(2), ip=HOSTILE_IP, error="<b>Denied</b>"),
    ]
    node = traced(recs, K1)
    figs = [plots.timeline(node, cutoff=CUTOFF), plots.lineage(node)]
    blob = "".join(fig.to_json() for fig in figs)
    assert "<a " not in blob
    legend = {d.name for d in figs[0].data}
    assert any(
        "&lt;a href=&#34;https://203.0.113.9/phish&#34;&gt;click&lt;/a&gt;&#37;{x}" in n for n in legend
    )
    hover = "".join(str(d.hovertemplate) for d in figs[0].data)
    assert "%{x}" in hover  # our own template field
    assert hover.count("%{x}") == sum(1 for d in figs[0].data if d.hovertemplate)  # no attacker one
    customdata = [c for d in figs[0].data if d.customdata is not None for row in d.customdata for c in row]
    assert "ListBuckets&lt;a href=&#39;x&#39;&gt;" in customdata
    assert "&lt;b&gt;Denied&lt;/b&gt;" in customdata


@pytest.fixture(scope="module")
def case_trace():
    from ircreds.scenarios import generate

    scenario = generate(8181, events=3000, twists=[])
    events = ircreds.load(scenario.records)
    return scenario, ircreds.trace(events, scenario.answer_key["leaked_access_key_id"])


def test_timeline_opens_on_the_lineage_with_a_range_slider_over_the_whole_evidence(case_trace) -> None:
    _, trace = case_trace
    xaxis = plots.timeline(trace).layout.xaxis
    view = [pd.Timestamp(v) for v in xaxis.range]
    whole = [pd.Timestamp(v) for v in xaxis.rangeslider.range]
    calls = trace.all_calls()["eventTime"]
    assert view[0] <= calls.min()
    assert view[1] >= calls.max()
    assert xaxis.rangeslider.visible
    assert whole[0] <= pd.Timestamp(trace.evidence.start)
    assert whole[1] >= pd.Timestamp(trace.evidence.end)
    assert (view[1] - view[0]) < (whole[1] - whole[0])  # zoomed in, not the whole two days


def test_lineage_has_a_legend_and_names_the_user_a_minted_key_belongs_to(case_trace) -> None:
    scenario, trace = case_trace
    fig = plots.lineage(trace)
    legend = {t.name for t in fig.data if t.showlegend is not False and t.name}
    assert "minted access key (CreateAccessKey)" in legend
    assert "role session (AssumeRole)" in legend
    text = " ".join(str(x) for t in fig.data for x in (t.text or ()))
    for user_arn in scenario.answer_key["minted_user_arns"]:
        assert f"key of user {user_arn.rsplit('/', 1)[-1]}" in text
