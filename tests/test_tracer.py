"""trace(): the issuer up to the root, every call, children recursively, the JSON contract."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from conftest import CORPUS, SAMPLES
from findings.records import (
    ACCOUNT,
    ATTACKER_IP,
    K1,
    K2,
    K3,
    OFFICE_IP,
    THIRD_IP,
    USER_KEY,
    assume_role,
    leak_story,
    record,
    role_identity,
    t,
    user_identity,
)

import ircreds
from ircreds.errors import SessionNotFoundError
from ircreds.model import Trace


@pytest.fixture(scope="module")
def story() -> pd.DataFrame:
    return ircreds.load(leak_story())


def test_trace_root_is_the_iam_user_who_assumed_the_role(story: pd.DataFrame) -> None:
    tr = ircreds.trace(story, K1)
    assert tr.root.type == "IAMUser"
    assert tr.root.name == "DevUser"
    assert tr.root.arn == f"arn:aws:iam::{ACCOUNT}:user/DevUser"
    assert tr.session.issuer.access_key_id == USER_KEY


def test_trace_follows_chained_assume_role_and_minted_key(story: pd.DataFrame) -> None:
    tr = ircreds.trace(story, K1)
    assert {c.key for c in tr.children} == {K2, K3}
    k2 = next(c for c in tr.children if c.key == K2)
    assert k2.session.kind == "AssumeRole"
    assert k2.session.role_arn.endswith(":role/DataPipelineRole")
    assert k2.root == tr.root
    k3 = next(c for c in tr.children if c.key == K3)
    assert k3.session.kind == "CreateAccessKey"
    assert len(k3.calls) == 1


def test_trace_from_the_users_key_reaches_grandchildren(story: pd.DataFrame) -> None:
    tr = ircreds.trace(story, USER_KEY)
    keys = [node.key for node in tr.walk()]
    assert keys[0] == USER_KEY
    assert set(keys) == {USER_KEY, K1, K2, K3}
    assert max(node.depth for node in tr.walk()) == 2


def test_trace_calls_are_exactly_the_keys_calls_in_time_order(story: pd.DataFrame) -> None:
    records = leak_story()
    tr = ircreds.trace(story, K1)
    expected = [
        r["eventID"]
        for r in sorted(records, key=lambda r: r["eventTime"])
        if r["userIdentity"].get("accessKeyId") == K1
    ]
    assert tr.calls["eventID"].tolist() == expected
    assert tr.calls["eventTime"].is_monotonic_increasing


def test_trace_summary_lists_ips_with_first_seen_and_the_new_ones(story: pd.DataFrame) -> None:
    tr = ircreds.trace(story, K1)
    ips = dict(tr.summary.source_ips)
    assert set(ips) == {OFFICE_IP, ATTACKER_IP}
    assert ips[ATTACKER_IP] == t(120)
    assert tr.summary.new_source_ips == (ATTACKER_IP,)
    assert tr.summary.error_count == 10
    assert len(tr.summary.regions) == 5
    assert "sts.amazonaws.com" in tr.summary.services
    assert tr.suspicious_ips() == (ATTACKER_IP, THIRD_IP)


def test_trace_helpers_walk_all_calls_and_sessions_frame(story: pd.DataFrame) -> None:
    tr = ircreds.trace(story, K1)
    everything = tr.all_calls()
    assert len(everything) == sum(len(n.calls) for n in tr.walk())
    assert set(everything["credential"]) == {K1, K2, K3}
    assert everything["eventTime"].is_monotonic_increasing
    frame = tr.sessions_frame()
    assert frame["access_key_id"].tolist() == [n.key for n in tr.walk()]
    assert frame.set_index("access_key_id").loc[K2, "parent_key"] == K1


def _shape(obj: dict) -> None:
    assert set(obj) == {"key", "session", "root", "calls", "children", "findings"}
    assert set(obj["session"]) == {
        "access_key_id",
        "kind",
        "role_arn",
        "session_name",
        "issued_at",
        "expires_at",
        "issuing_event_id",
        "issuer",
    }
    assert set(obj["session"]["issuer"]) == {
        "type",
        "arn",
        "name",
        "access_key_id",
        "source_ip",
        "user_agent",
    }
    assert set(obj["root"]) == {"type", "arn", "name"}
    assert set(obj["calls"]) == {
        "count",
        "event_ids",
        "first",
        "last",
        "source_ips",
        "user_agents",
        "regions",
        "error_count",
    }
    for finding in obj["findings"]:
        assert set(finding) == {"id", "severity", "summary", "event_ids"}
    for child in obj["children"]:
        _shape(child)


def test_trace_to_dict_is_exactly_the_json_contract(story: pd.DataFrame) -> None:
    out = ircreds.trace(story, K1).to_dict()
    _shape(out)
    text = json.dumps(out)  # plain JSON, nothing to coerce
    stamps = [
        out["session"]["issued_at"],
        out["session"]["expires_at"],
        out["calls"]["first"],
        out["calls"]["last"],
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s) for s in stamps)
    assert out["calls"]["count"] == len(out["calls"]["event_ids"])
    assert "IQoJb3JpZ2luX2VjEXAMPLETOKEN" not in text  # the session token never comes out


def test_trace_unknown_key_raises_with_what_the_evidence_covers(story: pd.DataFrame) -> None:
    with pytest.raises(SessionNotFoundError) as err:
        ircreds.trace(story, "ASIAQEXAMPLEUNKNOWN1")
    message = str(err.value)
    assert "ASIAQEXAMPLEUNKNOWN1" in message
    assert "2025-01-20T09:01:00Z" in message
    assert ACCOUNT in message
    assert "load" in message
    assert isinstance(err.value, LookupError)


def test_trace_by_role_arn_and_session_name(story: pd.DataFrame) -> None:
    tr = ircreds.trace(story, role_arn=f"arn:aws:iam::{ACCOUNT}:role/DataPipelineRole", session_name="pipe")
    assert tr.key == K2
    with pytest.raises(SessionNotFoundError):
        ircreds.trace(story, role_arn=f"arn:aws:iam::{ACCOUNT}:role/DataPipelineRole", session_name="nope")
    with pytest.raises(ValueError, match="key"):
        ircreds.trace(story)


def test_trace_survives_a_role_juggling_cycle() -> None:
    # K1 assumes a role getting K2, whose calls are (wrongly) also signed as K1's issuer: no infinite walk
    a = role_identity(K1, created=t(0))
    b = role_identity(K2, role="Other", session="s2", created=t(1), role_id="AROAEXAMPLEOTHER00001")
    recs = [
        assume_role(a, K2, t(1), role="Other", session="s2", role_id="AROAEXAMPLEOTHER00001"),
        assume_role(b, K1, t(0), session="DevUser"),
    ]
    tr = ircreds.trace(ircreds.load(recs), K1)
    assert [n.key for n in tr.walk()] == [K1, K2]


def test_trace_is_frozen(story: pd.DataFrame) -> None:
    tr = ircreds.trace(story, K1)
    assert isinstance(tr, Trace)
    with pytest.raises(AttributeError):
        tr.key = "x"  # type: ignore[misc]


def test_trace_findings_name_the_persistence_and_the_attacker_ip(story: pd.DataFrame) -> None:
    tr = ircreds.trace(story, K1)
    ids = {f.id for f in tr.findings}
    assert {
        "new_source_ip",
        "caller_identity_probe",
        "access_denied_burst",
        "multi_region_recon",
        "sensitive_reads",
        "iam_persistence",
    } <= ids
    persistence = next(f for f in tr.findings if f.id == "iam_persistence")
    assert "backup-svc" in persistence.summary
    assert any(f.id == "new_source_ip" and THIRD_IP in f.summary for f in tr.all_findings())


# --- real corpus --------------------------------------------------------------------------------


def _corpus(name: str) -> pd.DataFrame:
    return ircreds.load(json.loads((CORPUS / f"{name}.json").read_text())["records"])


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not on this machine")
def test_trace_stratus_assume_role_key_to_its_password_data_calls() -> None:
    events = _corpus("stratus-red-team-detonation-logs")
    tr = ircreds.trace(events, "ASIANQQHHS551LWULIWD")
    assert tr.root.type == "IAMUser"
    assert tr.root.name == "christophe"
    assert tr.summary.count == 30
    assert set(tr.calls["eventName"]) == {"GetPasswordData"}
    assert tr.summary.error_count == 30
    assert any(f.id == "access_denied_burst" for f in tr.findings)
    # from the user's key, the issued sessions are children
    parent = ircreds.trace(events, tr.session.issuer.access_key_id)
    assert "ASIANQQHHS551LWULIWD" in {c.key for c in parent.children}


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not on this machine")
def test_trace_stratus_federation_token_and_stolen_instance_credentials() -> None:
    events = _corpus("stratus-red-team-detonation-logs")
    fed = ircreds.trace(events, "ASIASTJKC5GCM7ZE6LUP")
    assert fed.session.kind == "GetFederationToken"
    assert fed.calls["eventName"].tolist() == ["GetCallerIdentity"]
    stolen = ircreds.trace(events, "ASIAP5CT9NN8EYVU1FXV")
    assert stolen.session.observed_only
    assert stolen.session.session_name.startswith("i-")
    assert any(
        f.id == "instance_credential_exfiltration" and "18.236.253.47" in f.summary for f in stolen.findings
    )
    assert any(f.id == "coverage_gaps" and "no issuing event" in f.summary for f in stolen.findings)


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not on this machine")
def test_trace_opensearch_lambda_service_session() -> None:
    tr = ircreds.trace(_corpus("opensearch-catalog-aws-cloudtrail"), "ASIAVBW53AN5I5KLEGVJ")
    assert tr.root.type == "AWSService"
    assert tr.root.name == "lambda.amazonaws.com"
    assert sorted(tr.calls["eventName"]) == ["CreateLogStream", "Decrypt"]


# --- the walkthrough (acceptance) -----------------------------------------------------------------

WALKTHROUGH = SAMPLES / "walkthrough"


@pytest.mark.skipif(
    not (WALKTHROUGH / "answer_key.json").exists(), reason="walkthrough sample not generated yet"
)
def test_trace_reproduces_the_walkthrough_answer_key() -> None:
    key = json.loads((WALKTHROUGH / "answer_key.json").read_text())
    events = ircreds.load(WALKTHROUGH)
    tr = ircreds.trace(events, key["leaked_access_key_id"])
    assert tr.session.issuer.arn == key["issuer_arn"]
    assert tr.root.name == key["issuer_arn"].rsplit("/", 1)[-1]
    if "issuing_event_id" in key:
        assert tr.session.issuing_event_id == key["issuing_event_id"]
    descendants = {n.key for n in tr.walk()} - {tr.key}
    assert set(key["chained_access_key_ids"]) <= descendants
    assert set(key["minted_access_key_ids"]) <= descendants
    assert set(key["attacker_ips"]) <= set(tr.suspicious_ips())
    flagged = {
        e
        for f in tr.all_findings()
        if f.id in ("iam_persistence", "privilege_escalation")
        for e in f.event_ids
    }
    assert set(key["persistence_event_ids"]) <= flagged
    probes = {e for f in tr.all_findings() if f.id == "caller_identity_probe" for e in f.event_ids}
    assert key["first_malicious_event_id"] in probes
    new_agents = {a for node in tr.walk() for a in node.summary.new_user_agents}
    assert {a.strip("[]") for a in key["attacker_user_agents"]} <= new_agents
    recon = next(f for f in tr.findings if f.id == "multi_region_recon")
    assert all(region in recon.summary for region in key["recon_regions"])
    reads = " ".join(f.summary for f in tr.all_findings() if f.id == "sensitive_reads")
    assert key["sensitive_bucket"] in reads


def test_trace_can_skip_findings(story: pd.DataFrame) -> None:
    assert ircreds.trace(story, K1, findings=False).findings == ()


def test_trace_user_identity_key_for_plain_user(story: pd.DataFrame) -> None:
    tr = ircreds.trace(story, USER_KEY)
    assert tr.session.kind == "Observed"
    assert tr.root.name == "DevUser"
    assert tr.session.issuer.arn == user_identity()["arn"]
    assert [r["eventName"] for r in tr.calls.to_dict("records")] == ["ListBuckets", "AssumeRole"]
    assert record  # builders imported for other tests


# --- generated exercises: every twist of the scenario generator ----------------------------------

_ROOT_TYPES = {
    "iam_user": "IAMUser",
    "console": "IAMUser",
    "saml": "SAMLUser",
    "oidc": "WebIdentityUser",
    "ec2": "AWSService",
}


def _twists() -> list[str]:
    from ircreds.scenarios import TWISTS

    return sorted(TWISTS)


@pytest.mark.parametrize("twist", _twists())
def test_trace_reproduces_the_answer_key_of_each_twist(twist: str) -> None:
    from ircreds.scenarios import generate

    scenario = generate(7, events=1500, twists=[twist])
    key = scenario.answer_key
    tr = ircreds.trace(ircreds.load(scenario.records), key["leaked_access_key_id"])
    assert tr.session.issuing_event_id == key["issuing_event_id"]
    assert tr.root.type == _ROOT_TYPES[key["root_kind"]]
    if key["root_kind"] == "ec2":
        assert tr.session.session_name in key["issuer_arn"]  # the instance the credentials came from
    else:
        assert tr.session.issuer.arn == key["issuer_arn"]
    descendants = {n.key for n in tr.walk()} - {tr.key}
    expected = {
        *key["chained_access_key_ids"],
        *key["minted_access_key_ids"],
        *key.get("minted_session_access_key_ids", []),
    }
    assert expected <= descendants
    assert set(key["attacker_ips"]) <= set(tr.suspicious_ips())
    flagged = {e for f in tr.all_findings() for e in f.event_ids}
    assert set(key["persistence_event_ids"]) <= flagged


def test_the_tracer_runs_only_the_detectors_it_is_given(story: pd.DataFrame) -> None:
    from ircreds import tracer
    from ircreds.findings import run_findings
    from ircreds.model import Finding, Severity

    bare = tracer.trace(story, K1)
    assert all(not node.findings for node in bare.walk())  # the trace stage knows no detector

    seen: list[str] = []

    def one_per_node(node: Trace) -> list[Finding]:
        seen.append(node.key)
        return [Finding(id="toy", severity=Severity.LOW, summary=f"saw {node.key}", event_ids=())]

    tr = tracer.trace(story, K1, detectors=one_per_node)
    assert sorted(seen) == sorted(node.key for node in tr.walk())
    assert [[f.summary for f in node.findings] for node in tr.walk()] == [[f"saw {n.key}"] for n in tr.walk()]
    # ircreds.trace is the tracer with the kit's detectors passed in
    kit = ircreds.trace(story, K1)
    assert kit.to_dict() == tracer.trace(story, K1, detectors=run_findings).to_dict()
    assert any(node.findings for node in kit.walk())
