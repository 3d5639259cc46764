"""What an apply or rollback changes, decided from plain documents: the change model and its action record.

The pure half of :mod:`ircreds.aws`. :class:`Change` is one inline policy before and after;
:class:`ActionRecord` is the JSON audit trail (who, when, where, what) that :func:`ircreds.aws.rollback`
replays backwards. The functions here take what the edge read from IAM (documents, policy names) and
decide: which revocations to apply, whether a policy is already in place, whether the inline-policy size
limit holds, what a rollback restores and whether a read-back matches. Nothing here calls AWS; how an
AWS error code reads as one sentence is :mod:`ircreds.containment.aws_errors`.

Example:
    >>> from datetime import UTC, datetime
    >>> rec = ActionRecord(action="apply", dry_run=True, who="arn:aws:iam::123456789012:user/ir",
    ...                    when=datetime(2025, 1, 20, 12, tzinfo=UTC), account_id="123456789012")
    >>> rec.to_dict()["when"], rec.diff()
    ('2025-01-20T12:00:00Z', 'no change: every policy is already in place')
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ircreds.containment.evaluate import parse_date
from ircreds.containment.policy import (
    POLICY_NAME,
    ROLE_INLINE_POLICY_LIMIT,
    USER_INLINE_POLICY_LIMIT,
    TargetKind,
    canonical,
    policy_size,
    recognise,
)
from ircreds.errors import PlanError
from ircreds.times import iso_z

if TYPE_CHECKING:
    from ircreds.containment import Plan, Revocation

log = logging.getLogger(__name__)


#: The 0.1 name of :func:`ircreds.times.iso_z` (the action record's time format).
iso_utc = iso_z


RECORD_DIR_ENV = "IRCREDS_RECORD_DIR"
"""Environment variable naming the folder action records go to when none is given."""


def default_record_dir(env: Mapping[str, str], home: Path) -> Path:
    """Where action records go by default: ``$IRCREDS_RECORD_DIR``, else ``$XDG_DATA_HOME/ircreds/actions``,
    else ``~/.local/share/ircreds/actions``; never the current directory. The edge passes the environment.

    Example:
        >>> default_record_dir({}, Path("/home/ir")).as_posix()
        '/home/ir/.local/share/ircreds/actions'
        >>> default_record_dir({"IRCREDS_RECORD_DIR": "/cases/42/actions"}, Path("/home/ir")).as_posix()
        '/cases/42/actions'
    """
    if env.get(RECORD_DIR_ENV):
        return Path(env[RECORD_DIR_ENV]).expanduser()
    data_home = Path(env["XDG_DATA_HOME"]) if env.get("XDG_DATA_HOME") else home / ".local" / "share"
    return data_home / "ircreds" / "actions"


def is_rehearsal(endpoint_url: str | None) -> bool:
    """True when an action ran against a sandbox or any endpoint that is not AWS's own: a *rehearsal*.

    A rehearsal is labelled so everywhere and never counts as containment (nor for time-to-contain).

    Example:
        >>> is_rehearsal("http://127.0.0.1:5000"), is_rehearsal(None), is_rehearsal("https://iam.amazonaws.com")
        (True, False, False)
        >>> is_rehearsal("https://iam.amazonaws.com.example.net")
        True
    """
    if not endpoint_url:
        return False
    host = (urlsplit(endpoint_url if "//" in endpoint_url else f"//{endpoint_url}").hostname or "").lower()
    return not host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws"))


def content_sha256(data: Mapping[str, Any]) -> str:
    """SHA-256 of a plan's or record's JSON content (its own ``sha256`` field left out), keys sorted.

    It tells a file edited after ircreds wrote it (by mistake or by hand); it is not a signature:
    anyone can recompute it, so ``apply`` and ``rollback`` check every field anyway.

    Example:
        >>> content_sha256({"a": 1}) == content_sha256({"a": 1, "sha256": "x"})
        True
    """
    body = {k: v for k, v in data.items() if k != "sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def digest_matches(data: Any) -> bool | None:
    """``True`` when the JSON's ``sha256`` matches its content, ``False`` when it does not, ``None`` without one."""
    if not isinstance(data, Mapping) or not isinstance(data.get("sha256"), str):
        return None
    return data["sha256"] == content_sha256(data)


