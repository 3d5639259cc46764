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
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ircreds.containment.evaluate import parse_date
from ircreds.containment.policy import (
    ROLE_INLINE_POLICY_LIMIT,
    USER_INLINE_POLICY_LIMIT,
    TargetKind,
    canonical,
    policy_size,
)
from ircreds.errors import PlanError

if TYPE_CHECKING:
    from ircreds.containment import Plan, Revocation

log = logging.getLogger(__name__)


def iso_utc(value: datetime | None) -> str | None:
    """A time as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC (the action record's format); ``None`` stays ``None``.

    Example:
        >>> from datetime import timedelta, timezone
        >>> iso_utc(datetime(2025, 1, 20, 13, 0, 5, 999, tzinfo=timezone(timedelta(hours=1))))
        '2025-01-20T12:00:05Z'
    """
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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

    def __post_init__(self) -> None:
        if self.when.tzinfo is None:
            raise ValueError(f"when must be timezone-aware, got {self.when!r}")

    @property
    def changed(self) -> tuple[Change, ...]:
        """The changes that write (or, in a dry run, would write) something."""
        return tuple(c for c in self.changes if c.operation != "unchanged")

    def diff(self) -> str:
        """Every change's diff, or a line saying nothing changes."""
        parts = [c.diff() for c in self.changed]
        return "\n".join(p for p in parts if p) or "no change: every policy is already in place"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (what is written to the record file)."""
        return {
            "action": self.action,
            "dry_run": self.dry_run,
            "who": self.who,
            "when": iso_utc(self.when),
            "where": {
                "account_id": self.account_id,
                "endpoint_url": self.endpoint_url,
                "profile": self.profile,
                "region": self.region,
            },
            "cutoff": iso_utc(self.cutoff),
            "plan_key": self.plan_key,
            "changes": [c.to_dict() for c in self.changes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, path: str | None = None) -> ActionRecord:
        """Inverse of :meth:`to_dict`."""
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
            )
        except (KeyError, TypeError, ValueError) as err:
            raise PlanError(f"not an ircreds action record ({type(err).__name__}: {err})") from None

    @classmethod
    def load(cls, path: str | Path) -> ActionRecord:
        """Read a record file written by :func:`ircreds.aws.apply` or :func:`ircreds.aws.rollback`."""
        p = Path(path)
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError) as err:
            raise PlanError(f"cannot read action record {p} ({err})") from None
        return cls.from_dict(data, path=str(p))

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
