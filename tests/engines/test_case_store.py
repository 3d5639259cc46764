"""The case store: `ircreds index` then every question answered from it equals the in-memory answer."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import threading
import types
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import ircreds
from ircreds.cli import main
from ircreds.engines import index, is_case, open_case, store
from ircreds.evidence.workers import process_context
from ircreds.scenarios import generate

REPO = Path(__file__).resolve().parents[2]
WALKTHROUGH = REPO / "data" / "samples" / "walkthrough"


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def walkthrough_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("case") / "walkthrough"
    index([WALKTHROUGH], out)
    return out


@pytest.fixture(scope="module")
def walkthrough_events() -> pd.DataFrame:
    return ircreds.load(WALKTHROUGH)


def _same_trace_json(capsys: pytest.CaptureFixture[str], evidence: Path, case: Path, key: str) -> None:
    memory = json.loads(_cli(capsys, "trace", str(evidence), "--key", key, "--json"))
    stored = json.loads(_cli(capsys, "trace", str(case), "--key", key, "--json"))
    assert stored == memory
    assert stored["key"] == key


def test_trace_json_from_the_case_equals_trace_json_from_the_files(
    walkthrough_case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = json.loads((WALKTHROUGH / "answer_key.json").read_text())["leaked_access_key_id"]
    _same_trace_json(capsys, WALKTHROUGH, walkthrough_case, key)


def test_case_answers_sessions_plan_load_and_scope_as_the_files_do(
    walkthrough_case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = json.loads((WALKTHROUGH / "answer_key.json").read_text())["leaked_access_key_id"]
    plan = [
        "plan",
        "--key",
        key,
        "--cutoff",
        "2025-01-20T12:00:00Z",
        "--now",
        "2025-01-20T12:00:00Z",
        "--json",
    ]
    scope = ["scope", "--key", key, "--now", "2025-01-22T00:00:00Z", "--json"]
    for argv in (["sessions", "--json"], plan, ["load", "--json"], scope):
        memory = _cli(capsys, argv[0], str(WALKTHROUGH), *argv[1:])
        stored = _cli(capsys, argv[0], str(walkthrough_case), *argv[1:])
        assert json.loads(stored) == json.loads(memory), argv[0]


def test_case_frames_equal_the_loaded_frames(
    walkthrough_case: Path, walkthrough_events: pd.DataFrame
) -> None:
    with open_case(walkthrough_case) as case:
        pd.testing.assert_frame_equal(case.sessions(), ircreds.sessions(walkthrough_events))
        pd.testing.assert_frame_equal(case.events(), walkthrough_events, check_categorical=False)
        assert case.load_report == walkthrough_events.attrs["load_report"]
        assert case.load_report["duplicates"] > 0  # re-deliveries are dropped in the store too


def test_case_traces_every_credential_like_the_frame(
    walkthrough_case: Path, walkthrough_events: pd.DataFrame
) -> None:
    frame = ircreds.sessions(walkthrough_events)
    keys = set(frame["access_key_id"].drop_duplicates().sample(40, random_state=7))
    # console sessions: their baseline is the user's earlier credentials, whose calls are not in the lineage
    keys |= set(frame.loc[frame["kind"] == "ConsoleLogin", "access_key_id"])
    with open_case(walkthrough_case) as case:
        for key in keys:
            assert case.trace(key).to_dict() == ircreds.trace(walkthrough_events, key).to_dict(), key


def test_case_trace_reads_only_the_lineage_rows(walkthrough_case: Path) -> None:
    key = json.loads((WALKTHROUGH / "answer_key.json").read_text())["leaked_access_key_id"]
    with open_case(walkthrough_case) as case:
        rows, _ = case.lineage_index(key)
        tr = case.trace(key)
    lineage = {node.key for node in tr.walk()}
    assert set(rows["userIdentity.accessKeyId"].dropna()) == lineage
    assert len(rows) == sum(len(node.calls) for node in tr.walk()) < case.load_report["events"] / 20


def test_case_trace_of_an_unknown_key_says_what_the_case_covers(walkthrough_case: Path) -> None:
    with (
        open_case(walkthrough_case) as case,
        pytest.raises(ircreds.SessionNotFoundError, match="111122223333"),
    ):
        case.trace("ASIAIOSFODNN7EXAMPLE")


@pytest.mark.parametrize(
    ("seed", "twists"),
    [(101, ["cross_account", "reassume"]), (202, ["console_root", "session_token"]), (303, ["saml_root"])],
)
def test_case_equals_memory_on_generated_exercises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: int, twists: list[str]
) -> None:
    scenario = generate(seed, twists=twists)
    evidence = tmp_path / "ev"
    scenario.write(evidence)
    case = tmp_path / "case"
    _cli(capsys, "index", str(evidence), "--out", str(case), "--no-progress")
    assert is_case(case)
    _same_trace_json(capsys, evidence, case, scenario.answer_key["leaked_access_key_id"])
    events = ircreds.load(evidence)
    with open_case(case) as opened:
        pd.testing.assert_frame_equal(opened.sessions(), ircreds.sessions(events))
        for key in (
            scenario.answer_key["chained_access_key_ids"] + scenario.answer_key["minted_access_key_ids"]
        ):
            assert opened.trace(key).to_dict() == ircreds.trace(events, key).to_dict()


@pytest.mark.parametrize(
    ("seed", "twists"),
    [(404, ["cross_account", "session_token"]), (505, ["reassume", "console_root"]), (606, [])],
)
def test_case_scope_is_pushed_down_and_equals_the_scope_of_the_files(
    tmp_path: Path, seed: int, twists: list[str]
) -> None:
    """The case's scope reads every row but not their JSON text, and traces from the store: same answer."""
    scenario = generate(seed, twists=twists)
    evidence = tmp_path / "ev"
    scenario.write(evidence)
    index([evidence], tmp_path / "case")
    events = ircreds.load(evidence)
    key = scenario.answer_key["leaked_access_key_id"]
    with open_case(tmp_path / "case") as case:
        thin = store.select_scope_events(case._con)
        assert len(thin) == len(events)
        issuing = thin["eventName"].isin(store.ISSUING_NAMES).to_numpy()
        assert thin.loc[~issuing, "requestParameters"].isna().all()  # not read back where unused
        assert thin.loc[issuing, "requestParameters"].notna().any()
        for seeds in ({"key": key}, {"key": key, "findings": True}):
            stored, memory = case.scope(**seeds), ircreds.scope(events, **seeds)
            assert stored.to_dict() == memory.to_dict(), seeds
            assert [t.to_dict() for t in stored.traces] == [t.to_dict() for t in memory.traces], seeds
        ips = list(memory.attacker_ips[:1])
        if ips:
            assert case.scope(ips=ips).to_dict() == ircreds.scope(events, ips=ips).to_dict()