def policy_document(value: Any) -> dict[str, Any] | None:
    """A policy document as IAM returns it (a dict, JSON text, or URL-encoded JSON) as a dict.

    Example:
        >>> policy_document('%7B%22Version%22%3A%20%222012-10-17%22%7D')
        {'Version': '2012-10-17'}
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value if value.lstrip().startswith("{") else unquote(value)
        return dict(json.loads(text))
    return dict(value)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, str):
        return f"string ({value[:40]!r})"
    return type(value).__name__


def _expect(data: Mapping[str, Any], name: str, kind: type, *, what: str) -> None:
    value = data.get(name)
    if value is not None and not isinstance(value, kind):
        wanted = "an object" if kind is Mapping else "a list"
        raise PlanError(f"{what}: {name} must be {wanted}, got a {_json_type(value)}")


# ------------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One inline policy on one role or user: what it was, what it became, and the read-back."""

    target: str
    target_kind: TargetKind
    arn: str
    policy_name: str
    operation: str
    """``put`` (written or would be), ``unchanged`` (already in place), ``delete`` / ``restore`` (rollback)."""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    readback_ok: bool | None = None
    other_inline: tuple[str, ...] = ()
    attached: tuple[str, ...] = ()

    def diff(self) -> str:
        """A unified diff of the before and after documents."""
        a = json.dumps(self.before, indent=2, sort_keys=True).splitlines() if self.before is not None else []
        b = json.dumps(self.after, indent=2, sort_keys=True).splitlines() if self.after is not None else []
        label = f"{self.target_kind} {self.target} inline policy {self.policy_name}"
        return "\n".join(difflib.unified_diff(a, b, f"{label} (before)", f"{label} (after)", lineterm=""))

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "target": self.target,
            "target_kind": str(self.target_kind),
            "arn": self.arn,
            "policy_name": self.policy_name,
            "operation": self.operation,
            "before": self.before,
            "after": self.after,
            "readback_ok": self.readback_ok,
            "other_inline": list(self.other_inline),
            "attached": list(self.attached),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        """Inverse of :meth:`to_dict`."""
        return cls(
            target=data["target"],
            target_kind=TargetKind(data["target_kind"]),
            arn=data["arn"],
            policy_name=data["policy_name"],
            operation=data["operation"],
            before=data.get("before"),
            after=data.get("after"),
            readback_ok=data.get("readback_ok"),
            other_inline=tuple(data.get("other_inline") or ()),
            attached=tuple(data.get("attached") or ()),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRecord:
    """Who changed what, when and where, with the documents before and after (the audit trail)."""

    action: str
    """``apply`` or ``rollback``."""
    dry_run: bool
    who: str
    when: datetime
    account_id: str
    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    cutoff: datetime | None = None
    plan_key: str | None = None
    changes: tuple[Change, ...] = ()
    path: str | None = None
    digest_ok: bool | None = field(default=None, compare=False)
    """For a record read from a file: did its ``sha256`` match its content (``None``: no digest)."""

    def __post_init__(self) -> None:
        if self.when.tzinfo is None:
            raise ValueError(f"when must be timezone-aware, got {self.when!r}")

    @property
    def rehearsal(self) -> bool:
        """True when the action ran against a sandbox or a non-AWS endpoint: it contained nothing."""
        return is_rehearsal(self.endpoint_url)

    @property
    def changed(self) -> tuple[Change, ...]:
        """The changes that write (or, in a dry run, would write) something."""
        return tuple(c for c in self.changes if c.operation != "unchanged")

    def diff(self) -> str:
        """Every change's diff, or a line saying nothing changes."""
        parts = [c.diff() for c in self.changed]
        return "\n".join(p for p in parts if p) or "no change: every policy is already in place"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (what is written to the record file), with ``sha256`` of the rest."""
        body = {
            "action": self.action,
            "dry_run": self.dry_run,
            "who": self.who,
            "when": iso_z(self.when),
            "where": {
                "account_id": self.account_id,
                "endpoint_url": self.endpoint_url,
                "profile": self.profile,
                "region": self.region,
            },
            "cutoff": iso_z(self.cutoff),
            "plan_key": self.plan_key,
            "changes": [c.to_dict() for c in self.changes],
            "rehearsal": self.rehearsal,
        }
        return {**body, "sha256": content_sha256(body)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, path: str | None = None) -> ActionRecord:
        """Inverse of :meth:`to_dict`; a malformed record is refused in one sentence naming the field."""
        where_from = f" {path}" if path else ""
        if not isinstance(data, Mapping):
            raise PlanError(
                f"action record{where_from} is not an ircreds action record: it holds a {_json_type(data)}, not an object"
            )
        _expect(data, "where", Mapping, what=f"action record{where_from}")
        _expect(data, "changes", list, what=f"action record{where_from}")
        for i, change in enumerate(data.get("changes") or ()):
            if not isinstance(change, Mapping):
                raise PlanError(
                    f"action record{where_from}: changes[{i}] must be an object, got a {_json_type(change)}"
                )
            for name in ("target", "arn", "policy_name", "operation", "target_kind"):
                if not isinstance(change.get(name), str):
                    raise PlanError(
                        f"action record{where_from}: changes[{i}].{name} must be a string, got {_json_type(change.get(name))}"
                    )
            for name in ("before", "after"):
                if change.get(name) is not None and not isinstance(change.get(name), Mapping):
                    raise PlanError(
                        f"action record{where_from}: changes[{i}].{name} must be a policy document (an object) or null"
                    )
        try:
            where = data.get("where") or {}
            return cls(
                action=data["action"],
                dry_run=bool(data["dry_run"]),
                who=data["who"],
                when=parse_date(data["when"]),
                account_id=where["account_id"],
                endpoint_url=where.get("endpoint_url"),
                profile=where.get("profile"),
                region=where.get("region"),
                cutoff=parse_date(data["cutoff"]) if data.get("cutoff") else None,
                plan_key=data.get("plan_key"),
                changes=tuple(Change.from_dict(c) for c in data.get("changes") or ()),
                path=path,
                digest_ok=digest_matches(data),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise PlanError(
                f"not an ircreds action record{where_from} ({type(err).__name__}: {err})"
            ) from None

    @classmethod
    def load(cls, path: str | Path) -> ActionRecord:
        """Read a record file written by :func:`ircreds.aws.apply` or :func:`ircreds.aws.rollback`."""
        p = Path(path)
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError, RecursionError) as err:
            raise PlanError(f"cannot read action record {p} ({err})") from None
        record = cls.from_dict(data, path=str(p))
        if record.digest_ok is False:
            log.warning(
                "action record %s was edited after ircreds wrote it (its SHA-256 no longer matches)", p
            )
        return record

    def save(self, directory: str | Path) -> ActionRecord:
        """Write the record as ``<when>-<action>-<account>.json`` in ``directory``; return it with ``path``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        stem = f"{self.when.astimezone(UTC):%Y%m%dT%H%M%SZ}-{self.action}-{self.account_id}"
        path = d / f"{stem}.json"
        n = 1
        while path.exists():
            n += 1
            path = d / f"{stem}-{n}.json"
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        log.info("action record written to %s", path)
        return replace(self, path=str(path))


# ------------------------------------------------------------------------------- apply decisions


def require_confirmation(dry_run: bool, confirm: bool) -> None:
    """Refuse a write unless it is both not a dry run and confirmed."""
    if not dry_run and not confirm:
        raise PlanError(
            "refusing to change the account without confirm=True (dry_run=False alone is not enough)"
        )


def select_revocations(plan: Plan, targets: Iterable[str] | None) -> list[Revocation]:
    """The plan's revocations to apply (all, or those named by ``targets``); each must carry a policy."""
    revs = list(plan.revocations)
    if targets is not None:
        wanted = set(targets)
        revs = [r for r in revs if wanted & {r.target, r.arn}]
        missing = wanted - {r.target for r in revs} - {r.arn for r in revs}
        if missing:
            raise PlanError(
                f"{sorted(missing)} not in the plan; its targets are {[r.target for r in plan.revocations]}"
            )
    if not revs:
        raise PlanError(
            "the plan has no revocation to apply (nothing the cut-off deny can reach; see its uncovered items)"
        )
    for r in revs:
        if not r.policy:
            raise PlanError(
                f"the revocation of {r.target} has no policy (the plan has no cut-off); build the plan with a cut-off"
            )
    return revs


def check_apply_account(revs: Iterable[Revocation], account: str, who: str) -> None:
    """Refuse the whole apply when any revocation targets another account than the caller's."""
    revs = list(revs)
    foreign = [r for r in revs if r.account_id and r.account_id != account]
    if foreign:
        mine = [r.target for r in revs if not r.account_id or r.account_id == account]
        hint = (
            f"; apply targets={mine} with these credentials and the rest with a profile of their account"
            if mine
            else ""
        )
        raise PlanError(
            f"the plan targets {foreign[0].arn} in account {foreign[0].account_id} but the credentials belong to "
            f"account {account} ({who}): nothing was changed{hint}"
        )


def planned_change(
    rev: Revocation,
    *,
    before: dict[str, Any] | None,
    inline: Iterable[str],
    attached: Iterable[str],
    dry_run: bool,
) -> Change:
    """The change a revocation makes given the target's current policy and inventory (merge, not clobber).

    ``unchanged`` when the same document (key order aside) is already in place, else ``put``; the other
    inline and attached policies are only recorded.
    """
    change = Change(
        target=rev.target,
        target_kind=rev.target_kind,
        arn=rev.arn,
        policy_name=rev.policy_name,
        before=before,
        after=rev.policy,
        operation="put",
        other_inline=tuple(n for n in inline if n != rev.policy_name),
        attached=tuple(attached),
    )
    if before is not None and canonical(before) == canonical(rev.policy):
        return replace(change, operation="unchanged", readback_ok=None if dry_run else True)
    return change


def check_inline_size(rev: Revocation, others: Iterable[dict[str, Any]]) -> None:
    """Refuse a deny that would push the target's inline policies over IAM's size limit."""
    limit = ROLE_INLINE_POLICY_LIMIT if rev.target_kind is TargetKind.ROLE else USER_INLINE_POLICY_LIMIT
    total = policy_size(rev.policy) + sum(policy_size(doc) for doc in others)
    if total > limit:
        raise PlanError(
            f"{rev.target}'s inline policies would total {total} characters with {rev.policy_name}, over IAM's {limit}: "
            "nothing was written; trim another inline policy or attach the deny as a managed policy"
        )


def apply_readback_ok(
    change: Change, after: dict[str, Any] | None, inline: Iterable[str], attached: Iterable[str]
) -> bool:
    """True when the written policy reads back as planned and no other policy moved."""
    untouched = [n for n in inline if n != change.policy_name] == list(change.other_inline) and list(
        attached
    ) == list(change.attached)
    return (
        after is not None
        and change.after is not None
        and canonical(after) == canonical(change.after)
        and untouched
    )


# ---------------------------------------------------------------------------- rollback decisions


def check_rollback(record: ActionRecord) -> None:
    """Refuse to roll back anything but a real (not dry-run) apply record."""
    if record.action != "apply" or record.dry_run:
        raise PlanError("only a real (not dry-run) apply record can be rolled back")


def check_record_account(record: ActionRecord, account: str, who: str) -> None:
    """Refuse to roll back a record of another account than the caller's."""
    if account != record.account_id:
        raise PlanError(
            f"the record is for account {record.account_id} but the credentials belong to account {account} ({who})"
        )


def check_unchanged_since_apply(change: Change, current: dict[str, Any] | None, *, force: bool) -> None:
    """Refuse to roll back a policy someone changed after the apply, unless ``force``."""
    if not force and (
        current is None or change.after is None or canonical(current) != canonical(change.after)
    ):
        raise PlanError(
            f"{change.policy_name} on {change.target} changed since the apply; nothing was rolled back "
            "(pass force=True to restore the recorded state anyway)"
        )


def rollback_change(change: Change, current: dict[str, Any] | None) -> Change:
    """The change that undoes an applied one: ``delete`` what the apply created, or ``restore`` what it replaced."""
    return Change(
        target=change.target,
        target_kind=change.target_kind,
        arn=change.arn,
        policy_name=change.policy_name,
        operation="delete" if change.before is None else "restore",
        before=current,
        after=change.before,
        other_inline=change.other_inline,
        attached=change.attached,
    )


def rollback_readback_ok(undo: Change, after: dict[str, Any] | None) -> bool:
    """True when the policy reads back as the rollback meant: gone, or the recorded document again."""
    if undo.after is None:
        return after is None
    return after is not None and canonical(after) == canonical(undo.after)


# ----------------------------------------------------------------- plans and records are untrusted input

_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:iam::(\d{12}):(role|user)((?:/[\w+=,.@-]+)*)/([\w+=,.@-]{1,64})", re.ASCII
)


