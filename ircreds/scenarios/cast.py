"""Who and where: account ids, names, IPs, user agents and dates of one scenario.

The walkthrough uses the fixed cast of ``DESIGN.md``; :func:`draw` gives each seed its own.
IPs come from the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24).

Example:
    >>> walkthrough_cast().account
    '111122223333'
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

CLI_DEV = "aws-cli/2.22.35 Python/3.12.6 Linux/6.8.0-51-generic exe/x86_64.ubuntu.24 prompt/off"
CLI_MAC = "aws-cli/2.22.4 Python/3.12.6 Darwin/24.1.0 exe/x86_64 prompt/off"
BOTO_EC2 = "Boto3/1.35.76 md/Botocore#1.35.76 ua/2.0 os/linux#6.1.119-129.201.amzn2023.x86_64 md/arch#x86_64 lang/python#3.11.10 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.76"
BOTO_LAMBDA = "Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.227-239.884.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.145"
BOTO_ETL = "Boto3/1.35.50 md/Botocore#1.35.50 ua/2.0 os/linux#5.15.0-1072-aws md/arch#x86_64 lang/python#3.10.12 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.50"
GHA_OIDC = "aws-sdk-nodejs/2.1692.0 linux/v20.18.1 configure-aws-credentials-for-github-actions promise"
GHA_CLI = "aws-cli/2.22.33 md/awscrt#0.23.4 ua/2.0 os/linux#6.5.0-1025-azure md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython exe/x86_64.ubuntu.22 cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 prompt/off"
REPORTER = "aws-sdk-java/2.29.29 Linux/5.10.228-219.884.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.13+11-LTS Java/17.0.13 vendor/Amazon.com_Inc. exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/legacy"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
S3_CONSOLE = "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.750 Linux/5.10.228-198.884.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.432-b06 java/1.8.0_432 vendor/Oracle_Corporation cfg/retry-mode/standard]"
ATTACKER_UAS = (
    "aws-cli/2.13.25 Python/3.11.5 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023 prompt/off command/sts.get-caller-identity",
    "Boto3/1.7.48 Python/3.7.0 Windows/10 Botocore/1.10.48",
    "aws-cli/1.18.69 Python/3.8.10 Linux/5.4.0-1045-aws botocore/1.17.92",
    "Boto3/1.9.201 Python/2.7.18 Linux/4.19.0-kali5-amd64 Botocore/1.12.201",
    "aws-cli/2.15.10 Python/3.11.6 Linux/6.6.9-amd64 exe/x86_64.kali.2024 prompt/off",
)
RECON_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "eu-north-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ap-south-1",
    "sa-east-1",
    "ca-central-1",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Cast:
    """Names, places and times of one scenario."""

    account: str
    other_account: str
    start: datetime
    days: int
    incident_day: datetime
    dev_user: str
    dev_role: str
    pipeline_role: str
    backdoor_user: str
    sensitive_bucket: str
    data_bucket: str
    artifacts_bucket: str
    assets_bucket: str
    office_ip: str
    office_ips: tuple[str, ...]
    attacker_ips: tuple[str, str, str]
    attacker_uas: tuple[str, str]
    k3_ua: str
    issue_time: datetime
    leak_time: datetime
    cutoff: datetime
    home_region: str = "us-east-1"
    regions: tuple[str, ...] = ("us-east-1", "eu-west-1", "us-west-2")
    company: str = "examplecorp"

    @property
    def end(self) -> datetime:
        """When the scenario's background traffic stops."""
        return self.start + timedelta(days=self.days)

    @property
    def dev_session(self) -> str:
        """The role session name the developer's CLI uses (``devuser-work`` in the walkthrough)."""
        return f"{self.dev_user.split('.')[0].lower()}-work"


