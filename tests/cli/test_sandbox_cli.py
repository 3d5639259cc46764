"""``ircreds sandbox --from-evidence``: a moto server seeded from the logs alone, with sandbox.json beside."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from ircreds.scenarios import generate

REPO = Path(__file__).resolve().parents[2]


def test_sandbox_from_evidence_serves_the_logs_roles_and_writes_sandbox_json(tmp_path: Path) -> None:
    import boto3

    scenario = generate(58, events=1500, twists=[])
    evidence = tmp_path / "case"
    scenario.write(evidence)
    (evidence / "account.json").unlink(missing_ok=True)
    records = tmp_path / "records"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-c", "import sys; from ircreds.cli import main; sys.exit(main(sys.argv[1:]))"]
    proc = subprocess.Popen(
        [*cmd, "sandbox", "--from-evidence", str(evidence), "--record-dir", str(records)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("  export "):
                break
        head = "".join(lines)
        endpoint = head.split(" at ", 1)[1].split()[0]
        exports = dict(part.split("=", 1) for part in lines[-1].split()[1:])
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
        )
        role = scenario.answer_key["role_arn"]
        assert iam.get_role(RoleName=role.rsplit("/", 1)[-1])["Role"]["Arn"] == role
        described = json.loads((records / "sandbox.json").read_text())
        assert described["source"] == "evidence"
        assert described["account_id"] == role.split(":")[4]
        assert "sandbox.json" in head
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