def check_target(
    kind: TargetKind | str,
    name: str,
    arn: str,
    account_id: str | None,
    *,
    where: str,
    outcome: str = "nothing was changed",
) -> None:
    """Refuse a role or user name, ARN or account that IAM would not have written (hand-edited files).

    Example:
        >>> check_target("role", "../Admin", "arn:aws:iam::123456789012:role/../Admin", None, where="revocations[0]")
        Traceback (most recent call last):
        ...
        ircreds.errors.PlanError: revocations[0]: target '../Admin' is not an IAM role name (letters, digits and +=,.@_- only, no '/' or '..'): nothing was changed
    """
    kind = str(kind)
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise PlanError(
            f"{where}: target {name!r} is not an IAM {kind} name (letters, digits and +=,.@_- only, "
            f"no '/' or '..'): {outcome}"
        )
    match = _ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None or ".." in arn:
        raise PlanError(f"{where}: arn {arn!r} is not an IAM {kind} ARN: {outcome}")
    arn_account, arn_kind, _path, arn_name = match.groups()
    if arn_kind != kind:
        raise PlanError(f"{where}: arn {arn} is a {arn_kind}, but target_kind says {kind}: {outcome}")
    if arn_name != name:
        raise PlanError(f"{where}: target {name!r} is not the name in its arn {arn}: {outcome}")
    if account_id is not None and account_id != arn_account:
        raise PlanError(
            f"{where}: account_id {account_id} differs from the account {arn_account} of its arn {arn}: "
            f"{outcome}"
        )


