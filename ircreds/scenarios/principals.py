"""The account's IAM principals before the incident (what ``account.json`` lists)."""

from __future__ import annotations

import random
from typing import Any

from ircreds.scenarios.cast import Cast
from ircreds.scenarios.records import Ids
from ircreds.scenarios.world import World, trust

READ_S3 = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
POWER = "arn:aws:iam::aws:policy/PowerUserAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _allow(actions: list[str], resources: Any = "*") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}],
    }


def build_world(cast: Cast, ids: Ids, rng: random.Random) -> World:
    """Create every user and role of the story in a fresh :class:`World`."""
    w = World(cast.account, ids, rng)
    acct = cast.account
    root = f"arn:aws:iam::{acct}:root"
    gh = f"arn:aws:iam::{acct}:oidc-provider/token.actions.githubusercontent.com"
    saml = f"arn:aws:iam::{acct}:saml-provider/Okta"

    def okta_trust() -> dict[str, Any]:
        return trust(
            {"Federated": saml},
            "sts:AssumeRoleWithSAML",
            {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
        )

    w.add_user(
        cast.dev_user,
        inline_policies={
            "AssumeDevRole": _allow(["sts:AssumeRole"], f"arn:aws:iam::{acct}:role/{cast.dev_role}")
        },
        managed_policy_arns=[READONLY],
    )
    w.add_user(
        "ana.ops",
        inline_policies={
            "AssumeDevRole": _allow(["sts:AssumeRole"], f"arn:aws:iam::{acct}:role/{cast.dev_role}")
        },
    )
    w.add_user(
        "svc-reporter",
        inline_policies={
            "AssumeDevRole": _allow(["sts:AssumeRole"], f"arn:aws:iam::{acct}:role/{cast.dev_role}")
        },
    )
    w.add_user(
        "svc-etl",
        inline_policies={
            "AssumePipeline": _allow(["sts:AssumeRole"], f"arn:aws:iam::{acct}:role/{cast.pipeline_role}")
        },
    )
    w.add_user(
        "ops-admin",
        managed_policy_arns=[ADMIN],
        inline_policies={
            "RequireMFA": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "NotAction": ["sts:GetSessionToken", "iam:ListMFADevices"],
                        "Resource": "*",
                        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                    }
                ],
            }
        },
    )
    w.add_user("alice.admin", keys=0, managed_policy_arns=[ADMIN])
    w.add_user(
        "bob.audit",
        keys=0,
        inline_policies={
            "SwitchToAudit": _allow(["sts:AssumeRole"], f"arn:aws:iam::{acct}:role/AuditReadOnly")
        },
    )
    w.add_user("ir-responder", managed_policy_arns=["arn:aws:iam::aws:policy/IAMFullAccess", READONLY])

    w.add_role(
        cast.dev_role,
        trust({"AWS": root}),
        max_session_duration=43200,
        description="Developer access to the shared dev resources",
        inline_policies={
            "DevAccess": _allow(
                [
                    "s3:*",
                    "ec2:Describe*",
                    "dynamodb:*",
                    "kms:Decrypt",
                    "iam:*",
                    "sts:AssumeRole",
                    "glue:Get*",
                    "lambda:List*",
                ]
            )
        },
    )
    w.add_role(
        cast.pipeline_role,
        trust({"AWS": [root, f"arn:aws:iam::{acct}:role/{cast.dev_role}"]}),
        max_session_duration=3600,
        description="Nightly and hourly ETL into the data lake",
        inline_policies={
            "Pipeline": _allow(
                [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:ListBucket",
                    "glue:Get*",
                    "dynamodb:Query",
                    "kms:Decrypt",
                ]
            )
        },
    )
    w.add_role(
        "GitHubActionsDeployRole",
        trust(
            {"Federated": gh},
            "sts:AssumeRoleWithWebIdentity",
            {
                "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                "StringLike": {
                    "token.actions.githubusercontent.com:sub": f"repo:{cast.company}/*:ref:refs/heads/main"
                },
            },
        ),
        max_session_duration=3600,
        description="CI deploys from GitHub Actions (OIDC)",
        managed_policy_arns=[POWER],
    )
    w.add_role(
        "EngineerAccess",
        okta_trust(),
        max_session_duration=28800,
        description="Engineers through Okta SAML",
        managed_policy_arns=[POWER],
    )
    w.add_role(
        "IncidentResponse",
        okta_trust(),
        max_session_duration=14400,
        description="Security team through Okta SAML",
        managed_policy_arns=["arn:aws:iam::aws:policy/IAMFullAccess", READONLY],
    )
    w.add_role(
        "web-app-instance-role",
        trust({"Service": "ec2.amazonaws.com"}),
        max_session_duration=3600,
        description="Instance profile of the web tier",
        inline_policies={
            "WebApp": _allow(
                [
                    "s3:GetObject",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "kms:Decrypt",
                    "logs:*",
                    "cloudwatch:PutMetricData",
                ]
            )
        },
    )
    w.add_role(
        "orders-processor-role",
        trust({"Service": "lambda.amazonaws.com"}),
        max_session_duration=3600,
        description="Execution role of the orders-processor Lambda function",
        managed_policy_arns=["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        inline_policies={
            "Orders": _allow(["dynamodb:PutItem", "dynamodb:Query", "sqs:SendMessage", "kms:GenerateDataKey"])
        },
    )
    w.add_role(
        "AuditReadOnly",
        trust({"AWS": root}),
        max_session_duration=3600,
        description="Auditors switch into this role from the console",
        managed_policy_arns=[READONLY],
    )
    w.add_role(
        "AWSServiceRoleForConfig",
        trust({"Service": "config.amazonaws.com"}),
        path="/aws-service-role/config.amazonaws.com/",
        max_session_duration=3600,
        description="Service-linked role of AWS Config",
        managed_policy_arns=["arn:aws:iam::aws:policy/aws-service-role/AWS_ConfigRole"],
    )
    return w
