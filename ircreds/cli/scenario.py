"""``ircreds scenario`` (write an exercise or the walkthrough) and ``ircreds exercise check`` (grade it)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ircreds.cli._io import echo, echo_json, table
from ircreds.cli._write import check_folder, writing
from ircreds.errors import ScenarioError


def register(subparsers: Any) -> None:
    """Add ``scenario`` and ``exercise`` to the ``ircreds`` command."""
    from ircreds.scenarios import DIFFICULTIES, TWISTS

    p = subparsers.add_parser(
        "scenario",
        help="write a synthetic CloudTrail incident with its answer key",
        description="Write a fresh incident (S3 delivery layout, digests, answer_key.json, account.json). "
        "The same seed gives byte-identical output.",
    )
    p.add_argument("--seed", type=int, default=0, help="story seed (default 0)")
    p.add_argument("--out", required=True, type=Path, help="output folder (a new or empty one)")
    p.add_argument(
        "--force", action="store_true", help="write into a folder that holds other files (never evidence)"
    )
    p.add_argument("--difficulty", choices=DIFFICULTIES, default="standard")
    p.add_argument("--events", type=int, default=None, help="approximate number of records")
    p.add_argument(
        "--twist",
        action="extend",
        nargs="+",
        choices=sorted(TWISTS),
        dest="twists",
        metavar="NAME",
        help=f"force a twist (repeatable): {', '.join(sorted(TWISTS))}",
    )
    p.add_argument(
        "--walkthrough", action="store_true", help="write the fixed walkthrough instead (ignores the rest)"
    )
    p.add_argument(
        "--stream",
        action="store_true",
        help="stream a large trail to disk (benchmarks; the walkthrough incident, no twists)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=_scenario)

    e = subparsers.add_parser("exercise", help="grade answers to a generated exercise")
    esub = e.add_subparsers(dest="exercise_command", metavar="ACTION")
    c = esub.add_parser(
        "check",
        help="grade ANSWERS.json against DIR/answer_key.json",
        description='ANSWERS.json is {question_id: answer} (or {"answers": {...}}). '
        "Sets are JSON lists; times are ISO 8601.",
    )
    c.add_argument("dir", type=Path, help="the scenario folder (holds answer_key.json)")
    c.add_argument("answers", type=Path, help="the trainee's answer sheet")
    c.add_argument("--json", action="store_true", help="print the grades as JSON")
    c.set_defaults(func=_check)
    q = esub.add_parser("questions", help="print the exercise's questions without their answers")
    q.add_argument("dir", type=Path, help="the scenario folder (holds answer_key.json)")
    q.add_argument("--json", action="store_true", help="print a blank answer sheet {question_id: null}")
    q.set_defaults(func=_questions)
    e.set_defaults(func=lambda args: (e.print_help(), 2)[1])


def _scenario(args: argparse.Namespace) -> int:
    from ircreds import scenarios

    if args.stream and args.events is None:
        raise ScenarioError("--stream needs --events N (the number of records to write)")
    check_folder(args.out, force=args.force)
    if args.stream:
        with writing(args.out):
            out = scenarios.write_trail(args.out, events=args.events, seed=args.seed)
        key = json.loads((out / "answer_key.json").read_text())
    else:
        sc = (
            scenarios.walkthrough()
            if args.walkthrough
            else scenarios.generate(
                args.seed, events=args.events, difficulty=args.difficulty, twists=args.twists
            )
        )
        with writing(args.out):
            out = sc.write(args.out)
        key = sc.answer_key
    summary = {
        "out": str(out),
        "account_id": key["account_id"],
        "events": key["scenario"]["events"],
        "twists": [t["name"] for t in key["twists"]],
        "questions": len(key["questions"]),
    }
    if args.json:
        echo_json(summary)
    else:
        echo(f"wrote {summary['events']} events for account {summary['account_id']} to {out}")
        echo(
            f"twists: {', '.join(summary['twists']) or 'none'}; {summary['questions']} questions in answer_key.json"
        )
    return 0


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{what} {path} does not exist; check the path") from None
    except json.JSONDecodeError as err:
        raise ScenarioError(f"{what} {path} is not valid JSON (line {err.lineno}); fix the file") from None


def _questions(args: argparse.Namespace) -> int:
    key = _read_json(args.dir / "answer_key.json" if args.dir.is_dir() else args.dir, "answer key")
    if args.json:
        echo_json({q["id"]: None for q in key["questions"]})
    else:
        for q in key["questions"]:
            echo(f"{q['id']}: {q['question']} ({q['kind']})")
    return 0


def _check(args: argparse.Namespace) -> int:
    from ircreds.scenarios import grade, summary

    key_path = args.dir / "answer_key.json" if args.dir.is_dir() else args.dir
    key = _read_json(key_path, "answer key")
    answers = _read_json(args.answers, "answer sheet")
    if not isinstance(answers, dict):
        raise ScenarioError(f"answer sheet {args.answers} must be a JSON object of question id to answer")
    results = grade(key, answers)
    score = sum(r.correct for r in results)
    if args.json:
        echo_json(
            {
                "score": score,
                "total": len(results),
                "unanswered": sum(not r.answered for r in results),
                "summary": summary(results),
                "results": [
                    {
                        "id": r.id,
                        "correct": r.correct,
                        "status": r.status,
                        "given": r.given,
                        "detail": r.detail,
                        "explanation": r.explanation,
                    }
                    for r in results
                ],
            }
        )
    else:
        rows = [
            (
                r.id,
                {"correct": "correct", "wrong": "WRONG", "unanswered": "unanswered"}[r.status],
                (r.detail or ("" if r.correct else r.explanation)) if r.answered else "",
            )
            for r in results
        ]
        echo(table(rows, ("question", "grade", "note")))
        answered = sum(r.answered for r in results)
        echo(
            f"\nscore: {score}/{answered} answered ({summary(results)})"
            if answered
            else f"\n{summary(results)}"
        )
    return 0 if score == len(results) else 1
