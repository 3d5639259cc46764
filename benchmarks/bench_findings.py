"""Findings precision/recall, and the scope's, against generated exercises whose answer keys mark every
malicious event.

``python -m benchmarks.run findings [-- --seeds 12 --events 3000]``. Every credential of every exercise is
traced (legitimate ones too: that is where false positives live) and every finding runs on it.

- A finding **instance** is a true positive when at least half of its event ids are malicious; an
  instance without event ids is not scored. **Precision** = true instances / instances, per finding and
  severity (the target: every finding at high severity or above, ≥ 0.9).
- **Recall** per finding = the compromised credentials (with at least one malicious call of the kind the
  finding looks at, i.e. on which it fires at least once in any exercise) it fires on / those credentials;
  **event coverage** = malicious events among its event ids / all malicious events.
- **Scope**: ``ircreds.scope`` from the alerted key; its compromised set against the answer key's (the
  target: 100 % precision and recall on every exercise).

Exit code 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from typing import Any

import ircreds
from ircreds.findings import FINDINGS, run_findings
from ircreds.model import Severity
from ircreds.scenarios import TWISTS, generate

TARGET_HIGH_PRECISION = 0.9


def _exercises(seeds: int) -> list[tuple[int, list[str] | None, str]]:
    twists = sorted(TWISTS)
    out: list[tuple[int, list[str] | None, str]] = []
    for i in range(seeds):
        seed = 1000 + i
        if i % 3 == 2:
            out.append((seed, None, "hard"))
        else:
            out.append((seed, [twists[i % len(twists)]], "standard"))
    return out


def _score(event_ids: tuple[str, ...], malicious: set[str]) -> bool | None:
    if not event_ids:
        return None
    bad = sum(1 for e in event_ids if e in malicious)
    return bad * 2 >= len(event_ids)


def run(seeds: int, events: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Score every finding and the scope over ``seeds`` generated exercises."""
    inst: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])  # (id, severity) -> [n, true]
    fired_on: dict[str, set[tuple[int, str]]] = defaultdict(set)  # id -> compromised creds it fired on
    flagged_any: set[tuple[int, str]] = set()  # compromised creds with a true finding at medium or above
    covered: dict[str, int] = defaultdict(int)
    compromised_total: set[tuple[int, str]] = set()
    malicious_total = 0
    scopes = []
    for seed, twists, difficulty in _exercises(seeds):
        s = generate(seed, events=events, twists=twists, difficulty=difficulty)
        key = s.answer_key
        ev = ircreds.load(s.records)
        malicious = set(key["malicious_event_ids"])
        malicious_total += len(malicious)
        bad_keys = set(key["compromised_access_key_ids"])
        used = set(ev["userIdentity.accessKeyId"].dropna().astype(str))
        for k in sorted(used):
            node = ircreds.trace(ev, k, findings=False)
            calls_bad = (
                "eventID" in node.calls.columns and node.calls["eventID"].isin(sorted(malicious)).any()
            )
            if k in bad_keys and calls_bad:
                compromised_total.add((seed, k))
            flagged: dict[str, set[str]] = defaultdict(set)
            for f in run_findings(node):
                ok = _score(f.event_ids, malicious)
                if ok is None:
                    continue
                cell = inst[(f.id, str(f.severity))]
                cell[0] += 1
                cell[1] += int(ok)
                flagged[f.id].update(f.event_ids)
                if k in bad_keys and ok:
                    fired_on[f.id].add((seed, k))
                    if f.severity >= Severity.MEDIUM:
                        flagged_any.add((seed, k))
            for fid, ids in flagged.items():
                covered[fid] += len(ids & malicious)
        sc = ircreds.scope(ev, key=key["leaked_access_key_id"])
        got = set(sc.keys)
        tp = len(got & bad_keys)
        scopes.append(
            {
                "seed": seed,
                "twists": [t["name"] for t in key["twists"]],
                "precision": tp / len(got) if got else 1.0,
                "recall": tp / len(bad_keys) if bad_keys else 1.0,
                "first_ok": sc.first_malicious_event_id == key["scope_first_malicious_event_id"],
            }
        )
    rows = {}
    for fid in FINDINGS:
        sev = {s: inst[(fid, s)] for s in (str(x) for x in Severity) if inst[(fid, s)][0]}
        n = sum(v[0] for v in sev.values())
        true = sum(v[1] for v in sev.values())
        rows[fid] = {
            "instances": n,
            "precision": true / n if n else None,
            "by_severity": {s: (v[0], v[1] / v[0]) for s, v in sev.items()},
            "recall": len(fired_on[fid]) / len(compromised_total) if compromised_total else None,
            "event_coverage": covered[fid] / malicious_total if malicious_total else None,
        }
    rows["(any finding, medium or above)"] = {
        "instances": len(flagged_any),
        "precision": None,
        "by_severity": {},
        "recall": len(flagged_any & compromised_total) / len(compromised_total)
        if compromised_total
        else None,
        "event_coverage": None,
    }
    return rows, scopes


def main(argv: list[str]) -> int:
    """Run and print the table; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(prog="benchmarks.run findings")
    parser.add_argument("--seeds", type=int, default=12, help="generated exercises (default 12)")
    parser.add_argument("--events", type=int, default=3000, help="events per exercise (default 3000)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows, scopes = run(args.seeds, args.events)
    print(f"{args.seeds} exercises of ~{args.events} events, {time.perf_counter() - started:.0f} s")
    print(f"{'finding':34} {'n':>5} {'precision':>9} {'recall':>7} {'events':>7}  by severity (n, precision)")
    missed = []
    for fid, r in rows.items():
        p = "-" if r["precision"] is None else f"{r['precision']:.2f}"
        rc = "-" if r["recall"] is None else f"{r['recall']:.2f}"
        cov = "-" if r["event_coverage"] is None else f"{r['event_coverage']:.2f}"
        sev = ", ".join(f"{s} {n} {q:.2f}" for s, (n, q) in r["by_severity"].items())
        print(f"{fid:34} {r['instances']:>5} {p:>9} {rc:>7} {cov:>7}  {sev}")
        for s, (_n, q) in r["by_severity"].items():
            if Severity(s) >= Severity.HIGH and q < TARGET_HIGH_PRECISION:
                missed.append(f"{fid} at {s}: precision {q:.2f} < {TARGET_HIGH_PRECISION}")
    print()
    print(f"{'scope seed':>10} {'precision':>9} {'recall':>7} first  twists")
    for s in scopes:
        print(
            f"{s['seed']:>10} {s['precision']:>9.2f} {s['recall']:>7.2f} {'ok' if s['first_ok'] else 'NO':>5}  {', '.join(s['twists'])}"
        )
        if s["precision"] < 1 or s["recall"] < 1 or not s["first_ok"]:
            missed.append(
                f"scope of seed {s['seed']}: precision {s['precision']:.2f}, recall {s['recall']:.2f}"
            )
    for m in missed:
        print("MISSED:", m, file=sys.stderr)
    return 1 if missed else 0
