"""Synthetic CloudTrail with a known truth: the walkthrough incident and seeded exercises.

Pure and deterministic: no clock reads, no network; the same seed gives the same records
and byte-identical files. ``walkthrough()`` is ``DESIGN.md``'s story (account 111122223333,
2025-01-19..21); ``generate(seed)`` draws another cast and twists; ``write_trail`` streams a
large trail to disk for benchmarks.

Example:
    >>> s = generate(3, events=1500, difficulty="easy")
    >>> s.answer_key["leaked_access_key_id"].startswith("ASIA"), s.account["account_id"] == s.answer_key["account_id"]
    (True, True)
"""

from __future__ import annotations

import heapq
import json
import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from ircreds.errors import ScenarioError
from ircreds.scenarios.background import run
from ircreds.scenarios.cast import Cast, draw, walkthrough_cast
from ircreds.scenarios.exercise import Result, build_answer_key, grade, scope_truth, summary
from ircreds.scenarios.incident import Incident
from ircreds.scenarios.principals import build_world
from ircreds.scenarios.records import Ids
from ircreds.scenarios.routines import build_actors
from ircreds.scenarios.twists import ROOT_TWISTS, TWISTS
from ircreds.scenarios.writer import TrailWriter

__all__ = [
    "DIFFICULTIES",
    "TWISTS",
    "Result",
    "Scenario",
    "generate",
    "grade",
    "summary",
    "walkthrough",
    "write_trail",
]

log = logging.getLogger(__name__)

DIFFICULTIES = ("easy", "standard", "hard")
_DEFAULT_EVENTS = {"easy": 8000, "standard": None, "hard": 45000}
_BRANCH = ("cross_account", "federation_token", "session_token", "reassume")


@dataclass(kw_only=True)
class Scenario:
    """Generated records with their answer key and the account they live in."""

    records: list[dict[str, Any]]
    answer_key: dict[str, Any]
    account: dict[str, Any]
    cast: Cast
    seed: str
    regions: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def write(self, out_dir: str | Path) -> Path:
        """Write the S3 layout, digests, ``answer_key.json`` and ``account.json`` under ``out_dir``."""
        out = Path(out_dir)
        writer = TrailWriter(out, seed=self.seed, duplicate_rate=_dup_rate(len(self.records)))
        writer.add_all(self.records)
        writer.close(self.cast.start, self.cast.end, self.regions)
        write_json(out / "answer_key.json", self.answer_key)
        write_json(out / "account.json", self.account)
        log.info(
            "wrote %d records (%d re-delivered) in %d files to %s",
            writer.records,
            writer.duplicates,
            len(writer.files),
            out,
        )
        return out


def write_json(path: Path, doc: Any) -> None:
    """Deterministic, readable JSON (sorted keys off: order is part of the contract)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _dup_rate(n: int) -> float:
    return min(0.01, 8.0 / max(n, 1))


def _pick_twists(seed: int, difficulty: str) -> list[str]:
    rng = random.Random(f"twists:{seed}")
    if difficulty == "easy":
        return []
    if difficulty == "standard":  # drawn from the first eight, so each seed keeps the exercise it had
        return [rng.choice(sorted(set(TWISTS) - {"more_stolen_credentials"}))]
    picked = [rng.choice(sorted(ROOT_TWISTS))] if rng.random() < 0.7 else []
    picked += rng.sample(_BRANCH, 2)
    if random.Random(f"stolen:{seed}").random() < 0.5:  # its own draw: the other twists stay as they were
        picked.append("more_stolen_credentials")
    return picked


def _check_twists(twists: Sequence[str]) -> tuple[str, list[str]]:
    unknown = [t for t in twists if t not in TWISTS]
    if unknown:
        raise ScenarioError(f"unknown twist {unknown[0]!r}; choose from {', '.join(sorted(TWISTS))}")
    roots = [t for t in twists if t in ROOT_TWISTS]
    if len(roots) > 1:
        raise ScenarioError(
            f"twists {', '.join(roots)} each change how the leaked session was issued; pick one"
        )
    return (ROOT_TWISTS[roots[0]] if roots else "iam_user"), list(dict.fromkeys(twists))


class _Build:
    """World + incident + background actors of one scenario, before any record is emitted."""

    def __init__(self, cast: Cast, seed: str, twists: Sequence[str], events: int | None) -> None:
        root, self.twists = _check_twists(twists)
        self.cast, self.seed = cast, seed
        self.world = build_world(cast, Ids(random.Random(f"ids:{seed}")), random.Random(f"world:{seed}"))
        self.incident = Incident(
            self.world, cast, random.Random(f"incident:{seed}"), root=root, twists=self.twists
        )
        self.incident.run()
        self.actors = build_actors(self.world, cast, 1.0, dev_skip=(cast.incident_day,))
        if events is not None:
            base = sum(
                a.rate * sum((e - s).total_seconds() for s, e in a.windows) / 3600 for a in self.actors
            )
            scale = max(events - len(self.incident.records), 0) / max(base * 0.999, 1.0)
            for a in self.actors:
                a.rate *= scale

    def stream(
        self, group: Sequence[int] | None = None, *, incident: bool = True
    ) -> Iterator[dict[str, Any]]:
        """Records in time order: the incident's and those of the actors in ``group`` (default all)."""
        gens: list[Iterator[dict[str, Any]]] = [
            run(self.actors[i], self.world, self.cast)
            for i in (range(len(self.actors)) if group is None else group)
        ]
        if incident:
            inc = chain(self.incident.records, self.incident.other_records)
            gens.insert(0, iter(sorted(inc, key=lambda r: r["eventTime"])))
        return heapq.merge(*gens, key=lambda r: r["eventTime"])

    def answer_key(self, meta: dict[str, Any]) -> dict[str, Any]:
        inc = self.incident
        issued = [*inc.root_creds, *inc.reassumed, *(c for a in self.actors for c in a.issued)]
        return build_answer_key(inc, issued, meta=meta)

    def account(self) -> dict[str, Any]:
        doc = self.world.account_json()
        others = sorted({r.account for r in self.world.roles.values()} - {self.cast.account})
        if others:
            doc["linked_accounts"] = [self.world.account_json(a) for a in others]
        return doc


