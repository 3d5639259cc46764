"""Twists: seeded variations of the incident, each documented in the answer key.

Root twists change how the leaked session was issued (at most one per scenario); branch
twists add credentials the attacker mints or reaches.

Example:
    >>> sorted(TWISTS)[:3]
    ['console_root', 'cross_account', 'ec2_exfil']
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ircreds.scenarios import issuing, user_creds
from ircreds.scenarios.world import trust

if TYPE_CHECKING:
    from ircreds.scenarios.incident import Incident

TWISTS: dict[str, str] = {
    "cross_account": (
        "The attacker chains from the leaked session into a role in a second account. The AssumeRole is "
        "logged twice: the caller's copy (full AssumedRole identity) in the victim account and the role "
        "owner's copy (userIdentity type AWSAccount) in the other account, both with the same sharedEventID. "
        "The new session's calls land in the other account's trail."
    ),
    "saml_root": (
        "The leaked session was issued by AssumeRoleWithSAML (an Okta SAML sign-in), not by an IAM user: the "
        "issuer is a SAMLUser identified by nameQualifier:subject, and its re-entry must be stopped at the IdP."
    ),
    "oidc_root": (
        "The leaked session was issued by AssumeRoleWithWebIdentity to a GitHub Actions workflow (OIDC) and "
        "leaked from a CI log; the issuer is the OIDC provider's WebIdentityUser."
    ),
    "ec2_exfil": (
        "The leaked key is an EC2 instance-profile session (principal AROA…:i-…, ec2RoleDelivery 1.0) stolen "
        "through IMDSv1 and used from outside AWS. The cut-off also cuts the instance's own credentials; the "
        "instance receives fresh ones."
    ),
    "console_root": (
        "The leaked credentials are a console Switch Role session: the AssumeRole (AWS Internal) response "
        "shows one ASIA key but the session's calls sign with another, which no record issues; link them by "
        "principalId + creationDate. The attacker replays the console session from outside."
    ),
    "federation_token": (
        "With the back-door user's access key the attacker calls GetFederationToken (36 h); the FederatedUser "
        "session belongs to the IAM user, so no role cut-off reaches it: deny on the user, or delete the user."
    ),
    "session_token": (
        "With the back-door user's access key the attacker calls GetSessionToken (36 h); calls keep "
        "userIdentity type IAMUser with an ASIA key. A role cut-off cannot reach it."
    ),
    "reassume": (
        "After the cut-off the attacker uses the back-door user's key to assume the role again: the new "
        "session was issued after the cut-off time, so the deny does not touch it. The cut-off alone was too "
        "early; the back door must go and a new cut-off must follow."
    ),
    "more_stolen_credentials": (
        "The same attacker holds other stolen credentials: an EC2 instance-profile session of the web tier's "
        "instance role (taken from the instance, used from the attacker's first IP some minutes before the "
        "alerted key's first misuse, while the instance keeps using it through a VPC endpoint), and after the "
        "back door, a service user's long-term access key, which assumes the pipeline role from the back-door "
        "key's IP. The roles' legitimate sessions and the key's owner stay active meanwhile. Only a scope from "
        "the alerted key over the attacker's infrastructure finds them."
    ),
}

ROOT_TWISTS = {"saml_root": "saml", "oidc_root": "oidc", "ec2_exfil": "ec2", "console_root": "console"}


def before_cutoff(inc: Incident) -> None:
    """Branch twists that happen while the leaked session is still valid."""
    if "cross_account" in inc.twists:
        cross_account(inc)
    if "federation_token" in inc.twists or "session_token" in inc.twists:
        user_tokens(inc)


def after_cutoff(inc: Incident) -> None:
    """Branch twists that happen after the responder's cut-off."""
    if "reassume" in inc.twists:
        reassume(inc)
    if "more_stolen_credentials" in inc.twists:
        more_stolen_credentials(inc)


def cross_account(inc: Incident) -> None:
    """Chain into ``CrossAccountAuditRole`` in the other account and use it there."""
    c, w, rng = inc.c, inc.w, inc.rng
    role = w.add_role(
        "CrossAccountAuditRole",
        trust({"AWS": f"arn:aws:iam::{c.account}:root"}),
        account=c.other_account,
        max_session_duration=3600,
        description="Read-only audit access from the main account",
    )
    t = inc.at(0.45)
    recs, k4 = issuing.assume_role(
        w, inc.leaked, t, role, "audit", duration=3600, ip=c.attacker_ips[0], ua=c.attacker_uas[0]
    )
    inc._add(recs, malicious=True)
    assert k4 is not None
    assert k4.expires_at is not None
    inc.chained.append(k4)
    u = t + timedelta(seconds=rng.randint(30, 90))
    for name in (
        "GetCallerIdentity",
        "ListBuckets",
        "DescribeInstances",
        "ListRoles",
        "DescribeSnapshots",
        "ListUsers",
    ):
        inc._add(
            [w.call(k4, u, name, region="us-east-1", ip=c.attacker_ips[0], ua=c.attacker_uas[1])],
            malicious=True,
        )
        u += timedelta(seconds=rng.randint(10, 120))


