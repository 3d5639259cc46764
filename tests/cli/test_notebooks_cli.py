"""``ircreds notebooks``: the whole walkthrough under papermill on a case the kit was not written for."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ircreds.cli import main
from ircreds.scenarios import generate

REPO = Path(__file__).resolve().parents[2]
SAMPLE_KEY = json.loads((REPO / "data/samples/walkthrough/answer_key.json").read_text())
# the walkthrough sample's names and keys: a generated case's outputs must name none of them
SAMPLE_NAMES = (
    "DevUser",
    "ExampleRole",
    "DataPipelineRole",
    "backup-svc",
    "111122223333",
    SAMPLE_KEY["leaked_access_key_id"],
    *SAMPLE_KEY["chained_access_key_ids"],
    *SAMPLE_KEY["minted_access_key_ids"],
)


@pytest.mark.slow
def test_notebooks_run_end_to_end_on_a_generated_case_and_name_nothing_of_the_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("papermill")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    scenario = generate(4242, events=4000, twists=["cross_account"])
    case = tmp_path / "case"
    scenario.write(case)
    (case / "account.json").unlink()  # a real case has none: 05 and 06 build the sandbox from the logs
    out = tmp_path / "out"
    assert (
        main(["notebooks", str(case), "--answer-key", str(case / "answer_key.json"), "--out", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert "06_verify_and_report.ipynb: ok" in printed
    executed = sorted(out.glob("0*.ipynb"))
    assert len(executed) == 6
    report = out / "case" / "incident-report.html"
    assert report.is_file()
    described = json.loads((out / "case" / "sandbox.json").read_text())
    assert described["source"] == "evidence"
    assert len(described["accounts"]) == 2  # the cross-account case spans two accounts
    records = sorted((out / "case").glob("*-apply-*.json"))  # action records (the report has sidecars too)
    assert len(records) == 2  # one rehearsal per account the plan targets
    texts = {p.name: p.read_text() for p in [*executed, report, *records]}
    for name, text in texts.items():
        errors = (
            [
                o
                for c in json.loads(text)["cells"]
                for o in c.get("outputs", ())
                if o.get("output_type") == "error"
            ]
            if name.endswith(".ipynb")
            else []
        )
        assert not errors, name
        leaked = [s for s in SAMPLE_NAMES if s.lower() in text.lower()]
        assert not leaked, f"{name} names the sample: {leaked}"
    assert scenario.answer_key["leaked_access_key_id"] in texts["02_find_the_session.ipynb"]


def test_notebooks_without_a_key_or_answer_key_is_one_sentence(tmp_path: Path, capsys) -> None:
    (tmp_path / "logs").mkdir()
    assert main(["notebooks", str(tmp_path / "logs"), "--out", str(tmp_path / "out")]) != 0
    assert "--key" in capsys.readouterr().err
