"""Checks of a generated story's invariants, shared by the scenario tests (each returns problems)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

EXPLICIT = "with an explicit deny in an identity-based policy"


def when(ts: str) -> datetime:
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def expiration(text: str) -> datetime:
    return datetime.strptime(text, "%b %d, %Y, %I:%M:%S %p").replace(tzinfo=UTC)


def issuing_records(records: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Issued key id -> the record whose response carries it."""
    out = {}
    for r in records:
        creds = (r.get("responseElements") or {}).get("credentials")
        if creds and "errorCode" not in r:
            out[creds["accessKeyId"]] = r
    return out


def key_problems(records: list[Mapping[str, Any]]) -> list[str]:
    """Every ASIA key used was issued (or is a console key tied to a sign-in); times line up."""
    issued = issuing_records(records)
    console_starts = {
        (r["userIdentity"].get("arn"), r["eventTime"]) for r in records if r["eventName"] == "ConsoleLogin"
    }
    role_starts: dict[str, set[str]] = {}
    for r in records:
        ru = (r.get("responseElements") or {}).get("assumedRoleUser")
        if ru and "errorCode" not in r:
            role_starts.setdefault(ru["assumedRoleId"], set()).add(r["eventTime"])
    problems = []
    for r in records:
        ui = r["userIdentity"]
        key = ui.get("accessKeyId") or ""
        if not key.startswith("ASIA"):
            continue
        created = ui["sessionContext"]["attributes"]["creationDate"]
        if key in issued:
            iss = issued[key]
            if created != iss["eventTime"]:
                problems.append(
                    f"{r['eventID']}: creationDate {created} != issuing eventTime {iss['eventTime']}"
                )
            if when(r["eventTime"]) >= expiration(iss["responseElements"]["credentials"]["expiration"]):
                problems.append(f"{r['eventID']}: {key} used after it expired")
            if r["eventTime"] < iss["eventTime"]:
                problems.append(f"{r['eventID']}: {key} used before it was issued")
        elif r.get("sessionCredentialFromConsole") != "true":
            problems.append(f"{r['eventID']}: {key} was never issued and is not a console key")
        elif ui["type"] == "AssumedRole":
            if created not in role_starts.get(ui["principalId"], set()):
                problems.append(f"{r['eventID']}: console role key {key} matches no AssumeRole")
        elif (ui["arn"], created) not in console_starts:
            problems.append(f"{r['eventID']}: console key {key} matches no ConsoleLogin")
    return problems


def issuing_problems(records: list[Mapping[str, Any]]) -> list[str]:
    """Expirations are eventTime + duration; chained sessions are capped at one hour."""
    problems = []
    for r in issuing_records(records).values():
        exp = expiration(r["responseElements"]["credentials"]["expiration"])
        life = (exp - when(r["eventTime"])).total_seconds()
        duration = (r.get("requestParameters") or {}).get("durationSeconds")
        if duration is not None and life != duration:
            problems.append(f"{r['eventID']}: expiration is {life} s after issue, asked {duration}")
        if r["eventName"] == "AssumeRole" and r["userIdentity"].get("type") == "AssumedRole" and life > 3600:
            problems.append(f"{r['eventID']}: chained session lives {life} s")
        token = r["responseElements"]["credentials"]["sessionToken"]
        if token.startswith(("IQoJb3JpZ2lu", "FwoGZXIvYXdz")):
            problems.append(f"{r['eventID']}: real-looking session token")
    return problems


def cutoff_problems(records: list[Mapping[str, Any]], key: Mapping[str, Any]) -> list[str]:
    """Cut sessions: after the cut-off nothing succeeds but GetCallerIdentity; denials are explicit."""
    cutoff = key["cutoff"]
    problems = []
    for s in key["cut_sessions"]:
        after = [
            r
            for r in records
            if r["userIdentity"].get("accessKeyId") == s["access_key_id"] and r["eventTime"] >= cutoff
        ]
        for r in after:
            if r["eventName"] == "GetCallerIdentity":
                if "errorCode" in r:
                    problems.append(f"{r['eventID']}: GetCallerIdentity failed after the cut-off")
            elif EXPLICIT not in r.get("errorMessage", ""):
                problems.append(
                    f"{r['eventID']}: {r['eventName']} by cut {s['access_key_id']} not explicitly denied"
                )
    return problems