def _scenario(
    cast: Cast,
    seed: str,
    twists: Sequence[str],
    events: int | None,
    meta: dict[str, Any],
    *,
    scope_fields: bool = True,
) -> Scenario:
    b = _Build(cast, seed, twists, events)
    records = list(b.stream())
    meta = {
        **meta,
        "events": len(records),
        "start": cast.start.isoformat().replace("+00:00", "Z"),
        "end": cast.end.isoformat().replace("+00:00", "Z"),
    }
    answer_key = b.answer_key(meta)
    if scope_fields:  # the committed walkthrough keeps its answer key byte for byte
        answer_key.update(scope_truth(b.incident, records))
    return Scenario(
        records=records,
        answer_key=answer_key,
        account=b.account(),
        cast=cast,
        seed=seed,
        regions=cast.regions,
        meta=meta,
    )


def generate(
    seed: int = 0,
    *,
    events: int | None = None,
    difficulty: str = "standard",
    twists: Sequence[str] | None = None,
) -> Scenario:
    """A fresh exercise: its own account ids, names, IPs, times; twists drawn by the seed unless given."""
    if difficulty not in DIFFICULTIES:
        raise ScenarioError(f"unknown difficulty {difficulty!r}; choose from {', '.join(DIFFICULTIES)}")
    chosen = list(twists) if twists is not None else _pick_twists(seed, difficulty)
    if events is None:
        events = _DEFAULT_EVENTS[difficulty]
    meta = {"name": f"exercise-{seed}", "seed": seed, "difficulty": difficulty}
    return _scenario(draw(seed), f"exercise:{seed}", chosen, events, meta)


def walkthrough() -> Scenario:
    """``DESIGN.md``'s walkthrough: DevUser, ExampleRole, K1/K2/K3, the 12:00Z cut-off."""
    meta = {"name": "walkthrough", "seed": "walkthrough", "difficulty": "standard"}
    return _scenario(walkthrough_cast(), "walkthrough", [], None, meta, scope_fields=False)


def write_trail(out_dir: str | Path, *, events: int, seed: int = 0, workers: int | None = None) -> Path:
    """Stream a large trail (the walkthrough incident buried in ``events`` records) to ``out_dir``.

    Memory stays flat (records go to disk window by window). ``workers`` processes (default:
    2 from 200,000 events, else 1) write disjoint sets of delivery files.
    """
    from ircreds.scenarios.trail import write_parts

    if events < 1:
        raise ScenarioError(f"events must be positive, got {events}")
    parts = workers or (2 if events >= 200_000 else 1)
    cast = walkthrough_cast() if seed == 0 else draw(seed)
    b = _Build(cast, f"trail:{seed}", [], events)
    out = Path(out_dir)
    count, issued = write_parts(out, b, events, parts, _dup_rate(events))
    meta = {"name": f"trail-{seed}", "seed": seed, "events": count, "parts": parts}
    inc = b.incident
    key = build_answer_key(inc, [*inc.root_creds, *inc.reassumed, *issued], meta=meta)
    key.update(scope_truth(inc))
    write_json(out / "answer_key.json", key)
    write_json(out / "account.json", b.account())
    return out