def walkthrough_cast() -> Cast:
    """The cast of ``DESIGN.md``'s walkthrough (account 111122223333, 2025-01-19..21)."""
    day = datetime(2025, 1, 20, tzinfo=UTC)
    return Cast(
        account="111122223333",
        other_account="444455556666",
        start=datetime(2025, 1, 19, tzinfo=UTC),
        days=3,
        incident_day=day,
        dev_user="DevUser",
        dev_role="ExampleRole",
        pipeline_role="DataPipelineRole",
        backdoor_user="backup-svc",
        sensitive_bucket="examplecorp-finance-reports",
        data_bucket="examplecorp-data-lake",
        artifacts_bucket="examplecorp-ci-artifacts",
        assets_bucket="examplecorp-web-assets",
        office_ip="198.51.100.23",
        office_ips=("198.51.100.23", "198.51.100.24", "198.51.100.31", "198.51.100.40"),
        attacker_ips=("203.0.113.45", "192.0.2.177", "203.0.113.209"),
        attacker_uas=(ATTACKER_UAS[0], ATTACKER_UAS[1]),
        k3_ua=ATTACKER_UAS[2],
        issue_time=day.replace(hour=9, minute=14, second=27),
        leak_time=day.replace(hour=11, minute=2, second=13),
        cutoff=day.replace(hour=12),
    )


_FIRST = ("dana", "raj", "li", "sam", "noor", "kim", "alex", "mira", "theo", "ines", "omar", "jo")
_ROLE_WORDS = ("Dev", "Platform", "Analytics", "Ops", "Build", "Support", "Research")
# exercises never reuse the walkthrough's names (DataPipelineRole, backup-svc): a trainee's outputs must not
# look like the sample's; same tuple lengths, so every other draw of a seed is unchanged
_PIPE_WORDS = ("DataFlow", "Etl", "Ingest", "Warehouse", "Batch", "Reporting")
_BACKDOOR = (
    "backup-agent",
    "svc-monitoring",
    "aws-health-check",
    "deploy-bot",
    "s3-sync",
    "support-automation",
)
_COMPANY = ("anycompany", "examplecorp", "octank", "acme-labs", "northwind", "contoso-data")


def draw(seed: int) -> Cast:
    """A fresh cast for ``seed``: other account ids, names, IPs, user agents, times."""
    rng = random.Random(f"cast:{seed}")
    base = walkthrough_cast()
    company = rng.choice(_COMPANY)
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(0, 600))
    day = start + timedelta(days=1)
    issue = day + timedelta(hours=rng.randint(7, 9), minutes=rng.randrange(60), seconds=rng.randrange(60))
    leak = issue + timedelta(minutes=rng.randint(70, 130), seconds=rng.randrange(60))
    cutoff = (leak + timedelta(minutes=rng.randint(55, 80))).replace(second=0)
    first = rng.choice(_FIRST)
    octet = rng.sample(range(2, 254), 8)
    uas = rng.sample(ATTACKER_UAS, 3)
    return replace(
        base,
        account=f"{rng.randrange(10**11, 10**12)}",
        other_account=f"{rng.randrange(10**11, 10**12)}",
        start=start,
        incident_day=day,
        dev_user=f"{first}.{rng.choice(('dev', 'eng', 'ops'))}",
        dev_role=f"{rng.choice(_ROLE_WORDS)}Role",
        pipeline_role=f"{rng.choice(_PIPE_WORDS)}Role",
        backdoor_user=rng.choice(_BACKDOOR),
        sensitive_bucket=f"{company}-{rng.choice(('finance', 'payroll', 'customer', 'legal'))}-exports",
        data_bucket=f"{company}-data-lake",
        artifacts_bucket=f"{company}-build-artifacts",
        assets_bucket=f"{company}-static-assets",
        office_ip=f"198.51.100.{octet[0]}",
        office_ips=tuple(f"198.51.100.{o}" for o in octet[:4]),
        attacker_ips=(f"203.0.113.{octet[4]}", f"192.0.2.{octet[5]}", f"203.0.113.{octet[6]}"),
        attacker_uas=(uas[0], uas[1]),
        k3_ua=uas[2],
        issue_time=issue,
        leak_time=leak,
        cutoff=cutoff,
        company=company,
    )
