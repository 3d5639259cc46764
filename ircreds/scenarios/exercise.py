"""The answer key (computed from what was generated) and the grading of a trainee's sheet.

Question kinds: ``exact`` (one value, case-insensitive), ``set`` (the same members, any
order), ``time-within-seconds`` (an ISO time within ``tolerance_seconds``), ``number``.

Example:
    >>> key = {"questions": [{"id": "q1", "question": "?", "answer": ["a", "b"], "kind": "set",
    ...                       "explanation": "two"}]}
    >>> [r.correct for r in grade(key, {"q1": ["B", "a"]})], [r.correct for r in grade(key, {"q1": ["a"]})]
    ([True], [False])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ircreds.errors import ScenarioError
from ircreds.scenarios.records import Cred, iso
from ircreds.scenarios.twists import TWISTS
from ircreds.times import parse_iso

if TYPE_CHECKING:
    from ircreds.scenarios.incident import Incident

KINDS = ("exact", "set", "time-within-seconds", "number")


def principal_of(cred: Cred) -> str:
    """The human or service behind a session (user ARN, federated principal, service)."""
    if cred.kind in ("AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"):
        return cred.label
    return str(cred.extra.get("issuer") or cred.label)


def _session(cred: Cred, **more: Any) -> dict[str, Any]:
    out = {
        "access_key_id": cred.key_id,
        "principal": principal_of(cred),
        "session_arn": cred.identity.get("arn"),
        "kind": cred.kind,
        "issued_at": iso(cred.issued_at) if cred.issued_at else None,
        "expires_at": iso(cred.expires_at) if cred.expires_at else None,
    }
    out.update(more)
    return out


def cut_sessions(inc: Incident, issued: Iterable[Cred]) -> list[dict[str, Any]]:
    """Sessions of the cut role that were issued before the cut-off and still valid when it applied."""
    role_arn = inc.w.roles[inc.c.dev_role].arn
    attacker = {inc.leaked.key_id} if inc.leaked else set()
    out = []
    for cred in issued:
        if (
            cred.role_arn == role_arn
            and cred.issued_at is not None
            and cred.issued_at < inc.cutoff_at
            and (cred.expires_at is None or cred.expires_at > inc.cutoff_at)
        ):
            out.append(_session(cred, legitimate=cred.key_id not in attacker))
    return sorted(out, key=lambda s: (s["issued_at"], s["access_key_id"]))


def surviving_sessions(inc: Incident) -> list[dict[str, Any]]:
    """Attacker credentials the role cut-off does not stop, and why."""
    out = []
    for cred in inc.chained:
        alive = cred.expires_at is not None and cred.expires_at > inc.cutoff_at
        if alive:
            out.append(
                _session(
                    cred,
                    reason="chained session of another role: it has its own issue time; "
                    "lives until it expires unless that role gets its own cut-off",
                )
            )
    for cred in inc.minted:
        out.append(
            _session(
                cred,
                reason="long-term IAM user access key: aws:TokenIssueTime does not apply; "
                "deactivate the key and delete the user",
            )
        )
    for cred in inc.minted_sessions:
        out.append(
            _session(
                cred,
                reason=f"{cred.kind} credentials belong to the IAM user, not the role; "
                "deny on the user or delete it",
            )
        )
    for cred in inc.reassumed:
        out.append(
            _session(
                cred,
                reason="issued after the cut-off time, so DateLessThan does not match; "
                "remove the back door and cut off again",
            )
        )
    return out


def build_answer_key(inc: Incident, issued: Iterable[Cred], *, meta: Mapping[str, Any]) -> dict[str, Any]:
    """Everything a trainee, the tracer tests and the containment tests check against."""
    k1 = inc.leaked
    assert k1 is not None
    assert k1.issued_at is not None
    assert k1.expires_at is not None
    c = inc.c
    role = inc.w.roles[c.dev_role]
    issuer = str(k1.extra.get("issuer") or k1.label)
    if inc.root == "ec2":
        issuer = k1.identity["inScopeOf"]["credentialsIssuedTo"]
    elif inc.root == "console":
        issuer = inc.w.users[c.dev_user].arn
    ips = list(c.attacker_ips)
    uas = sorted({c.attacker_uas[0], c.attacker_uas[1], c.k3_ua})
    key: dict[str, Any] = {
        "scenario": dict(meta),
        "account_id": c.account,
        "leaked_access_key_id": k1.key_id,
        "role_arn": role.arn,
        "session_arn": k1.identity["arn"],
        "principal_id": k1.identity["principalId"],
        "root_kind": inc.root,
        "issuing_event_id": inc.issuing_record["eventID"],
        "issuing_event_name": inc.issuing_record["eventName"],
        "issuer_arn": issuer,
        "issuer_type": inc.issuing_record["userIdentity"].get("type"),
        "issued_at": iso(k1.issued_at),
        "expires_at": iso(k1.expires_at),
        "attacker_ips": ips,
        "attacker_user_agents": uas,
        "first_malicious_event_id": inc.first_malicious,
        "malicious_event_ids": list(inc.malicious_ids),
        "chained_access_key_ids": [x.key_id for x in inc.chained],
        "chained_role_arns": [x.role_arn for x in inc.chained],
        "minted_access_key_ids": [x.key_id for x in inc.minted],
        "minted_user_arns": [inc.backdoor_arn] if inc.backdoor_arn else [],
        "minted_session_access_key_ids": [x.key_id for x in inc.minted_sessions],
        "reassumed_access_key_ids": [x.key_id for x in inc.reassumed],
        "persistence_event_ids": list(inc.persistence),
        "cutoff": iso(inc.cutoff_at),
        "cutoff_event_id": inc.cutoff_event_id,
        "cutoff_role_arn": role.arn,
        "cut_sessions": cut_sessions(inc, issued),
        "surviving_sessions": surviving_sessions(inc),
        "recon_regions": sorted(inc.recon_regions),
        "objects_read": list(inc.objects_read),
        "sensitive_bucket": c.sensitive_bucket,
        "other_account_id": c.other_account if "cross_account" in inc.twists else None,
        "twists": [{"name": t, "description": TWISTS[t]} for t in inc.twists],
    }
    key["questions"] = questions(key)
    return key


def compromised_keys(inc: Incident) -> list[str]:
    """Every credential in the attacker's hands: the leaked one and all it led to, and the other stolen ones."""
    creds = [
        inc.leaked,
        *inc.chained,
        *inc.minted,
        *inc.minted_sessions,
        *inc.reassumed,
        *inc.stolen,
        *inc.stolen_made,
    ]
    return sorted({c.key_id for c in creds if c is not None})


