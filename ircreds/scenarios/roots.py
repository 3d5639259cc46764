"""How the leaked session (and its owner's fresh one after the cut-off) is issued, per root kind.

``iam_user`` (the walkthrough: an IAM user's AssumeRole), ``saml``, ``oidc``, ``ec2`` (an
instance-profile session delivered by IMDSv1) and ``console`` (a Switch Role session).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ircreds.scenarios import cast as ua
from ircreds.scenarios import issuing, user_creds
from ircreds.scenarios.background import console_agent
from ircreds.scenarios.records import Cred
from ircreds.scenarios.world import trust

if TYPE_CHECKING:
    from ircreds.scenarios.incident import Incident

GITHUB = "token.actions.githubusercontent.com"
CI_IP = "192.0.2.161"
INSTANCE_IP = "192.0.2.31"


def issue(inc: Incident, t: datetime, *, again: bool = False) -> tuple[list[dict[str, Any]], Cred]:
    """Issue the root session at ``t`` (``again``: the owner's fresh session after the cut-off)."""
    w, c = inc.w, inc.c
    role = w.roles[c.dev_role]
    dev = w.users[c.dev_user]
    acct = c.account
    if inc.root == "saml":
        if not again:
            role.trust_policy = trust(
                {"Federated": f"arn:aws:iam::{acct}:saml-provider/Okta"}, "sts:AssumeRoleWithSAML"
            )
        recs, cred = issuing.assume_role_with_saml(
            w,
            t,
            role,
            f"{c.dev_user}@{c.company}.com",
            provider="Okta",
            duration=14400 if again else 43200,
            ip=c.office_ip,
            ua=ua.BROWSER,
        )
    elif inc.root == "oidc":
        if not again:
            role.trust_policy = trust(
                {"Federated": f"arn:aws:iam::{acct}:oidc-provider/{GITHUB}"}, "sts:AssumeRoleWithWebIdentity"
            )
        recs, cred = issuing.assume_role_with_web_identity(
            w,
            t,
            role,
            provider_host=GITHUB,
            subject=f"repo:{c.company}/release-tools:ref:refs/heads/main",
            session_name="GitHubActions",
            duration=3600 if again else 21600,
            ip=CI_IP,
            ua=ua.GHA_OIDC,
        )
    elif inc.root == "ec2":
        if not again:
            role.trust_policy = trust({"Service": "ec2.amazonaws.com"})
            inc.instance = w.ids.instance_id()
        recs, cred = issuing.assume_role(
            w, "ec2.amazonaws.com", t, role, inc.instance, duration=21600, ec2_instance=inc.instance
        )
        if cred is not None:  # the instance still serves IMDSv1, which is how the key was stolen
            ctx = {**cred.identity["sessionContext"], "ec2RoleDelivery": "1.0"}
            cred = dataclasses.replace(cred, identity={**cred.identity, "sessionContext": ctx})
    elif inc.root == "console":
        login_at, switch_at = (
            (t, t + timedelta(seconds=30)) if again else (t - timedelta(minutes=4, seconds=12), t)
        )
        login, cons = user_creds.console_login(w, dev, login_at, ip=c.office_ip, ua=ua.BROWSER)
        assert cons is not None
        recs, cred = user_creds.switch_role(w, cons, dev, switch_at, role, ip=c.office_ip, ua=ua.BROWSER)
        recs = [*login, *recs]
    else:
        recs, cred = issuing.assume_role(
            w, w.user_cred(dev), t, role, c.dev_session, duration=43200, ip=c.office_ip, ua=ua.CLI_DEV
        )
    assert cred is not None
    return recs, cred


def legit_place(inc: Incident) -> tuple[str, Callable[[str], str]]:
    """Where the session's rightful owner calls from, and with which client."""
    if inc.root == "ec2":
        return INSTANCE_IP, lambda n: ua.BOTO_EC2
    if inc.root == "oidc":
        return CI_IP, lambda n: ua.GHA_CLI
    if inc.root == "console":
        return inc.c.office_ip, console_agent
    return inc.c.office_ip, lambda n: ua.CLI_DEV
