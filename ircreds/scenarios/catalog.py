"""The API calls scenarios make: event source, IAM action, read-only flag, request shapes.

Example:
    >>> SPECS["ListBuckets"].action
    's3:ListAllMyBuckets'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Spec:
    """How one API call appears in CloudTrail."""

    source: str
    action: str
    read_only: bool
    data: bool = False

    @property
    def service(self) -> str:
        """The service prefix of the event source (``s3`` for ``s3.amazonaws.com``)."""
        return self.source.split(".", 1)[0]


def _s(source: str, action: str, read_only: bool, data: bool = False) -> Spec:
    return Spec(f"{source}.amazonaws.com", action, read_only, data)


SPECS: dict[str, Spec] = {
    "GetCallerIdentity": _s("sts", "sts:GetCallerIdentity", True),
    "AssumeRole": _s("sts", "sts:AssumeRole", True),
    "GetSessionToken": _s("sts", "sts:GetSessionToken", True),
    "GetFederationToken": _s("sts", "sts:GetFederationToken", True),
    "ListBuckets": _s("s3", "s3:ListAllMyBuckets", True),
    "GetBucketLocation": _s("s3", "s3:GetBucketLocation", True),
    "GetBucketAcl": _s("s3", "s3:GetBucketAcl", True),
    "GetBucketPolicy": _s("s3", "s3:GetBucketPolicy", True),
    "ListObjects": _s("s3", "s3:ListBucket", True, data=True),
    "GetObject": _s("s3", "s3:GetObject", True, data=True),
    "PutObject": _s("s3", "s3:PutObject", False, data=True),
    "HeadObject": _s("s3", "s3:GetObject", True, data=True),
    "DescribeInstances": _s("ec2", "ec2:DescribeInstances", True),
    "DescribeRegions": _s("ec2", "ec2:DescribeRegions", True),
    "DescribeSecurityGroups": _s("ec2", "ec2:DescribeSecurityGroups", True),
    "DescribeVpcs": _s("ec2", "ec2:DescribeVpcs", True),
    "DescribeSnapshots": _s("ec2", "ec2:DescribeSnapshots", True),
    "DescribeVolumes": _s("ec2", "ec2:DescribeVolumes", True),
    "DescribeImages": _s("ec2", "ec2:DescribeImages", True),
    "DescribeKeyPairs": _s("ec2", "ec2:DescribeKeyPairs", True),
    "GetItem": _s("dynamodb", "dynamodb:GetItem", True, data=True),
    "PutItem": _s("dynamodb", "dynamodb:PutItem", False, data=True),
    "Query": _s("dynamodb", "dynamodb:Query", True, data=True),
    "DescribeTable": _s("dynamodb", "dynamodb:DescribeTable", True),
    "ListTables": _s("dynamodb", "dynamodb:ListTables", True),
    "Decrypt": _s("kms", "kms:Decrypt", True),
    "GenerateDataKey": _s("kms", "kms:GenerateDataKey", True),
    "ListKeys": _s("kms", "kms:ListKeys", True),
    "DescribeKey": _s("kms", "kms:DescribeKey", True),
    "ListUsers": _s("iam", "iam:ListUsers", True),
    "ListRoles": _s("iam", "iam:ListRoles", True),
    "GetUser": _s("iam", "iam:GetUser", True),
    "GetRole": _s("iam", "iam:GetRole", True),
    "ListAttachedRolePolicies": _s("iam", "iam:ListAttachedRolePolicies", True),
    "ListRolePolicies": _s("iam", "iam:ListRolePolicies", True),
    "GetAccountAuthorizationDetails": _s("iam", "iam:GetAccountAuthorizationDetails", True),
    "ListAccessKeys": _s("iam", "iam:ListAccessKeys", True),
    "CreateUser": _s("iam", "iam:CreateUser", False),
    "CreateAccessKey": _s("iam", "iam:CreateAccessKey", False),
    "AttachUserPolicy": _s("iam", "iam:AttachUserPolicy", False),
    "CreateLoginProfile": _s("iam", "iam:CreateLoginProfile", False),
    "PutRolePolicy": _s("iam", "iam:PutRolePolicy", False),
    "ListFunctions20150331": _s("lambda", "lambda:ListFunctions", True),
    "DescribeDBInstances": _s("rds", "rds:DescribeDBInstances", True),
    "ListSecrets": _s("secretsmanager", "secretsmanager:ListSecrets", True),
    "GetSecretValue": _s("secretsmanager", "secretsmanager:GetSecretValue", True),
    "DescribeTrails": _s("cloudtrail", "cloudtrail:DescribeTrails", True),
    "ListDetectors": _s("guardduty", "guardduty:ListDetectors", True),
    "GetTables": _s("glue", "glue:GetTables", True),
    "GetDatabases": _s("glue", "glue:GetDatabases", True),
    "PutMetricData": _s("monitoring", "cloudwatch:PutMetricData", False),
    "CreateLogStream": _s("logs", "logs:CreateLogStream", False),
    "DescribeLogGroups": _s("logs", "logs:DescribeLogGroups", True),
    "SendMessage": _s("sqs", "sqs:SendMessage", False, data=True),
}

# services whose authorization errors use EC2's error vocabulary
_EC2_STYLE = {"ec2.amazonaws.com"}


def host(spec: Spec, region: str) -> str:
    """The endpoint host a client sends ``spec`` to."""
    svc = spec.service
    if svc == "iam":
        return "iam.amazonaws.com"
    if svc == "sts":
        return "sts.amazonaws.com" if region == "us-east-1" else f"sts.{region}.amazonaws.com"
    if svc == "s3":
        return f"s3.{region}.amazonaws.com"
    return f"{svc}.{region}.amazonaws.com"


def denied_error(spec: Spec, arn: str, *, explicit: bool, resource: str | None = None) -> tuple[str, str]:
    """``(errorCode, errorMessage)`` for an authorization failure, explicit deny or missing allow."""
    on = f" on resource: {resource}" if resource else ""
    why = (
        "with an explicit deny in an identity-based policy"
        if explicit
        else f"because no identity-based policy allows the {spec.action} action"
    )
    text = f"User: {arn} is not authorized to perform: {spec.action}{on} {why}"
    if spec.source in _EC2_STYLE:
        return "Client.UnauthorizedOperation", f"You are not authorized to perform this operation. {text}"
    return "AccessDenied", text


def default_params(name: str, region: str) -> Any:
    """Plausible ``requestParameters`` for calls that need no resource from the caller."""
    if name in ("DescribeInstances",):
        return {"instancesSet": {}, "filterSet": {}}
    if name in ("DescribeSecurityGroups", "DescribeVpcs", "DescribeVolumes", "DescribeKeyPairs"):
        return {"filterSet": {}}
    if name == "DescribeRegions":
        return {"regionSet": {}, "allRegions": True}
    if name == "DescribeSnapshots":
        return {"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}}
    if name == "DescribeImages":
        return {
            "executableBySet": {},
            "imagesSet": {},
            "ownersSet": {"items": [{"owner": "self"}]},
            "filterSet": {},
        }
    if name == "ListBuckets":
        return {"Host": f"s3.{region}.amazonaws.com"}
    if name in ("ListFunctions20150331",):
        return {"maxItems": 50}
    if name in ("ListUsers", "ListRoles"):
        return {"maxItems": 100}
    if name == "GetAccountAuthorizationDetails":
        return {"filter": ["User", "Role", "Group", "LocalManagedPolicy"]}
    if name == "ListSecrets":
        return {"maxResults": 100}
    if name == "DescribeLogGroups":
        return {"limit": 50}
    return None