def user_tokens(inc: Incident) -> None:
    """GetFederationToken / GetSessionToken with the back-door key; used before and after the cut-off."""
    c, w, rng = inc.c, inc.w, inc.rng
    k3 = inc.minted[0]
    user = w.users[c.backdoor_user]
    t = inc.at(0.8)
    a3 = c.attacker_ips[2]
    made = []
    if "federation_token" in inc.twists:
        recs, fed = user_creds.get_federation_token(
            w, k3, user, t, name="admin", duration=129600, ip=a3, ua=c.k3_ua
        )
        inc._add(recs, malicious=True)
        made.append(fed)
        t += timedelta(minutes=2)
    if "session_token" in inc.twists:
        recs, sess = user_creds.get_session_token(w, k3, user, t, duration=129600, ip=a3, ua=c.k3_ua)
        inc._add(recs, malicious=True)
        made.append(sess)
    for cred in made:
        assert cred is not None
        inc.minted_sessions.append(cred)
        u = t + timedelta(seconds=rng.randint(30, 90))
        end = min(cred.expires_at or c.end, c.end) - timedelta(hours=2)
        while u < end:
            name = rng.choice(("ListBuckets", "DescribeInstances", "GetCallerIdentity"))
            inc._add([w.call(cred, u, name, region="us-east-1", ip=a3, ua=c.k3_ua)], malicious=True)
            u += timedelta(minutes=rng.randint(20, 140))


def reassume(inc: Incident) -> None:
    """The back-door key assumes the leaked role again after the cut-off; the new session survives."""
    c, w, rng = inc.c, inc.w, inc.rng
    k3 = inc.minted[0]
    t = inc.cutoff_at + timedelta(minutes=rng.randint(18, 30), seconds=rng.randint(1, 59))
    recs, k7 = issuing.assume_role(
        w, k3, t, w.roles[c.dev_role], c.dev_session, duration=43200, ip=c.attacker_ips[2], ua=c.k3_ua
    )
    inc._add(recs, malicious=True)
    assert k7 is not None
    inc.reassumed.append(k7)
    u = t + timedelta(seconds=rng.randint(20, 60))
    for name in (
        "GetCallerIdentity",
        "ListBuckets",
        "ListObjects",
        "GetObject",
        "DescribeInstances",
        "ListUsers",
    ):
        if name == "GetObject":
            inc.get_object(
                k7, u, c.sensitive_bucket, "payroll/2025-01-payroll.csv", ip=c.attacker_ips[2], agent=c.k3_ua
            )
        else:
            inc.call(k7, u, name, ip=c.attacker_ips[2], agent=c.k3_ua, bucket=c.sensitive_bucket)
        u += timedelta(minutes=rng.randint(3, 40))


def more_stolen_credentials(inc: Incident) -> None:
    """An instance-profile session used from the attacker's IP before the leak; a service user's key after."""
    from ircreds.scenarios import cast as ua

    c, w, rng = inc.c, inc.w, inc.rng
    a1, a3 = c.attacker_ips[0], c.attacker_ips[2]
    u1, u2 = c.attacker_uas
    # 1. the instance's session: issued hours before, used by the instance all along through a VPC endpoint
    role = w.roles["web-app-instance-role"]
    instance = w.ids.instance_id()
    issued = inc.leak_at - timedelta(hours=2, minutes=rng.randint(0, 50), seconds=rng.randint(0, 59))
    recs, cred = issuing.assume_role(
        w, "ec2.amazonaws.com", issued, role, instance, duration=21600, ec2_instance=instance
    )
    inc._add(recs)
    assert cred is not None
    assert cred.expires_at is not None
    private = f"10.20.{rng.randrange(4, 8)}.{rng.randrange(10, 250)}"
    vpce = "vpce-0" + w.ids.hex(16)
    t = issued + timedelta(seconds=rng.randint(20, 50))
    stop = min(cred.expires_at, c.end) - timedelta(minutes=1)
    while t < stop:
        name = rng.choice(("GetObject", "GetObject", "ListObjects", "GetItem", "PutItem"))
        inc.call(
            cred,
            t,
            name,
            ip=private,
            agent=ua.BOTO_EC2,
            malicious=False,
            bucket=c.assets_bucket,
            extra={"vpcEndpointId": vpce},
        )
        t += timedelta(seconds=rng.randint(90, 600))
    t = inc.leak_at - timedelta(minutes=rng.randint(12, 25), seconds=rng.randint(0, 59))
    for name, agent in (
        ("GetCallerIdentity", u1),
        ("ListBuckets", u2),
        ("DescribeInstances", u2),
        ("ListObjects", u2),
        ("GetObject", u2),
    ):
        inc.call(cred, t, name, ip=a1, agent=agent, bucket=c.assets_bucket)
        t += timedelta(seconds=rng.randint(8, 70))
    inc.stolen.append(cred)
    # 2. a service user's long-term key (its owner keeps using it), used from the back-door key's IP
    user = w.users["svc-etl"]
    key = w.user_cred(user)
    t = inc.at(0.7 + rng.random() * 0.15)
    inc.call(key, t, "GetCallerIdentity", ip=a3, agent=c.k3_ua)
    t += timedelta(seconds=rng.randint(20, 60))
    inc.call(key, t, "ListRoles", ip=a3, agent=c.k3_ua)
    t += timedelta(seconds=rng.randint(20, 60))
    recs, child = issuing.assume_role(
        w, key, t, w.roles[c.pipeline_role], f"etl-{int(t.timestamp())}", duration=3600, ip=a3, ua=c.k3_ua
    )
    inc._add(recs, malicious=True)
    assert child is not None
    inc.stolen.append(key)
    inc.stolen_made.append(child)
    u = t + timedelta(seconds=rng.randint(30, 90))
    for name in ("GetCallerIdentity", "ListObjects", "GetObject", "GetObject", "GetTables"):
        if name == "GetObject":
            inc.get_object(
                child,
                u,
                c.data_bucket,
                f"curated/finance/part-{rng.randrange(10**5):05d}.parquet",
                ip=a3,
                agent=c.k3_ua,
            )
        else:
            inc.call(child, u, name, ip=a3, agent=c.k3_ua, bucket=c.data_bucket)
        u += timedelta(seconds=rng.randint(20, 200))
