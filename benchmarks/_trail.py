"""A realistic synthetic CloudTrail trail in the S3 delivery layout, for benchmarks only.

About 1.5 KB a record, the mix of a busy account: role sessions (console, CI via web identity,
EC2 instance profiles, Lambda), IAM users, AWS services, STS issuing events with session tokens,
S3 data events, errors, TLS details, and about 0.1 % re-deliveries. Deterministic for a seed.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from isal import igzip

ACCOUNT = "111122223333"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2")
START = datetime(2025, 1, 19, tzinfo=UTC)
PER_FILE = 1000

_CALLS = [
    ("s3.amazonaws.com", "GetObject", True, "Data"),
    ("s3.amazonaws.com", "PutObject", False, "Data"),
    ("s3.amazonaws.com", "ListObjects", True, "Data"),
    ("ec2.amazonaws.com", "DescribeInstances", True, "Management"),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", True, "Management"),
    ("dynamodb.amazonaws.com", "DescribeTable", True, "Management"),
    ("kms.amazonaws.com", "Decrypt", True, "Management"),
    ("kms.amazonaws.com", "GenerateDataKey", True, "Management"),
    ("logs.amazonaws.com", "CreateLogStream", False, "Management"),
    ("sts.amazonaws.com", "GetCallerIdentity", True, "Management"),
    ("iam.amazonaws.com", "ListRoles", True, "Management"),
    ("lambda.amazonaws.com", "GetFunction", True, "Management"),
    ("ssm.amazonaws.com", "GetParameters", True, "Management"),
    ("secretsmanager.amazonaws.com", "GetSecretValue", True, "Management"),
]
_AGENTS = [
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off command/s3.cp",
    "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#5.10.210-201.852.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.6",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.21.6 md/GOOS#linux md/GOARCH#amd64 api/s3#1.51.1",
    "console.amazonaws.com",
    "aws-sdk-java/2.25.6 Linux/5.10.209-198.858.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10",
]
_ROLES = [
    "ExampleRole",
    "DataPipelineRole",
    "CiDeployRole",
    "ec2-app-role",
    "lambda-orders",
    "AWSReservedSSO_Admin_1a2b3c",
]


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _key(rng: random.Random) -> str:
    return "ASIA" + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=16))


def _record(rng: random.Random, t: datetime, region: str, keys: list[str]) -> dict:
    source, name, read_only, category = rng.choice(_CALLS)
    role = rng.choice(_ROLES)
    session = f"{role.lower()}-{rng.randrange(10_000)}"
    kind = rng.random()
    creation = _iso(t - timedelta(minutes=rng.randrange(1, 600)))
    if kind < 0.1:
        identity = {"type": "IAMUser", "principalId": "AIDACKCEVSQ6C2EXAMPLE",
                    "arn": f"arn:aws:iam::{ACCOUNT}:user/DevUser", "accountId": ACCOUNT,
                    "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": "DevUser"}  # fmt: skip
    elif kind < 0.18:
        identity = {
            "type": "AWSService",
            "invokedBy": rng.choice(["ec2.amazonaws.com", "lambda.amazonaws.com"]),
        }
    else:
        context = {"sessionIssuer": {"type": "Role", "principalId": "AROADBQP57FF2AEXAMPLE",
                                     "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}", "accountId": ACCOUNT,
                                     "userName": role},
                   "webIdFederationData": {},
                   "attributes": {"creationDate": creation, "mfaAuthenticated": "false"}}  # fmt: skip
        if role == "ec2-app-role":
            context["ec2RoleDelivery"] = "2.0"
        identity = {"type": "AssumedRole", "principalId": f"AROADBQP57FF2AEXAMPLE:{session}",
                    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}", "accountId": ACCOUNT,
                    "accessKeyId": rng.choice(keys), "sessionContext": context}  # fmt: skip
    record: dict = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": _iso(t),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": f"198.51.100.{rng.randrange(1, 255)}",
        "userAgent": rng.choice(_AGENTS),
        "requestParameters": {
            "bucketName": "example-data-bucket",
            "Host": f"example-data-bucket.s3.{region}.amazonaws.com",
            "key": f"exports/2025/01/{rng.randrange(10**6):06d}.parquet",
        }
        if source == "s3.amazonaws.com"
        else {
            "maxResults": 100,
            "filterSet": {
                "items": [{"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}]}}]
            },
        },
        "responseElements": None,
        "requestID": str(uuid.UUID(int=rng.getrandbits(128))),
        "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": category == "Management",
        "recipientAccountId": ACCOUNT,
        "eventCategory": category,
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{source.split('.')[0]}.{region}.amazonaws.com",
        },
    }
    if source == "s3.amazonaws.com":
        record["additionalEventData"] = {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                                         "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader",
                                         "x-amz-id-2": "EXAMPLEid2" * 6, "bytesTransferredOut": rng.randrange(10**6)}  # fmt: skip
        record["resources"] = [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::example-data-bucket/exports/x"},
                               {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::example-data-bucket"}]  # fmt: skip
    roll = rng.random()
    if roll < 0.05:
        record["errorCode"] = "AccessDenied"
        record["errorMessage"] = (
            f"User: {identity.get('arn', 'unknown')} is not authorized to perform: {name}"
        )
    elif roll < 0.09:
        new_key = _key(rng)
        keys.append(new_key)
        if len(keys) > 200:
            keys.pop(0)
        record.update(
            eventSource="sts.amazonaws.com", eventName="AssumeRole", readOnly=True, managementEvent=True,
            eventCategory="Management",
            requestParameters={"roleArn": f"arn:aws:iam::{ACCOUNT}:role/{role}", "roleSessionName": session,
                               "durationSeconds": 3600},
            responseElements={"credentials": {"accessKeyId": new_key, "sessionToken": "IQoJb3JpZ2luX2VjE" + "x" * 380,
                                              "expiration": (t + timedelta(hours=1)).strftime("%b %-d, %Y, %-I:%M:%S %p")},
                              "assumedRoleUser": {"assumedRoleId": f"AROADBQP57FF2AEXAMPLE:{session}",
                                                  "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"}},
        )  # fmt: skip
    return record


def write_trail(out_dir: str | Path, *, events: int, seed: int = 0) -> Path:
    """Write ``events`` records as gzipped delivery files under ``out_dir/AWSLogs/...``; return ``out_dir``."""
    rng = random.Random(seed)
    out = Path(out_dir)
    keys = [_key(rng) for _ in range(50)]
    span = timedelta(days=2).total_seconds()
    written = 0
    previous: list[dict] = []
    file_no = 0
    while written < events:
        region = REGIONS[file_no % len(REGIONS)]
        n = min(PER_FILE, events - written)
        base = START + timedelta(seconds=span * written / max(events, 1))
        records = [_record(rng, base + timedelta(seconds=rng.randrange(300)), region, keys) for _ in range(n)]
        if previous and rng.random() < 0.5:  # re-deliver one record of an earlier file
            records[-1] = previous[rng.randrange(len(previous))]
        previous = records
        folder = out / "AWSLogs" / ACCOUNT / "CloudTrail" / region / f"{base:%Y/%m/%d}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{ACCOUNT}_CloudTrail_{region}_{base:%Y%m%dT%H%MZ}_{file_no:016d}.json.gz"
        (folder / name).write_bytes(igzip.compress(orjson.dumps({"Records": records}), compresslevel=2))
        written += n
        file_no += 1
    return out
