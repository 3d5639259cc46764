"""A local AWS (a moto server on 127.0.0.1) seeded with a scenario's IAM, where applying a deny is real and harmless.

The server runs in a thread of this process on a free port, quietly (no request lines on stderr, which
would break strict nbval), and only one runs per process: a second :func:`start_sandbox` returns the
running one (``reuse=True``) or refuses. It is seeded from a scenario's ``account.json`` (users and roles
with their trust, inline and managed policies and ``MaxSessionDuration``) into the scenario's own
account id, and hands out an administrator key of that account, so :func:`ircreds.aws.apply` sees the
same account as the plan. Without an ``account.json`` (any real case) it is built from the evidence itself
(:func:`ircreds.lineage.account_model.account_model`: every role and user the logs show, in every account
the case spans), and :meth:`Sandbox.write_description` writes ``sandbox.json`` saying what was known and
what had to be assumed, beside the action records.

Remember what moto is: it stores and returns IAM documents faithfully, but does not evaluate policy
conditions (a conditional Deny acts as a plain Deny). Use :mod:`ircreds.containment.evaluate` for who is cut.

Example::

    with start_sandbox("data/samples/walkthrough") as sb:
        iam = sb.client("iam")
        iam.get_role(RoleName="ExampleRole")["Role"]["MaxSessionDuration"]
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import socket
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from ircreds.errors import IrcredsError, SourceError

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT_ID = "123456789012"
ADMIN_USER = "ircreds-sandbox-admin"
REGION = "us-east-1"
_ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

# account.json names customer-managed policies without their documents: stand in with a harmless one
_PLACEHOLDER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}],
}

_LOCK = threading.Lock()
_ACTIVE: Sandbox | None = None


class SandboxError(IrcredsError, RuntimeError):
    """The sandbox cannot start, is already running, or cannot be seeded as asked."""


@dataclass(slots=True)
class SeedReport:
    """What seeding created, and what it had to skip (with why)."""

    account_id: str
    users: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def account_from_evidence(events: Any, *, account_id: str | None = None) -> dict[str, Any]:
    """An ``account.json`` document built from evidence (an events frame, or anything ``ircreds.load`` reads).

    ``account_id`` picks the main account (the administrator key's); default: the one with most events.
    Every role and user carries ``known`` and ``assumed``; the document has ``"source": "evidence"``.
    """
    import pandas as pd

    from ircreds.evidence import load
    from ircreds.lineage.account_model import account_model

    frame = events if isinstance(events, pd.DataFrame) else load(events)
    doc = account_model(frame).to_account_json(account_id)
    if not doc["roles"] and not doc["users"] and not doc["linked_accounts"]:
        log.warning(
            "the evidence shows no IAM role or user; the sandbox account %s is empty", doc["account_id"]
        )
    return doc


def with_evidence(account: Mapping[str, Any], evidence_account: Mapping[str, Any]) -> dict[str, Any]:
    """``account`` (an ``account.json``: the account before the incident) plus every role and user that
    ``evidence_account`` (:func:`account_from_evidence`) shows and it lacks, in every account.

    What the attacker created during the incident (a backdoor user, a role) is in the logs but not in a
    pre-incident ``account.json``; a plan may target it, so the sandbox must hold it. Each addition keeps
    its ``known``/``assumed`` notes; ``source`` becomes ``"account.json+evidence"`` when anything was added.
    """
    merged = json.loads(json.dumps(dict(account)))
    by_id = {str(merged.get("account_id")): merged}
    for linked in merged.get("linked_accounts") or ():
        by_id.setdefault(str(linked.get("account_id")), linked)
    added = 0
    for doc in (evidence_account, *(evidence_account.get("linked_accounts") or ())):
        target = by_id.get(str(doc.get("account_id")))
        if target is None:
            merged.setdefault("linked_accounts", []).append(json.loads(json.dumps(doc)))
            added += len(doc.get("roles") or ()) + len(doc.get("users") or ())
            continue
        for group in ("roles", "users"):
            have = {item.get("name") for item in target.get(group) or ()}
            extra = [dict(item) for item in doc.get(group) or () if item.get("name") not in have]
            if extra:
                target.setdefault(group, []).extend(extra)
                added += len(extra)
    if added:
        merged["source"] = "account.json+evidence"
        log.info("the sandbox adds %d role(s)/user(s) the evidence shows and account.json lacks", added)
    return merged


def load_account(source: Any, *, events: Any = None, account_id: str | None = None) -> dict[str, Any]:
    """The ``account.json`` document from a dict, a file, a scenario directory, or a scenario object.

    A directory may hold ``account.json`` itself or in one sub-directory (``data/samples`` holds
    ``walkthrough/account.json``). With ``events`` (a frame), or a directory of evidence without any
    ``account.json``, the account is built from the evidence (:func:`account_from_evidence`).
    """
    if events is not None:
        return account_from_evidence(events, account_id=account_id)
    if source is None:
        return {"account_id": DEFAULT_ACCOUNT_ID, "users": [], "roles": []}
    if isinstance(source, Mapping):
        return dict(source)
    for attr in ("account_json", "account"):
        value = getattr(source, attr, None)
        if callable(value):
            value = value()
        if isinstance(value, Mapping):
            return dict(value)
    path = Path(source)
    if path.is_dir():
        candidates = [path / "account.json", *sorted(path.glob("*/account.json"))]
        found = [p for p in candidates if p.is_file()]
        if not found:
            log.info("no account.json in %s: building the sandbox account from the evidence", path)
            try:
                return account_from_evidence(path, account_id=account_id)
            except SourceError as err:
                raise SandboxError(
                    f"{path} holds no account.json and no evidence to build the account from ({err})"
                ) from None
        path = found[0]
    if not path.is_file():
        raise SandboxError(f"{path} does not exist; pass a scenario directory or its account.json")
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError) as err:
        raise SandboxError(f"{path} is not a readable account.json ({err})") from None


def _free_port(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            raise SandboxError(f"port {port} on {host} is busy; use port=0 for a free one") from None


def _quiet_server(host: str, port: int) -> Any:
    """A moto server whose request handler logs no request lines (they break strict nbval on stderr).

    Only this server's handler is quiet: werkzeug's logger, and any other server in the process,
    keep their settings; errors are still logged.
    """
    from moto.server import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        ThreadedMotoServer,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """No line per request."""

    class QuietServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            # ThreadedMotoServer._server_entry with our handler (moto 5 builds the same server)
            app = DomainDispatcherApplication(create_backend_app)
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=QuietHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return QuietServer(ip_address=host, port=port, verbose=False)


class Sandbox:
    """A moto server on 127.0.0.1 seeded with one account's IAM; a context manager.

    Attributes:
        account_id: the seeded account (the scenario's, ``111122223333`` for the walkthrough).
        endpoint_url: ``http://127.0.0.1:<port>`` once started.
        seed: what seeding created and skipped.
    """

    def __init__(
        self,
        account: Any = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        events: Any = None,
        account_id: str | None = None,
    ) -> None:
        self.account = load_account(account, events=events, account_id=account_id)
        self.account_id = str(self.account.get("account_id") or DEFAULT_ACCOUNT_ID)
        self.host = host
        self.port = port
        self.endpoint_url: str | None = None
        self.seed: SeedReport | None = None
        self._server: Any = None
        self._keys: dict[str, tuple[str, str]] = {}

    # lifecycle ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    def start(self) -> Sandbox:
        """Start the server and seed it; a no-op when this sandbox already runs."""
        global _ACTIVE
        with _LOCK:
            if self.running:
                return self
            if _ACTIVE is not None:
                raise SandboxError(
                    f"a sandbox already runs at {_ACTIVE.endpoint_url}; stop it first or use start_sandbox(reuse=True)"
                )
            _free_port(self.host, self.port)
            server = _quiet_server(self.host, self.port)
            server.start()
            host, port = server.get_host_and_port()
            self._server = server
            self.port = port
            self.endpoint_url = f"http://{host}:{port}"
            _ACTIVE = self
        try:
            self.seed = self._seed()
        except Exception:
            self.stop()
            raise
        log.info("sandbox for account %s at %s", self.account_id, self.endpoint_url)
        return self

    def stop(self) -> None:
        """Stop the server (its state lives in this process's moto backends until reset)."""
        global _ACTIVE
        with _LOCK:
            if self._server is None:
                return
            with contextlib.suppress(OSError):
                self._moto_api("reset", b"")
            self._server.stop()
            self._server = None
            self._keys = {}
            if _ACTIVE is self:
                _ACTIVE = None
        log.info("sandbox at %s stopped", self.endpoint_url)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every change (moto reset) and seed the account again."""
        self._require()
        self._moto_api("reset", b"")
        self._keys = {}
        self.seed = self._seed()

    def describe(self) -> dict[str, Any]:
        """What this sandbox holds and where it came from: the ``sandbox.json`` document.

        For an account built from evidence, each role and user says what the logs showed (``known``)
        and what had to be assumed (``assumed``). Never holds a secret.
        """
        docs = (self.account, *(self.account.get("linked_accounts") or ()))
        accounts = []
        for doc in docs:
            accounts.append(
                {
                    "account_id": str(doc.get("account_id") or self.account_id),
                    **{
                        group: [
                            {k: item.get(k) for k in ("name", "arn", "known", "assumed") if k in item}
                            for item in doc.get(group) or ()
                        ]
                        for group in ("roles", "users")
                    },
                }
            )
        return {
            "endpoint_url": self.endpoint_url,
            "account_id": self.account_id,
            "source": self.account.get("source") or "account.json",
            "accounts": accounts,
            "seeded": {"roles": list(self.seed.roles), "users": list(self.seed.users)} if self.seed else None,
            "skipped": list(self.seed.skipped) if self.seed else [],
            "limits": "moto stores IAM documents but does not evaluate policy conditions; "
            "who a cut-off cuts comes from ircreds' evaluator",
        }

    def write_description(self, directory: str | os.PathLike[str]) -> Path:
        """Write :meth:`describe` as ``DIRECTORY/sandbox.json`` (beside the action records); return the path."""
        path = Path(directory) / "sandbox.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.describe(), indent=2) + "\n")
        return path

    # clients -----------------------------------------------------------------------------------
    @property
    def credentials(self) -> tuple[str, str]:
        """The administrator's (access key id, secret) in the seeded account."""
        return self.credentials_for(self.account_id)

    def credentials_for(self, account_id: str) -> tuple[str, str]:
        """The administrator's key in the main account or one of its ``linked_accounts``."""
        self._require()
        if account_id not in self._keys:
            raise SandboxError(f"account {account_id} is not seeded here; seeded: {', '.join(self._keys)}")
        return self._keys[account_id]

    def session(self, region: str = REGION) -> boto3.session.Session:
        """A boto3 session signed as the sandbox administrator (pass ``endpoint_url`` to its clients)."""
        key_id, secret = self.credentials
        return boto3.session.Session(
            aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=region
        )

    def client(
        self,
        name: str,
        region: str = REGION,
        *,
        credentials: tuple[str, str] | None = None,
        account_id: str | None = None,
    ) -> Any:
        """A boto3 client for service ``name`` on this sandbox, as the administrator of the main account
        (or of ``account_id``, a linked account), or with ``credentials``.
        """
        key_id, secret = credentials or self.credentials_for(account_id or self.account_id)
        return boto3.session.Session(
            aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=region
        ).client(name, endpoint_url=self.endpoint_url, config=Config(retries={"mode": "standard"}))

    def enforce_authorization(self, after: int = 0) -> None:
        """Make moto check IAM permissions after ``after`` more requests (``float('inf')`` turns it off).

        Enforcement ignores policy conditions (moto limitation): use it to see real AccessDenied errors,
        not to judge a cut-off.
        """
        self._require()
        self._moto_api("reset-auth", str(after).encode())

    # internals ---------------------------------------------------------------------------------
    def _require(self) -> None:
        if not self.running:
            raise SandboxError("the sandbox is not running; call start() or use start_sandbox()")

    def _moto_api(self, path: str, body: bytes) -> None:
        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/{path}",
            data=body,
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def _bootstrap_client(self, name: str, account_id: str) -> Any:
        client = boto3.session.Session(
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="bootstrap", region_name=REGION
        ).client(name, endpoint_url=self.endpoint_url)

        def add_account(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account_id

        client.meta.events.register("before-sign.*.*", add_account)
        return client

    def _seed(self) -> SeedReport:
        self._moto_api("reset", b"")  # moto's state is per process: start from a clean account
        report = SeedReport(account_id=self.account_id)
        # the main account, then any linked account of a cross-account scenario, each with its admin key
        for doc in (self.account, *(self.account.get("linked_accounts") or ())):
            account_id = str(doc.get("account_id") or self.account_id)
            iam = self._bootstrap_client("iam", account_id)
            iam.create_user(UserName=ADMIN_USER)
            iam.put_user_policy(
                UserName=ADMIN_USER,
                PolicyName="SandboxAdministrator",
                PolicyDocument=json.dumps(_ADMIN_POLICY),
            )
            key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
            self._keys[account_id] = (key["AccessKeyId"], key["SecretAccessKey"])
            for role in doc.get("roles", []):
                self._seed_role(iam, role, report, account_id)
            for user in doc.get("users", []):
                self._seed_user(iam, user, report, account_id)
        if report.skipped:
            log.warning(
                "sandbox seeding skipped %d item(s): %s", len(report.skipped), "; ".join(report.skipped)
            )
        return report

    def _seed_role(self, iam: Any, role: Mapping[str, Any], report: SeedReport, account_id: str) -> None:
        name = role["name"]
        kwargs: dict[str, Any] = {
            "RoleName": name,
            "AssumeRolePolicyDocument": json.dumps(role.get("trust_policy") or _default_trust(account_id)),
            "Path": role.get("path") or "/",
            "MaxSessionDuration": int(role.get("max_session_duration") or 3600),
        }
        if role.get("description"):
            kwargs["Description"] = role["description"]
        if str(kwargs["Path"]).startswith("/aws-service-role/"):
            # service-linked roles are made by their service, under the name AWS chooses
            service = str(kwargs["Path"]).split("/")[2]
            try:
                iam.create_service_linked_role(
                    AWSServiceName=service, Description=role.get("description") or ""
                )
            except ClientError as err:
                report.skipped.append(
                    f"role {name}: cannot create a service-linked role for {service} ({err})"
                )
                return
            report.roles.append(name)
            return
        iam.create_role(**kwargs)
        report.roles.append(name)
        for policy_name, doc in (role.get("inline_policies") or {}).items():
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(doc))
        for arn in role.get("managed_policy_arns") or []:
            self._attach(iam, "role", name, arn, report, account_id)

    def _seed_user(self, iam: Any, user: Mapping[str, Any], report: SeedReport, account_id: str) -> None:
        name = user["name"]
        iam.create_user(UserName=name)
        report.users.append(name)
        for policy_name, doc in (user.get("inline_policies") or {}).items():
            iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=json.dumps(doc))
        for arn in user.get("managed_policy_arns") or []:
            self._attach(iam, "user", name, arn, report, account_id)

    def _attach(self, iam: Any, kind: str, name: str, arn: str, report: SeedReport, account_id: str) -> None:
        account = arn.split(":")[4] if arn.count(":") >= 5 else ""
        if account not in ("aws", account_id):
            report.skipped.append(f"{kind} {name}: policy {arn} belongs to another account")
            return
        if account == account_id:
            try:
                iam.get_policy(PolicyArn=arn)
            except ClientError:
                policy_name = arn.rsplit("/", 1)[-1]
                path = (
                    "/" + arn.split(":policy/", 1)[-1].rsplit("/", 1)[0] + "/" if arn.count("/") > 1 else "/"
                )
                iam.create_policy(
                    PolicyName=policy_name,
                    Path=path.replace("//", "/"),
                    PolicyDocument=json.dumps(_PLACEHOLDER_POLICY),
                )
                report.skipped.append(
                    f"{kind} {name}: {arn} created as a placeholder (account.json has no document)"
                )
        if account == "aws":
            self._ensure_aws_managed(arn, account_id)
        try:
            if kind == "role":
                iam.attach_role_policy(RoleName=name, PolicyArn=arn)
            else:
                iam.attach_user_policy(UserName=name, PolicyArn=arn)
        except ClientError as err:
            report.skipped.append(f"{kind} {name}: cannot attach {arn} ({err.response['Error']['Code']})")

    def _ensure_aws_managed(self, arn: str, account_id: str) -> None:
        """Load one AWS-managed policy into the account (moto loads all ~1,400 only on request, slowly).

        The server runs in this process, so its IAM backend is moto's in-process one.
        """
        from moto.iam.models import AWSManagedPolicy, iam_backends

        backend = iam_backends[account_id]["aws"]
        if arn in backend.managed_policies:
            return
        data = _aws_managed_data().get(arn.rsplit("/", 1)[-1])
        if data is None:
            return  # attach then fails with NoSuchEntity and the seed report says so
        policy = AWSManagedPolicy.from_data(arn.rsplit("/", 1)[-1], account_id, backend.region_name, data)
        backend.managed_policies[policy.arn] = policy
        backend.aws_managed_policies.append(policy)


@functools.cache
def _aws_managed_data() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return dict(json.loads(aws_managed_policies_data))


def _default_trust(account_id: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def active_sandbox() -> Sandbox | None:
    """The sandbox running in this process, if any."""
    return _ACTIVE


def start_sandbox(
    account: Any = None,
    *,
    port: int = 0,
    reuse: bool = True,
    events: Any = None,
    account_id: str | None = None,
    record_dir: str | os.PathLike[str] | None = None,
) -> Sandbox:
    """Start (or, with ``reuse``, return the already running) sandbox seeded with ``account``.

    ``account`` is a scenario directory, an ``account.json`` path or dict, a scenario object with
    ``account_json()``, a folder of evidence without ``account.json`` (the account is then built from
    the logs), or ``None`` for an empty account ``123456789012``. ``events`` (an events frame) builds the
    account from evidence already loaded; ``account_id`` picks its main account (the plan's). With
    ``record_dir``, ``sandbox.json`` (what was known, what was assumed) is written there. Re-running a
    notebook cell therefore never starts a second server. A running sandbox seeded with another account
    is refused.
    """
    running = _ACTIVE
    if running is not None:
        wanted = account_id or str(
            load_account(account, events=events).get("account_id") or DEFAULT_ACCOUNT_ID
        )
        if not (reuse and running.account_id == wanted):
            raise SandboxError(
                f"a sandbox for account {running.account_id} already runs at {running.endpoint_url}; stop it first"
            )
        if record_dir is not None:
            running.write_description(record_dir)
        return running
    if os.environ.get("MOTO_ACCOUNT_ID"):
        log.warning("MOTO_ACCOUNT_ID is set; moto will put every call in that account, not the scenario's")
    sandbox = Sandbox(account, port=port, events=events, account_id=account_id).start()
    if record_dir is not None:
        sandbox.write_description(record_dir)
    return sandbox


def case_account(evidence: Any, events: Any = None, plan: Any = None) -> dict[str, Any]:
    """The account to seed for a case: the scenario's ``account.json`` when ``evidence`` is a folder that
    has one (with what the evidence adds to it: :func:`with_evidence`), else built from the evidence
    (``events`` when loaded already) in the plan's account.

    What a notebook or widget passes as ``account=``, so any case works without a hand-written file.
    """
    account_id = _plan_account(plan)
    if isinstance(evidence, (str, os.PathLike)) and Path(evidence).is_dir():
        path = Path(evidence)
        if (path / "account.json").is_file() or any(path.glob("*/account.json")):
            base = load_account(path)
            seen = account_from_evidence(
                events if events is not None else path, account_id=str(base.get("account_id") or account_id)
            )
            return with_evidence(base, seen)
    return account_from_evidence(events if events is not None else evidence, account_id=account_id)


def _plan_account(plan: Any) -> str | None:
    for revocation in getattr(plan, "revocations", ()) or ():
        arn = getattr(revocation, "arn", None) or ""
        if arn.count(":") >= 5 and arn.split(":")[4]:
            return arn.split(":")[4]
    return getattr(plan, "account_id", None)


def rehearse(plan: Any, sandbox: Sandbox, *, now: Any, record_dir: Any = None) -> list[Any]:
    """Apply every revocation of ``plan`` to the sandbox, each account's through that account's administrator.

    Confirmed in code because it is the sandbox (a rehearsal, never containment); uses
    :func:`ircreds.aws.apply_by_account`, which refuses before any change when an account of the plan is
    not seeded. Returns one action record per account.
    """
    from ircreds.aws import apply_by_account

    accounts = {_arn_account(r.arn) or sandbox.account_id for r in plan.revocations}
    targets = {
        a: sandbox if a == sandbox.account_id else sandbox.client("iam", account_id=a) for a in accounts
    }
    records = apply_by_account(plan, targets, now=now, dry_run=False, confirm=True, record_dir=record_dir)
    return list(records.values())


def _arn_account(arn: str | None) -> str | None:
    return arn.split(":")[4] if arn and arn.count(":") >= 5 else None