def check_plan_revocations(plan: Plan, revs: Iterable[Revocation]) -> None:
    """Refuse, before any AWS call, a revocation ircreds would not have planned (a hand-edited plan file).

    Each must write ircreds' own inline policy (``AWSRevokeOlderSessions``) on a well-formed role or user
    of its own account, and its document must be exactly what :mod:`ircreds.containment.policy` builds:
    the cut-off deny for the plan's own ``cutoff``, or a narrower option. The message names the field.
    """
    index = {id(r): i for i, r in enumerate(plan.revocations)}
    for rev in revs:
        where = f"revocations[{index.get(id(rev), '?')}] ({rev.target})"
        if rev.policy_name != POLICY_NAME:
            raise PlanError(
                f"{where}: policy_name {rev.policy_name!r} is not ircreds' own inline policy {POLICY_NAME}; "
                "ircreds never writes another policy: nothing was changed"
            )
        check_target(rev.target_kind, rev.target, rev.arn, rev.account_id, where=where)
        found = recognise(rev.policy, strict=True)
        if found is None:
            raise PlanError(
                f"{where}: policy is not the cut-off deny ircreds builds (nor one of its narrower options): "
                "nothing was changed; write the plan again with `ircreds plan --out`"
            )
        kind, when = found
        if kind == "cutoff" and (plan.cutoff is None or when != plan.cutoff):
            raise PlanError(
                f"{where}: policy's aws:TokenIssueTime {iso_z(when)} differs from the plan's cutoff "
                f"{iso_z(plan.cutoff) or '(none)'}: nothing was changed; write the plan again with `ircreds plan --out`"
            )


