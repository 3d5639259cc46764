"""The account's everyday actors (CI, SSO users, EC2, Lambda, pipelines, console users...)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from ircreds.scenarios import cast as ua
from ircreds.scenarios import issuing, user_creds
from ircreds.scenarios.background import Actor, console_agent, daily
from ircreds.scenarios.cast import Cast
from ircreds.scenarios.world import World

_S3_READ = [("GetObject", 6), ("ListObjects", 2), ("HeadObject", 2), ("GetBucketLocation", 1)]
_ENGINEER = [
    ("DescribeInstances", 5),
    ("DescribeSecurityGroups", 2),
    ("ListBuckets", 2),
    ("GetObject", 3),
    ("ListObjects", 2),
    ("DescribeTable", 1),
    ("ListFunctions20150331", 2),
    ("DescribeLogGroups", 2),
    ("GetRole", 1),
    ("ListRoles", 1),
    ("DescribeVpcs", 1),
    ("GetCallerIdentity", 1),
    ("Decrypt", 1),
]


def _every(c: Cast) -> list[tuple[datetime, datetime]]:
    return [(c.start, c.end)]


def _ci_runs(c: Cast, rng: random.Random, per_day: int) -> list[tuple[datetime, datetime]]:
    runs = []
    for d in range(c.days):
        day = c.start + timedelta(days=d)
        n = per_day if day.weekday() < 5 else max(1, per_day // 4)
        for _ in range(n):
            s = day + timedelta(hours=rng.uniform(6, 20))
            s = s.replace(microsecond=0)
            runs.append((s, s + timedelta(minutes=rng.randint(3, 12))))
    return sorted(runs)


def build_actors(
    world: World, c: Cast, scale: float = 1.0, *, dev_skip: tuple[datetime, ...] = ()
) -> list[Actor]:
    """Every background actor of the account, with call rates multiplied by ``scale``."""
    rng = world.rng
    acct = c.account
    r = world.roles
    u = world.users

    def via_user(user: str, role: str, session: Any, duration: int, agent: str) -> Any:
        def issue(t: datetime, ip: str) -> Any:
            name = session(t) if callable(session) else session
            return issuing.assume_role(
                world, world.user_cred(u[user]), t, r[role], name, duration=duration, ip=ip, ua=agent
            )

        return issue

    def saml(subject: str, role: str, duration: int) -> Any:
        return lambda t, ip: issuing.assume_role_with_saml(
            world, t, r[role], subject, provider="Okta", duration=duration, ip=ip, ua=ua.BROWSER
        )

    def gha(t: datetime, ip: str) -> Any:
        repo = rng.choice(("web-frontend", "orders-api", "infra"))
        return issuing.assume_role_with_web_identity(
            world,
            t,
            r["GitHubActionsDeployRole"],
            provider_host="token.actions.githubusercontent.com",
            subject=f"repo:{c.company}/{repo}:ref:refs/heads/main",
            session_name="GitHubActions",
            duration=3600,
            ip=ip,
            ua=ua.GHA_OIDC,
        )

    instance = world.ids.instance_id()

    def ec2(t: datetime, ip: str) -> Any:
        return issuing.assume_role(
            world,
            "ec2.amazonaws.com",
            t,
            r["web-app-instance-role"],
            instance,
            duration=21600,
            ec2_instance=instance,
        )

    fn_arn = f"arn:aws:lambda:us-east-1:{acct}:function:orders-processor"

    def lam(t: datetime, ip: str) -> Any:
        return issuing.assume_role(
            world,
            "lambda.amazonaws.com",
            t,
            r["orders-processor-role"],
            "orders-processor",
            duration=43200,
            lambda_arn=fn_arn,
        )

    def config(t: datetime, ip: str) -> Any:
        return issuing.assume_role(
            world,
            "config.amazonaws.com",
            t,
            r["AWSServiceRoleForConfig"],
            "AWSConfig-Describe",
            duration=3600,
        )

    def gst(t: datetime, ip: str) -> Any:
        user = u["ops-admin"]
        return user_creds.get_session_token(
            world,
            world.user_cred(user),
            user,
            t,
            duration=43200,
            ip=ip,
            ua=ua.CLI_MAC,
            mfa_serial=f"arn:aws:iam::{acct}:mfa/ops-admin",
        )

    def console(t: datetime, ip: str) -> Any:
        return user_creds.console_login(world, u["alice.admin"], t, ip=ip, ua=ua.BROWSER)

    def switch(t: datetime, ip: str) -> Any:
        recs, cons = user_creds.console_login(world, u["bob.audit"], t, ip=ip, ua=ua.BROWSER)
        assert cons is not None
        more, cred = user_creds.switch_role(
            world, cons, u["bob.audit"], t + timedelta(seconds=40), r["AuditReadOnly"], ip=ip, ua=ua.BROWSER
        )
        return [*recs, *more], cred

    s = scale
    ec2_ip = f"192.0.2.{rng.randrange(10, 60)}"
    actors = [
        Actor(
            name="lambda",
            issue=lam,
            windows=_every(c),
            rate=120 * s,
            renew_before=timedelta(hours=1),
            menu=[
                ("PutItem", 5),
                ("Query", 3),
                ("SendMessage", 3),
                ("GenerateDataKey", 1),
                ("CreateLogStream", 1),
            ],
            ips=(f"192.0.2.{rng.randrange(60, 90)}",),
            agents=lambda n: ua.BOTO_LAMBDA,
            error_rate=0.01,
        ),
        Actor(
            name="ec2",
            issue=ec2,
            windows=_every(c),
            rate=80 * s,
            renew_before=timedelta(minutes=75),
            menu=[
                ("GetObject", 6),
                ("GetItem", 4),
                ("PutItem", 2),
                ("Decrypt", 2),
                ("PutMetricData", 3),
                ("CreateLogStream", 1),
            ],
            ips=(ec2_ip,),
            vpc_endpoint=(
                f"10.20.{rng.randrange(1, 4)}.{rng.randrange(10, 250)}",
                "vpce-0" + world.ids.hex(16),
            ),
            agents=lambda n: ua.BOTO_EC2,
            error_rate=0.015,
        ),
        Actor(
            name="etl",
            issue=via_user(
                "svc-etl", c.pipeline_role, lambda t: f"etl-{int(t.timestamp())}", 3600, ua.BOTO_ETL
            ),
            windows=_every(c),
            rate=40 * s,
            menu=[*_S3_READ, ("PutObject", 4), ("GetTables", 2), ("Query", 1)],
            ips=(f"192.0.2.{rng.randrange(90, 120)}",),
            agents=lambda n: ua.BOTO_ETL,
            error_rate=0.02,
        ),
        Actor(
            name="reporter",
            issue=via_user(
                "svc-reporter", c.dev_role, lambda t: f"reporter-{int(t.timestamp())}", 3600, ua.REPORTER
            ),
            windows=_every(c),
            rate=30 * s,
            menu=[("GetObject", 4), ("PutObject", 2), ("Query", 2), ("ListObjects", 1)],
            ips=(f"192.0.2.{rng.randrange(120, 150)}",),
            agents=lambda n: ua.REPORTER,
            error_rate=0.02,
        ),
        Actor(
            name="config",
            issue=config,
            windows=_every(c),
            rate=20 * s,
            invoked_by="config.amazonaws.com",
            menu=[
                ("DescribeInstances", 3),
                ("DescribeSecurityGroups", 3),
                ("DescribeVpcs", 2),
                ("GetBucketAcl", 2),
                ("GetBucketPolicy", 1),
                ("GetRole", 1),
            ],
            regions=c.regions,
            error_rate=0.01,
        ),
        Actor(
            name="ci",
            issue=gha,
            windows=_ci_runs(c, rng, 12),
            rate=360 * s,
            menu=[
                ("PutObject", 6),
                ("GetObject", 2),
                ("ListObjects", 2),
                ("DescribeInstances", 1),
                ("GetCallerIdentity", 1),
                ("ListFunctions20150331", 1),
            ],
            ips=tuple(f"192.0.2.{o}" for o in range(150, 200)),
            agents=lambda n: ua.GHA_CLI,
            error_rate=0.02,
        ),
        Actor(
            name="ana",
            issue=via_user("ana.ops", c.dev_role, "ana.ops", 14400, ua.CLI_MAC),
            windows=daily(c, rng, 8.3, 18, jitter_min=20),
            rate=20 * s,
            menu=_ENGINEER,
            regions=c.regions,
            region_weights=(6, 2, 1),
            ips=(c.office_ips[1],),
            agents=lambda n: ua.CLI_MAC,
            renew_before=timedelta(minutes=2),
        ),
        Actor(
            name="gst",
            issue=gst,
            windows=daily(c, rng, 9, 17),
            rate=8 * s,
            ips=(c.office_ips[2],),
            menu=[
                ("ListUsers", 2),
                ("GetUser", 2),
                ("ListAccessKeys", 2),
                ("ListRoles", 1),
                ("DescribeInstances", 2),
                ("DescribeKey", 1),
            ],
            agents=lambda n: ua.CLI_MAC,
        ),
        Actor(
            name="console",
            issue=console,
            windows=daily(c, rng, 9.5, 12.5, weekdays=False),
            rate=25 * s,
            menu=[
                ("ListBuckets", 3),
                ("DescribeInstances", 3),
                ("GetBucketLocation", 2),
                ("ListRoles", 2),
                ("DescribeSecurityGroups", 1),
                ("GetRole", 1),
            ],
            ips=(c.office_ips[3],),
            agents=console_agent,
        ),
        Actor(
            name="switch",
            issue=switch,
            windows=daily(c, rng, 14, 14.8),
            rate=15 * s,
            menu=[("DescribeInstances", 2), ("ListBuckets", 2), ("GetBucketAcl", 1), ("ListRoles", 1)],
            ips=(c.office_ips[3],),
            agents=console_agent,
            renew_before=timedelta(0),
        ),
        Actor(
            name="dev",
            issue=via_user(c.dev_user, c.dev_role, c.dev_session, 43200, ua.CLI_DEV),
            windows=daily(c, rng, 9, 17, skip=dev_skip),
            rate=12 * s,
            menu=_ENGINEER,
            regions=c.regions,
            region_weights=(5, 2, 1),
            ips=(c.office_ip,),
            agents=lambda n: ua.CLI_DEV,
        ),
    ]
    for i, subject in enumerate(("priya@{0}.com", "marco@{0}.com", "yuki@{0}.com", "tom@{0}.com")):
        actors.append(
            Actor(
                name=f"saml{i}",
                issue=saml(subject.format(c.company), "EngineerAccess", 28800),
                windows=daily(c, rng, 8 + i * 0.5, 17.5),
                rate=15 * s,
                menu=_ENGINEER,
                regions=c.regions,
                region_weights=(6, 2, 2),
                ips=(f"198.51.100.{100 + i}",),
                agents=lambda n: ua.CLI_MAC,
                renew_before=timedelta(minutes=1),
            )
        )
    return actors
