"""Shared fixtures. Keep them tiny; heavier ones live next to the tests that need them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "data" / "samples"
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake AWS credentials, so no test can ever reach a real account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A real moto server on a free local port (one per test module), for boto3 clients to talk to."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True, scope="session")
def _action_records_stay_in_the_test_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test writes action records into the analyst's real folder (~/.local/share/ircreds/actions)."""
    import os

    folder = tmp_path_factory.mktemp("action-records")
    previous = os.environ.get("IRCREDS_RECORD_DIR")
    os.environ["IRCREDS_RECORD_DIR"] = str(folder)
    yield
    if previous is None:
        os.environ.pop("IRCREDS_RECORD_DIR", None)
    else:
        os.environ["IRCREDS_RECORD_DIR"] = previous
