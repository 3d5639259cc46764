"""The incident: a role session leaks, the attacker spreads, the responder cuts it off.

:class:`Incident` writes the story's records (in any order; callers sort) and remembers every
credential involved, so the answer key is computed from what was generated, not restated.
Twists (``ircreds.scenarios.twists``) change the root of the leaked session or add branches.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ircreds.scenarios import cast as ua
from ircreds.scenarios import issuing, roots, user_creds
from ircreds.scenarios.background import call_args
from ircreds.scenarios.cast import RECON_REGIONS, Cast
from ircreds.scenarios.records import Cred, expiration_text
from ircreds.scenarios.world import World

ROOT_KINDS = ("iam_user", "saml", "oidc", "ec2", "console")
_RECON = (
    ("DescribeInstances", 3),
    ("DescribeSecurityGroups", 1),
    ("DescribeSnapshots", 1),
    ("DescribeDBInstances", 1),
    ("ListSecrets", 1),
    ("DescribeTrails", 1),
    ("ListDetectors", 1),
    ("ListFunctions20150331", 1),
    ("DescribeVolumes", 1),
    ("DescribeKeyPairs", 1),
)
_DENIED = {"DescribeDBInstances", "ListSecrets", "DescribeTrails", "ListDetectors", "GetSecretValue"}
_REPORTS = (
    "payroll/2024-12-payroll.csv",
    "payroll/2025-01-payroll.csv",
    "board/2024-Q4-results.pdf",
    "customers/top-accounts-2024.xlsx",
    "tax/2024-vat-return.pdf",
    "m-and-a/project-heron-term-sheet.docx",
    "bank/statements-2024-12.pdf",
    "forecasts/fy25-plan.xlsx",
)


class Incident:
    """Generates the incident's records and keeps the truth about them."""

    def __init__(
        self, world: World, c: Cast, rng: random.Random, *, root: str = "iam_user", twists: Sequence[str] = ()
    ) -> None:
        self.w, self.c, self.rng = world, c, rng
        self.root = root
        self.twists = tuple(twists)
        self.records: list[dict[str, Any]] = []
        self.leaked: Cred | None = None
        self.chained: list[Cred] = []
        self.minted: list[Cred] = []
        self.minted_sessions: list[Cred] = []
        self.reassumed: list[Cred] = []
        self.stolen: list[Cred] = []  # other legitimate credentials the attacker also used
        self.stolen_made: list[Cred] = []  # credentials the attacker made with those
        self.persistence: list[str] = []
        self.first_malicious: str | None = None
        self.malicious_ids: list[str] = []
        self.recon_regions: set[str] = set()
        self.objects_read: list[str] = []
        self.root_creds: list[Cred] = []
        self.other_records: list[dict[str, Any]] = []
        self.backdoor_arn: str | None = None
        self.cutoff_event_id: str | None = None
        self.instance = ""  # the EC2 instance of the ec2 root, set by roots.issue
        self.issued_at = c.issue_time
        self.leak_at = c.leak_time
        self.cutoff_at = c.cutoff
        if root == "console":  # a console switch-role session lives one hour: the story is faster
            self.leak_at = self.issued_at + timedelta(minutes=9, seconds=31)
            self.cutoff_at = (self.issued_at + timedelta(minutes=52)).replace(second=0)

    # helpers ---------------------------------------------------------------------------
    def _add(self, recs: list[dict[str, Any]], *, malicious: bool = False) -> list[dict[str, Any]]:
        for r in recs:
            if r["recipientAccountId"] != self.c.account:
                self.other_records.append(r)
            else:
                self.records.append(r)
            if malicious:
                self.malicious_ids.append(r["eventID"])
        return recs

    def call(
        self,
        cred: Cred,
        t: datetime,
        name: str,
        *,
        ip: str,
        agent: str,
        malicious: bool = True,
        region: str = "us-east-1",
        error: Any = None,
        bucket: str | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        """One API call signed by ``cred`` (an attacker's unless ``malicious=False``), added to the trail."""
        args = call_args(self.w, self.c, name, t, region, bucket=bucket)
        args.update(kw)
        rec = self.w.call(cred, t, name, region=region, ip=ip, ua=agent, error=error, **args)
        self._add([rec], malicious=malicious)
        if malicious and self.first_malicious is None:
            self.first_malicious = rec["eventID"]
        return rec

    def at(self, fraction: float, seconds: int = 0) -> datetime:
        """A time between the leak (0.0) and the cut-off (1.0)."""
        span = (self.cutoff_at - self.leak_at).total_seconds()
        return self.leak_at + timedelta(seconds=int(span * fraction) + seconds)

    # the story -------------------------------------------------------------------------
    def run(self) -> None:
        """Write the whole incident (the twists hook in at their points)."""
        from ircreds.scenarios import twists

        k1 = self.issue_root()
        self.leaked = k1
        self.legit_use(k1, self.issued_at, self.cutoff_at)
        self.attack(k1)
        twists.before_cutoff(self)
        self.cut_off()
        self.after_cutoff(k1)
        twists.after_cutoff(self)

    def issue_root(self) -> Cred:
        """The leaked session's issuance, by the root kind the story uses."""
        recs, cred = roots.issue(self, self.issued_at)
        self._add(recs)
        self.root_creds.append(cred)
        self.issuing_record = next(x for x in recs if x["eventName"].startswith("AssumeRole"))
        return cred

    def legit_use(self, cred: Cred, start: datetime, end: datetime) -> None:
        """The owner's ordinary calls with ``cred`` (before the cut-off)."""
        ip, agent = roots.legit_place(self)
        menu = (
            "DescribeInstances",
            "ListBuckets",
            "GetObject",
            "ListObjects",
            "DescribeTable",
            "GetRole",
            "DescribeSecurityGroups",
            "Decrypt",
            "GetCallerIdentity",
        )
        gap = 90 if self.root == "ec2" else 260
        pause = timedelta(seconds=self.rng.randint(20, 60))
        # a console re-sign-in switches role 30 s after ``start``: the first call follows the issue
        t = start + pause
        if cred.issued_at is not None and t < cred.issued_at:
            t = cred.issued_at + pause
        stop = min(end, cred.expires_at or end) - timedelta(seconds=30)
        while t < stop:
            name = self.rng.choice(menu)
            self.call(
                cred,
                t,
                name,
                ip=ip,
                agent=agent(name),
                malicious=False,
                region=self.rng.choice(("us-east-1", "us-east-1", "eu-west-1")),
            )
            t += timedelta(seconds=self.rng.randint(gap // 3, gap * 2))

    def attack(self, k1: Cred) -> None:
        """Probe, recon with AccessDenied bursts, read the sensitive bucket, chain, mint a user."""
        c, rng = self.c, self.rng
        a1, _a2, _a3 = c.attacker_ips
        u1, u2 = c.attacker_uas
        t = self.leak_at
        self.call(k1, t, "GetCallerIdentity", ip=a1, agent=u1)
        t += timedelta(seconds=rng.randint(40, 90))
        regions = rng.sample(RECON_REGIONS, 10)
        for region in regions:
            self.recon_regions.add(region)
            for name, _ in rng.sample(_RECON, 6):
                self.call(
                    k1, t, name, ip=a1, agent=u2, region=region, error="denied" if name in _DENIED else None
                )
                t += timedelta(seconds=rng.randint(1, 3))
            if t > self.at(0.25):
                break
        for name in ("ListUsers", "ListRoles", "GetAccountAuthorizationDetails", "ListBuckets"):
            self.call(k1, t, name, ip=a1, agent=u2)
            t += timedelta(seconds=rng.randint(2, 9))
        t = max(t, self.at(0.27))
        bucket = c.sensitive_bucket
        self.call(k1, t, "GetBucketLocation", ip=a1, agent=u1, bucket=bucket)
        self.call(k1, t + timedelta(seconds=2), "ListObjects", ip=a1, agent=u1, bucket=bucket)
        t += timedelta(seconds=5)
        for key in _REPORTS:
            self.get_object(k1, t, bucket, key, ip=a1, agent=u1)
            t += timedelta(seconds=rng.randint(1, 6))
        self.chain(k1, self.at(0.36))
        self.mint(k1, self.at(0.62))

    def get_object(self, cred: Cred, t: datetime, bucket: str, key: str, *, ip: str, agent: str) -> None:
        """A data-event ``GetObject`` of ``bucket/key`` by ``cred`` (the exfiltration)."""
        size = self.rng.randint(40_000, 9_000_000)
        arn = f"arn:aws:s3:::{bucket}/{key}"
        rec = self.call(
            cred,
            t,
            "GetObject",
            ip=ip,
            agent=agent,
            bucket=bucket,
            params={"bucketName": bucket, "Host": f"{bucket}.s3.us-east-1.amazonaws.com", "key": key},
            resource_arn=arn,
            resources=[
                {"type": "AWS::S3::Object", "ARN": arn},
                {"accountId": self.c.account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
            ],
            additional={
                "SignatureVersion": "SigV4",
                "CipherSuite": "TLS_AES_128_GCM_SHA256",
                "bytesTransferredIn": 0,
                "AuthenticationMethod": "AuthHeader",
                "x-amz-id-2": self.w.ids.hex(24),
                "bytesTransferredOut": size,
            },
        )
        if "errorCode" not in rec and arn not in self.objects_read:
            self.objects_read.append(arn)

    def chain(self, k1: Cred, t: datetime) -> None:
        """Role chaining into the pipeline role; the child key is used from a second IP until it expires."""
        c, rng = self.c, self.rng
        recs, k2 = issuing.assume_role(
            self.w,
            k1,
            t,
            self.w.roles[c.pipeline_role],
            "sync",
            duration=3600,
            ip=c.attacker_ips[0],
            ua=c.attacker_uas[0],
        )
        self._add(recs, malicious=True)
        assert k2 is not None
        self.chained.append(k2)
        assert k2.expires_at is not None
        u = t + timedelta(minutes=3, seconds=rng.randint(0, 59))
        n = 0
        while u < k2.expires_at - timedelta(seconds=30):
            name = rng.choice(("ListObjects", "GetObject", "GetObject", "GetTables", "GetDatabases"))
            if name == "GetObject":
                self.get_object(
                    k2,
                    u,
                    c.data_bucket,
                    f"curated/customers/part-{n:05d}.parquet",
                    ip=c.attacker_ips[1],
                    agent=c.attacker_uas[1],
                )
                n += 1
            else:
                self.call(k2, u, name, ip=c.attacker_ips[1], agent=c.attacker_uas[1], bucket=c.data_bucket)
            u += timedelta(seconds=rng.randint(30, 200))

    def mint(self, k1: Cred, t: datetime) -> None:
        """Create the back-door IAM user and its access key; use the key from a third IP."""
        c, w = self.c, self.w
        a1, u1 = c.attacker_ips[0], c.attacker_uas[0]
        user = w.add_user(c.backdoor_user, keys=0, created_by_attacker=True)
        self.backdoor_arn = user.arn
        rec = self.call(
            k1,
            t,
            "CreateUser",
            ip=a1,
            agent=u1,
            params={"userName": user.name, "path": "/"},
            response={
                "user": {
                    "path": "/",
                    "userName": user.name,
                    "userId": user.user_id,
                    "arn": user.arn,
                    "createDate": expiration_text(t),
                }
            },
        )
        self.persistence.append(rec["eventID"])
        recs, k3 = user_creds.create_access_key(w, k1, t + timedelta(seconds=11), user, ip=a1, ua=u1)
        self._add(recs, malicious=True)
        self.persistence.append(recs[0]["eventID"])
        assert k3 is not None
        self.minted.append(k3)
        rec = self.call(
            k1,
            t + timedelta(seconds=25),
            "AttachUserPolicy",
            ip=a1,
            agent=u1,
            params={"userName": user.name, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        )
        self.persistence.append(rec["eventID"])
        self.k3_use(
            k3, t + timedelta(minutes=4, seconds=self.rng.randint(0, 59)), self.c.end - timedelta(hours=3)
        )

    def k3_use(self, k3: Cred, start: datetime, end: datetime) -> None:
        """The back-door key in use: probes, bucket reads, describes, sparse for the rest of the logs."""
        c, rng = self.c, self.rng
        a3, agent = c.attacker_ips[2], c.k3_ua
        self.call(k3, start, "GetCallerIdentity", ip=a3, agent=agent)
        t = start + timedelta(seconds=30)
        for i, name in enumerate(("ListBuckets", "ListUsers", "DescribeInstances", "GetObject", "GetObject")):
            if name == "GetObject":
                self.get_object(k3, t, c.sensitive_bucket, _REPORTS[-1 - i], ip=a3, agent=agent)
            else:
                self.call(k3, t, name, ip=a3, agent=agent)
            t += timedelta(seconds=rng.randint(5, 40))
        while t < end:
            t += timedelta(minutes=rng.randint(25, 110))
            self.call(
                k3,
                t,
                rng.choice(("ListBuckets", "DescribeInstances", "GetCallerIdentity", "ListUsers")),
                ip=a3,
                agent=agent,
                region=rng.choice(("us-east-1", "eu-west-1")),
            )

    def cut_off(self) -> None:
        """The responder signs in and writes ``AWSRevokeOlderSessions`` on the leaked session's role."""
        w, c = self.w, self.c
        responder = w.users["ir-responder"]
        login, cons = user_creds.console_login(
            w, responder, self.cutoff_at - timedelta(minutes=7, seconds=41), ip="198.51.100.77", ua=ua.BROWSER
        )
        self._add(login)
        assert cons is not None
        self._add(
            [
                w.call(
                    cons,
                    self.cutoff_at - timedelta(minutes=3),
                    "GetRole",
                    region="us-east-1",
                    ip="198.51.100.77",
                    ua="AWS Internal",
                    params={"roleName": c.dev_role},
                )
            ]
        )
        rec = w.put_cutoff(
            cons, self.cutoff_at, w.roles[c.dev_role], self.cutoff_at, ip="198.51.100.77", ua="AWS Internal"
        )
        self.cutoff_event_id = rec["eventID"]
        self._add([rec])

    def after_cutoff(self, k1: Cred) -> None:
        """K1 keeps trying (denied, except GetCallerIdentity); its owner is cut and re-authenticates."""
        c, rng = self.c, self.rng
        a1, (u1, u2) = c.attacker_ips[0], c.attacker_uas
        t = self.cutoff_at + timedelta(minutes=2, seconds=rng.randint(0, 59))
        self.call(k1, t, "GetCallerIdentity", ip=a1, agent=u1)
        for name in ("ListBuckets", "DescribeInstances", "ListUsers"):
            t += timedelta(seconds=rng.randint(5, 30))
            self.call(k1, t, name, ip=a1, agent=u2)
        t += timedelta(seconds=20)
        self.get_object(k1, t, c.sensitive_bucket, _REPORTS[0], ip=a1, agent=u1)
        t += timedelta(seconds=rng.randint(20, 60))
        recs, none = issuing.assume_role(
            self.w, k1, t, self.w.roles[c.pipeline_role], "sync2", duration=3600, ip=a1, ua=u1
        )
        self._add(recs, malicious=True)
        assert none is None
        t += timedelta(seconds=rng.randint(20, 60))
        self.call(k1, t, "CreateAccessKey", ip=a1, agent=u1, params={"userName": c.backdoor_user})
        t += timedelta(minutes=rng.randint(20, 40))
        if k1.expires_at is None or t < k1.expires_at:
            self.call(k1, t, "GetCallerIdentity", ip=a1, agent=u1)
        self.owner_after_cutoff(k1)

    def owner_after_cutoff(self, k1: Cred) -> None:
        """The legitimate owner of the leaked session hits the deny, then gets a fresh session."""
        c, rng = self.c, self.rng
        ip, agent = roots.legit_place(self)
        t = self.cutoff_at + timedelta(minutes=rng.randint(8, 15), seconds=rng.randint(0, 59))
        if k1.expires_at is not None and t >= k1.expires_at:
            return
        self.call(k1, t, "DescribeInstances", ip=ip, agent=agent("DescribeInstances"), malicious=False)
        t += timedelta(minutes=rng.randint(2, 6), seconds=rng.randint(0, 59))
        recs, fresh = roots.issue(self, t, again=True)
        self._add(recs)
        assert fresh is not None
        self.root_creds.append(fresh)
        end = min(fresh.expires_at or c.end, self.c.incident_day + timedelta(hours=17, minutes=30))
        self.legit_use(fresh, t, end)