def scope_truth(inc: Incident, records: Iterable[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The answer key's scope fields: every compromised credential, and (given the records) every other one.

    ``legitimate_access_key_ids`` lists every other access key id the records use or issue.
    ``scope_first_malicious_event_id`` is the attacker's earliest call with any credential (the
    alerted key's first misuse is ``first_malicious_event_id``).
    """
    bad = compromised_keys(inc)
    out: dict[str, Any] = {
        "stolen_access_key_ids": [c.key_id for c in inc.stolen],
        "stolen_made_access_key_ids": [c.key_id for c in inc.stolen_made],
        "compromised_access_key_ids": bad,
    }
    malicious = set(inc.malicious_ids)
    first: tuple[str, str] | None = None
    if records is not None:
        seen: set[str] = set()
        for r in records:
            key = (r.get("userIdentity") or {}).get("accessKeyId")
            if key:
                seen.add(key)
            response = r.get("responseElements") or {}
            for part in ("credentials", "accessKey"):
                issued = (response.get(part) or {}).get("accessKeyId") if isinstance(response, dict) else None
                if issued:
                    seen.add(issued)
            if r["eventID"] in malicious and (first is None or r["eventTime"] < first[0]):
                first = (r["eventTime"], r["eventID"])
        out["legitimate_access_key_ids"] = sorted(seen - set(bad))
    out["scope_first_malicious_event_id"] = first[1] if first else inc.first_malicious
    return out


def _q(qid: str, question: str, answer: Any, kind: str, explanation: str, **more: Any) -> dict[str, Any]:
    return {
        "id": qid,
        "question": question,
        "answer": answer,
        "kind": kind,
        "explanation": explanation,
        **more,
    }


def questions(k: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The trainee's questions, each with its answer and how it is graded."""
    leaked = k["leaked_access_key_id"]
    legit = sorted({s["principal"] for s in k["cut_sessions"] if s["legitimate"]})
    survive = [s["access_key_id"] for s in k["surviving_sessions"]]
    return [
        _q(
            "role",
            f"Which IAM role does the leaked key {leaked} belong to (role ARN)?",
            k["role_arn"],
            "exact",
            "userIdentity.sessionContext.sessionIssuer.arn of any call signed with the key.",
        ),
        _q(
            "issuing_event",
            f"What is the eventID of the record that issued {leaked}'s session?",
            k["issuing_event_id"],
            "exact",
            "The AssumeRole* record whose responseElements.credentials.accessKeyId is the key, or for console "
            "sessions the one whose assumedRoleId and eventTime match principalId and creationDate.",
        ),
        _q(
            "issuer",
            "Who (ARN) is at the root of the leaked session?",
            k["issuer_arn"],
            "exact",
            "The caller of the issuing record (for federation, the identity provider; for EC2, the instance).",
        ),
        _q(
            "issued_at",
            "When was the leaked session issued (aws:TokenIssueTime)?",
            k["issued_at"],
            "time-within-seconds",
            "sessionContext.attributes.creationDate equals the issuing eventTime.",
            tolerance_seconds=1,
        ),
        _q(
            "expires_at",
            "When would the leaked session have expired on its own?",
            k["expires_at"],
            "time-within-seconds",
            "responseElements.credentials.expiration (a UTC text date) of the issuing record.",
            tolerance_seconds=1,
        ),
        _q(
            "first_malicious",
            "What is the eventID of the attacker's first call?",
            k["first_malicious_event_id"],
            "exact",
            "The first call from an IP and user agent the owner never used: a GetCallerIdentity probe.",
        ),
        _q(
            "attacker_ips",
            "Which source IPs did the attacker use?",
            k["attacker_ips"],
            "set",
            "The leaked key's unfamiliar IP, the chained session's IP and the back-door key's IP.",
        ),
        _q(
            "recon_regions",
            "In which regions did the attacker run recon with the leaked key?",
            k["recon_regions"],
            "set",
            "Describe/List calls, many with AccessDenied, across regions.",
        ),
        _q(
            "chained",
            "Which session keys did the attacker create by role chaining?",
            k["chained_access_key_ids"],
            "set",
            "AssumeRole records whose caller accessKeyId is the leaked key.",
        ),
        _q(
            "minted",
            "Which long-term access keys did the attacker create?",
            k["minted_access_key_ids"],
            "set",
            "iam:CreateAccessKey signed by the leaked key: responseElements.accessKey.accessKeyId.",
        ),
        _q(
            "persistence",
            "List the eventIDs of the attacker's persistence actions.",
            k["persistence_event_ids"],
            "set",
            "CreateUser, CreateAccessKey and AttachUserPolicy made with the leaked key.",
        ),
        _q(
            "objects_read",
            f"How many objects did the attacker read from {k['sensitive_bucket']} and the data lake?",
            len(k["objects_read"]),
            "number",
            "Successful GetObject data events signed by attacker keys.",
        ),
        _q(
            "cut_legitimate",
            "Which legitimate principals lost a live session when the cut-off applied?",
            legit,
            "set",
            "Sessions of the role issued before the cut-off and not yet expired, other than the leaked one.",
        ),
        _q(
            "surviving",
            "Which attacker credentials does the role cut-off NOT stop?",
            survive,
            "set",
            "Chained sessions of other roles, long-term keys, user-owned STS tokens, sessions issued after the cut-off.",
        ),
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """The grade of one answer."""

    id: str
    question: str
    correct: bool
    expected: Any
    given: Any
    explanation: str
    detail: str = ""
    answered: bool = True
    """False when the sheet left the question blank (``None``, ``""``, an empty list): not graded as wrong."""
    note: str = ""
    """Why an answer was accepted in another form (a role name where the ARN is unambiguous)."""

    @property
    def status(self) -> str:
        """``correct``, ``wrong`` or ``unanswered``."""
        return "unanswered" if not self.answered else ("correct" if self.correct else "wrong")


def summary(results: Iterable[Result]) -> str:
    """One line: how many correct of those answered, and how many are still blank.

    Example:
        >>> summary([])
        'no questions'
    """
    results = list(results)
    if not results:
        return "no questions"
    answered = [r for r in results if r.answered]
    blank = len(results) - len(answered)
    if not answered:
        return f"no answers yet: {blank} question(s) unanswered"
    line = f"{sum(r.correct for r in answered)}/{len(answered)} answered correctly"
    return line + (f"; {blank} of {len(results)} unanswered" if blank else f" (all {len(results)} answered)")


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set):
        return not value
    return False


def _by_name(expected: Iterable[Any], given: Any) -> str | None:
    """The one expected ARN whose last path segment is ``given`` (a bare role or user name), else None."""
    text = str(given).strip()
    if not text or text.startswith("arn:"):
        return None
    matches = [
        str(e)
        for e in expected
        if str(e).startswith("arn:") and str(e).rsplit("/", 1)[-1].lower() == text.lower()
    ]
    return matches[0] if len(matches) == 1 else None


def _accept_names(q: Mapping[str, Any], given: Any) -> tuple[Any, str]:
    """Map bare names onto the expected ARNs where unambiguous; the note says so."""
    expected = q["answer"]
    if q["kind"] == "exact" and isinstance(expected, str):
        arn = _by_name([expected], given)
        return (arn, f"accepted {given!r} as {arn}; answer with the full ARN") if arn else (given, "")
    if q["kind"] == "set" and isinstance(expected, list | tuple):
        items = given if isinstance(given, list | tuple | set) else str(given).replace(",", " ").split()
        mapped, notes = [], []
        for item in items:
            arn = _by_name(expected, item)
            mapped.append(arn or item)
            if arn:
                notes.append(f"{item!r} as {arn}")
        return (mapped, "accepted " + ", ".join(notes) + "; answer with full ARNs") if notes else (given, "")
    return given, ""


def _norm(value: Any) -> str:
    return str(value).strip().lower()


def _time(value: Any) -> datetime:
    parsed = parse_iso(str(value).strip(), strict=True)  # an answer without a zone is UTC
    if parsed is None:
        raise ValueError(f"not an ISO 8601 time: {value!r}")
    return parsed


def _check(q: Mapping[str, Any], given: Any) -> tuple[bool, str]:
    kind = q["kind"]
    expected = q["answer"]
    if given is None:
        return False, "no answer"
    if kind == "exact":
        return _norm(given) == _norm(expected), ""
    if kind == "number":
        try:
            return float(given) == float(expected), ""
        except (TypeError, ValueError):
            return False, f"not a number: {given!r}"
    if kind == "set":
        items = (
            given
            if isinstance(given, list | tuple | set)
            else [x for x in str(given).replace(",", " ").split()]
        )
        want, got = {_norm(x) for x in expected}, {_norm(x) for x in items}
        missing, extra = sorted(want - got), sorted(got - want)
        detail = "; ".join(
            p
            for p in (
                f"missing {len(missing)}" if missing else "",
                f"{len(extra)} not expected: {', '.join(extra)}" if extra else "",
            )
            if p
        )
        return not missing and not extra, detail
    if kind == "time-within-seconds":
        try:
            delta = abs((_time(given) - _time(expected)).total_seconds())
        except ValueError as err:
            return False, str(err)
        tol = float(q.get("tolerance_seconds", 1))
        return delta <= tol, "" if delta <= tol else f"off by {delta:.0f} s"
    raise ScenarioError(f"question {q['id']!r} has unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


def grade(answer_key: Mapping[str, Any], answers: Mapping[str, Any]) -> list[Result]:
    """Grade ``answers`` (``{question_id: value}`` or ``{"answers": {...}}``) question by question."""
    if "answers" in answers and isinstance(answers["answers"], Mapping):
        answers = answers["answers"]
    out = []
    for q in answer_key.get("questions", []):
        given = answers.get(q["id"])
        if _blank(given):
            ok, detail, note, answered = False, "unanswered", "", False
        else:
            value, note = _accept_names(q, given)
            ok, detail = _check(q, value)
            answered = True
            if not ok:
                note = ""
        out.append(
            Result(
                id=q["id"],
                question=q["question"],
                correct=ok,
                expected=q["answer"],
                given=given,
                explanation=q["explanation"],
                detail=detail or note,
                answered=answered,
                note=note,
            )
        )
    return out