def _logs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.json.gz") if "Digest" not in str(p))


def test_index_again_reads_only_new_files_and_equals_a_fresh_index(tmp_path: Path) -> None:
    evidence = tmp_path / "ev"
    shutil.copytree(WALKTHROUGH, evidence)
    later = _logs(evidence)[len(_logs(evidence)) // 2 :]
    held = tmp_path / "held"
    for p in later:  # the second half arrives later
        target = held / p.relative_to(evidence)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(p, target)
    case = tmp_path / "case"
    first = index([evidence], case)
    assert first.files_new > 0
    for p in later:
        shutil.move(held / p.relative_to(evidence), p)
    second = index([evidence], case)
    assert second.files_new == len(later)
    assert second.files_unchanged == first.files_seen
    fresh = index([evidence], tmp_path / "fresh")
    assert second.report == fresh.report
    key = json.loads((WALKTHROUGH / "answer_key.json").read_text())["leaked_access_key_id"]
    with open_case(case) as a, open_case(tmp_path / "fresh") as b:
        pd.testing.assert_frame_equal(a.sessions(), b.sessions())
        assert a.trace(key).to_dict() == b.trace(key).to_dict()  # the added parts are in key_groups


def test_index_reads_a_changed_file_again_and_drops_its_old_rows(tmp_path: Path) -> None:
    evidence = tmp_path / "ev"
    shutil.copytree(WALKTHROUGH, evidence)
    case = tmp_path / "case"
    index([evidence], case)
    victim = _logs(evidence)[3]
    doc = json.loads(gzip.decompress(victim.read_bytes()))
    doc["Records"] = doc["Records"][:-1]
    victim.write_bytes(gzip.compress(json.dumps(doc).encode()))
    again = index([evidence], case)
    assert again.files_changed == 1
    assert again.files_new == 0
    memory = ircreds.load(evidence)
    assert again.report["events"] == len(memory)
    with open_case(case) as opened:
        pd.testing.assert_frame_equal(opened.sessions(), ircreds.sessions(memory))


def test_an_interrupted_index_resumes_and_ends_equal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "CHUNK_FILES", 100)
    monkeypatch.setattr(store, "WORKERS", 1)
    case = tmp_path / "case"
    real = store._commit
    calls = {"n": 0}

    def crash_on_third(con: object, result: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real(con, result)

    monkeypatch.setattr(store, "_commit", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        index([WALKTHROUGH], case)
    monkeypatch.setattr(store, "_commit", real)
    resumed = index([WALKTHROUGH], case)
    assert resumed.files_unchanged == 200  # the two committed chunks are not read again
    assert len(list((case / store.PARTS).glob("*.tmp"))) == 0
    memory = ircreds.load(WALKTHROUGH)
    assert resumed.report == memory.attrs["load_report"] | {"sources": resumed.report["sources"]}


def test_bad_files_and_records_are_counted_in_the_case_as_in_memory(tmp_path: Path) -> None:
    evidence = tmp_path / "ev"
    evidence.mkdir()
    good = {"eventTime": "2025-01-20T09:14:27Z", "eventName": "ListBuckets", "eventID": "a"}
    (evidence / "a.json").write_text(json.dumps({"Records": [good, {"eventName": "NoTime"}, 7]}))
    (evidence / "b.json.gz").write_bytes(gzip.compress(b'{"Records": [')[:-4])  # truncated gzip
    (evidence / "c.json").write_text('{"not": "cloudtrail"}')
    summary = index([evidence], tmp_path / "case")
    memory = ircreds.load(evidence).attrs["load_report"]
    assert summary.report == memory
    r = summary.report
    assert r["records_read"] == r["events"] + r["duplicates"] + len(r["rejects"]) == 4


def test_is_case_tells_a_case_by_content_not_by_name(tmp_path: Path, walkthrough_case: Path) -> None:
    renamed = tmp_path / "evidence.json"
    shutil.copytree(walkthrough_case, renamed)
    assert is_case(renamed)
    assert is_case(renamed / store.CATALOG)
    assert not is_case(WALKTHROUGH)
    import duckdb

    other = tmp_path / "other"
    other.mkdir()
    duckdb.connect(str(other / store.CATALOG)).close()
    assert not is_case(other)


def test_a_case_store_must_be_the_only_path(walkthrough_case: Path) -> None:
    assert main(["trace", str(walkthrough_case), str(WALKTHROUGH), "--key", "ASIAIOSFODNN7EXAMPLE"]) != 0


def test_index_refuses_to_write_over_a_folder_that_is_not_a_case(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("mine")
    with pytest.raises(ircreds.IrcredsError, match="not an ircreds case store"):
        index([WALKTHROUGH], tmp_path)


def test_case_calls_inline_only_key_shaped_text_and_join_the_rest(walkthrough_case: Path) -> None:
    """Keys are written into the SQL as literals (pushed into the Parquet scan) only when key-shaped;
    attacker-written text (a quote, SQL) goes through a joined table and matches nothing."""
    key = json.loads((WALKTHROUGH / "answer_key.json").read_text())["leaked_access_key_id"]
    hostile = "x' OR 1=1 --"
    assert store.key_filter([key]) == f"\"userIdentity.accessKeyId\" IN ('{key}')"
    assert store.key_filter([key, hostile]) is None
    with open_case(walkthrough_case) as case:
        alone = case.calls([key])
        assert len(alone) > 0
        pd.testing.assert_frame_equal(case.calls([key, hostile]), alone)
        assert len(case.calls([hostile])) == 0


def _actual_key_groups(case: Path) -> set[tuple[str, str, int]]:

    out = set()
    for part in sorted((case / store.PARTS).glob("*.parquet")):
        pf = pq.ParquetFile(part)
        for rg in range(pf.metadata.num_row_groups):
            keys = pf.read_row_group(rg, columns=["userIdentity.accessKeyId"]).column(0).to_pylist()
            out |= {(k, part.name, rg) for k in keys if k is not None}
    return out


def test_key_groups_name_every_row_group_holding_a_key_and_traces_read_only_those_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small parts and row groups, so each key spreads over many: the index names exactly the row
    groups that hold each key, and a trace from it equals the trace of the files."""
    monkeypatch.setattr(store, "ROW_GROUP", 64)
    monkeypatch.setattr(store, "CHUNK_FILES", 40)
    scenario = generate(919, twists=["reassume", "federation_token"])
    evidence = tmp_path / "ev"
    scenario.write(evidence)
    case = tmp_path / "case"
    index([evidence], case)
    with open_case(case) as opened:
        listed = {(r["key"], r["part"], r["rg"]) for r in opened.sql("SELECT * FROM key_groups").to_pylist()}
    assert listed == _actual_key_groups(case)
    assert len({p for _, p, _ in listed}) > 5
    events = ircreds.load(evidence)
    key = scenario.answer_key["leaked_access_key_id"]
    with open_case(case) as opened:
        assert opened.trace(key).to_dict() == ircreds.trace(events, key).to_dict()
        calls = opened.calls([key])
    mine = events["userIdentity.accessKeyId"] == key
    assert calls["eventID"].tolist() == events.loc[mine, "eventID"].tolist()


def test_index_workers_come_from_a_fork_server_when_threads_run_and_keep_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fork copies one thread, not the locks other threads hold (a notebook kernel, a test runner):
    a worker forked beside them crashed once in CI. With a thread running, workers come from a fork
    server, and still write the parent's row groups; the case equals the files."""
    monkeypatch.setattr(store, "ROW_GROUP", 64)
    monkeypatch.setattr(store, "CHUNK_FILES", 40)
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))  # as in a notebook kernel
    scenario = generate(929, twists=["session_token"])
    evidence = tmp_path / "ev"
    scenario.write(evidence)
    case = tmp_path / "case"
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert process_context().get_start_method() == "forkserver"
        index([evidence], case)
    finally:
        stop.set()
        other.join()
    parts = sorted((case / store.PARTS).glob("*.parquet"))
    assert len(parts) > 2  # read by the workers, not in the parent
    for part in parts:
        meta = pq.ParquetFile(part).metadata
        assert max(meta.row_group(i).num_rows for i in range(meta.num_row_groups)) <= 64, part.name
    events = ircreds.load(evidence)
    with open_case(case) as opened:
        pd.testing.assert_frame_equal(opened.events(), events, check_categorical=False)


UNGUARDED_SCRIPT = """
import sys, threading
from ircreds.engines import index, store
from ircreds.evidence.workers import process_context
threading.Thread(target=threading.Event().wait, daemon=True).start()  # a progress monitor, a server...
store.CHUNK_FILES = 40
print(process_context())
index([sys.argv[1]], sys.argv[2])
"""


def test_a_script_with_threads_and_no_main_guard_indexes_in_its_own_process(tmp_path: Path) -> None:
    """A fork server's workers import the main script again: an unguarded one would run again in each
    of them (the index never ended). Such a script indexes in its own process, and ends."""
    scenario = generate(939)
    evidence = tmp_path / "ev"
    scenario.write(evidence)
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED_SCRIPT)
    case = tmp_path / "case"
    done = subprocess.run(
        [sys.executable, str(script), str(evidence), str(case)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[0] == "None"
    assert len(list((case / store.PARTS).glob("*.parquet"))) > 2
    with open_case(case) as opened:
        pd.testing.assert_frame_equal(opened.events(), ircreds.load(evidence), check_categorical=False)


def test_a_case_indexed_before_key_groups_still_traces_by_scanning(tmp_path: Path, walkthrough_case: Path,
                                                                    walkthrough_events: pd.DataFrame) -> None:  # fmt: skip
    import duckdb

    old = tmp_path / "old"
    shutil.copytree(walkthrough_case, old)
    con = duckdb.connect(str(old / store.CATALOG))
    con.execute("DELETE FROM meta WHERE key = 'key_groups'")
    con.execute("DROP TABLE key_groups")
    con.execute("ALTER TABLE keys DROP COLUMN ips")
    con.execute("ALTER TABLE keys DROP COLUMN agents")
    con.close()
    key = json.loads((WALKTHROUGH / "answer_key.json").read_text())["leaked_access_key_id"]
    with open_case(old) as opened:
        assert opened.trace(key).to_dict() == ircreds.trace(walkthrough_events, key).to_dict()


def test_a_case_without_credentials_has_the_empty_sessions_table_of_memory(tmp_path: Path) -> None:
    evidence = tmp_path / "ev"
    evidence.mkdir()
    record = {"eventVersion": "1.08", "eventTime": "2025-01-20T10:00:00Z", "eventSource": "s3.amazonaws.com",
              "eventName": "GetObject", "eventID": "e1", "userIdentity": {"type": "AWSService"}}  # fmt: skip
    (evidence / "a.json").write_text(json.dumps({"Records": [record]}))
    index([evidence], tmp_path / "case")
    with open_case(tmp_path / "case") as case:
        pd.testing.assert_frame_equal(case.sessions(), ircreds.sessions(ircreds.load(evidence)))


def test_index_refuses_a_case_of_another_format(tmp_path: Path, walkthrough_case: Path) -> None:
    """Even one indexed before key_groups existed: its layout is not this version's."""
    import duckdb

    from ircreds.errors import LogFormatError

    other = tmp_path / "other"
    shutil.copytree(walkthrough_case, other)
    con = duckdb.connect(str(other / store.CATALOG))
    con.execute("UPDATE meta SET value = 'ircreds-case/0' WHERE key = 'format'")
    con.execute("DROP TABLE key_groups")
    con.close()
    with pytest.raises(LogFormatError, match="ircreds-case/0"):
        index([WALKTHROUGH], other)
