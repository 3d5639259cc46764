"""``ircreds demo``: the whole walkthrough without a browser, on the bundled sample incident.

Load the evidence, trace the leaked key, plan the containment, apply it to a local sandbox (a moto
IAM seeded with the scenario's account: no AWS account, no network), read the policies back, check
the logged cut-off, write the report; then say how to open the notebooks.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ircreds.cli._io import echo, table
from ircreds.cli._write import check_folder, writing
from ircreds.clock import utc_now
from ircreds.errors import IrcredsError
from ircreds.times import iso_z, parse_iso

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "walkthrough"


def register(subparsers: Any) -> None:
    """Add ``ircreds demo``."""
    parser = subparsers.add_parser(
        "demo",
        help="run the whole walkthrough on the bundled sample incident (local sandbox: no AWS, no network)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        default="ircreds-demo",
        type=Path,
        help="folder for the report and the action record, a new or empty one (default: ./ircreds-demo)",
    )
    parser.add_argument(
        "--force", action="store_true", help="write into a folder that holds files (an earlier demo's)"
    )
    parser.add_argument(
        "--samples",
        type=Path,
        default=None,
        help="a scenario folder with answer_key.json and account.json (default: data/samples/walkthrough, "
        "regenerated into OUT/evidence when this install has no data folder)",
    )
    parser.set_defaults(func=run)


def _samples(args: argparse.Namespace) -> Path:
    if args.samples is not None:
        if not (args.samples / "answer_key.json").is_file():
            raise IrcredsError(
                f"{args.samples} has no answer_key.json; pass a folder written by `ircreds scenario`"
            )
        return args.samples
    if (SAMPLES / "answer_key.json").is_file():
        return SAMPLES
    from ircreds.scenarios import walkthrough

    evidence = args.out / "evidence"
    if (evidence / "answer_key.json").is_file():  # an earlier demo's (--force): the same incident
        return evidence
    echo(
        "no data/samples/walkthrough in this install: generating the walkthrough (deterministic, same incident)"
    )
    check_folder(evidence)
    with writing(evidence):
        return walkthrough().write(evidence)


def run(args: argparse.Namespace) -> int:
    """Run the demo; return 0 when the sandbox holds the planned policies and the logged cut-off held."""
    import ircreds
    from ircreds import aws, report
    from ircreds.containment import DEFAULT_MARGIN
    from ircreds.containment.policy import canonical
    from ircreds.sandbox import case_account, start_sandbox

    out: Path = check_folder(args.out, force=args.force)
    samples = _samples(args)
    key = json.loads((samples / "answer_key.json").read_text())

    echo(f"1. Load   {samples}")
    events = ircreds.load(samples)
    lr = events.attrs.get("load_report", {})
    span = lr.get("time_range", {})
    echo(
        f"         {lr.get('events', len(events)):,} events from {lr.get('files_read', '?')} files, "
        f"{span.get('start')} .. {span.get('end')}, {len(lr.get('regions', []))} regions, "
        f"{len(lr.get('rejects', []))} rejected"
    )

    leaked = key["leaked_access_key_id"]
    echo(f"2. Trace  {leaked} (the leaked key of the training incident)")
    trace = ircreds.trace(events, leaked)
    s = trace.session
    echo(
        f"         issued {iso_z(s.issued_at)} by {s.issuer.arn} ({s.kind} on {s.role_arn}), expires {iso_z(s.expires_at)}"
    )
    echo(
        f"         {trace.summary.count} calls; new source IPs: {', '.join(trace.summary.new_source_ips) or 'none'}"
    )
    for node in trace.walk():
        if node is not trace:
            echo(
                f"         spawned {node.key} ({node.session.kind}) -> {node.session.role_arn or node.session.principal_arn}"
            )

    # The moment of decision in the training story: the recorded cut-off minus the propagation margin.
    now = parse_iso(key["cutoff"], strict=True) - DEFAULT_MARGIN
    echo(f"3. Plan   as of {iso_z(now)}")
    plan = ircreds.plan(trace, now=now, events=events)
    echo(f"         cut-off {iso_z(plan.cutoff)} (recorded in the incident: {key['cutoff']})")
    rows = [
        (r.target, len(r.cuts), sum(c.suspicious for c in r.cuts), len(r.survives), r.policy_name)
        for r in plan.revocations
    ]
    for line in table(
        rows, ["role/user", "cuts", "of which suspicious", "survive", "inline policy"]
    ).splitlines():
        echo(f"         {line}")
    for item in plan.uncovered:
        echo(f"         not reached by any cut-off: {item.kind} {item.target}: {item.action}")

    echo("4. Apply  to the local sandbox (moto IAM seeded with the scenario's account and what the logs add)")
    with start_sandbox(case_account(samples, events, plan)) as sandbox:
        # Explicitly confirmed: the target is the local sandbox, never an AWS account.
        if not str(sandbox.endpoint_url).startswith("http://127.0.0.1:"):
            raise IrcredsError(f"refusing to apply: {sandbox.endpoint_url} is not the local sandbox")
        record = aws.apply(
            plan, sandbox, now=utc_now(), dry_run=False, confirm=True, record_dir=out / "actions"
        )
        echo(f"         {sandbox.endpoint_url}: {len(record.changed)} policy(ies) written by {record.who}")
        iam = sandbox.client("iam")
        same = []
        for rev in plan.revocations:
            getter = iam.get_user_policy if str(rev.target_kind) == "user" else iam.get_role_policy
            param = "UserName" if str(rev.target_kind) == "user" else "RoleName"
            stored = getter(**{param: rev.target, "PolicyName": rev.policy_name})["PolicyDocument"]
            same.append(canonical(stored) == canonical(rev.policy))
            step = "5. Read " if len(same) == 1 else "        "
            verdict = "identical to the plan" if same[-1] else "DIFFERS from the plan"
            echo(f"{step} {rev.policy_name} on {rev.target} read back: {verdict}")

    role = s.role_arn or s.principal_arn
    result = ircreds.verify(plan, events, targets=[role])
    echo(
        f"6. Verify the logged cut-off on {role.split('/')[-1]} (the incident's responder cut that role only)"
    )
    echo(
        f"         {len(result.denied)} calls denied explicitly, {len(result.succeeded)} succeeded past the "
        f"allowance, {len(result.exempt)} GetCallerIdentity (never deniable)"
    )
    survivors = sorted({c.access_key_id for c in result.survivors_active})
    if survivors:
        echo(
            f"         still active after it: {', '.join(survivors)} (out of that role's reach: the plan's other revocations and its clean-up list cover them)"
        )

    # the report tells the state once the logs end (after the incident's deny), with the proof; the
    # sandbox record is shown as a rehearsal, never as containment
    after = ircreds.plan(trace, plan.cutoff, events=events, as_of="evidence-end")
    rendered = report.render(
        trace, plan=after, actions=[record], events=events, fmt="html", command="ircreds demo"
    )
    with writing(out / "incident-report.html"):
        path = rendered.save(out / "incident-report.html", overwrite=args.force)[0]
    echo(f"7. Report {path}")
    echo("")
    echo(
        f"Leaked key {leaked}: {len(plan.cut_keys())} session(s) cut across {len(plan.revocations)} role(s), "
        f"{len(plan.uncovered)} item(s) to clean up by hand, cut-off verified in the logs: {'yes' if result.ok else 'NO'}."
    )
    echo(f"Report: {path.resolve()}")
    echo(f"Action record: {record.path}")
    echo("Next: walk the same incident step by step in JupyterLab:  jupyter lab notebooks/")
    return 0 if all(same) and result.ok else 1