def _norm_url(url: str | None) -> str | None:
    return url.rstrip("/").lower() if url else None


def check_rollback_target(
    record: ActionRecord, *, endpoint_url: str | None, profile: str | None, account: str, who: str
) -> None:
    """Refuse to roll back anywhere but where the apply ran: same endpoint, profile, account and caller."""
    for what, recorded, current in (
        ("endpoint", _norm_url(record.endpoint_url), _norm_url(endpoint_url)),
        ("profile", record.profile, profile),
        ("account", record.account_id, account),
        ("caller", record.who, who),
    ):
        if recorded != current:
            raise PlanError(
                f"the record was written with {what} {recorded or '(default)'} but this rollback runs with "
                f"{what} {current or '(default)'}: nothing was rolled back; run it where the apply ran "
                "(same endpoint, profile, account and caller)"
            )


def check_rollback_documents(record: ActionRecord) -> None:
    """Refuse a record asking to restore anything but ircreds' own policy, in a form ircreds or the console writes."""
    for i, change in enumerate(record.changes):
        where = f"changes[{i}] ({change.target})"
        if change.operation != "put":
            continue
        if change.policy_name != POLICY_NAME:
            raise PlanError(
                f"{where}: policy_name {change.policy_name!r} is not ircreds' own inline policy {POLICY_NAME}; "
                "ircreds rolls back only what it wrote: nothing was rolled back"
            )
        check_target(
            change.target_kind,
            change.target,
            change.arn,
            record.account_id,
            where=where,
            outcome="nothing was rolled back",
        )
        for name in ("before", "after"):
            doc = getattr(change, name)
            if doc is not None and recognise(doc, strict=False) is None:
                raise PlanError(
                    f"{where}: the record's {name} document is not a cut-off deny (nor a narrower option) that "
                    f"ircreds or the IAM console writes to {POLICY_NAME}: nothing was rolled back"
                )
        if change.after is None:
            raise PlanError(
                f"{where}: the record has no after document to compare with: nothing was rolled back"
            )
