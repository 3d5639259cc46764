"""The ``ircreds`` command: one subcommand per module in this package.

Each module ``ircreds/cli/<name>.py`` defines ``register(subparsers)``, which adds its
subcommands and sets ``func`` on them. ``func(args) -> int`` is the exit code. Errors that
ircreds raises on purpose become one sentence on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ircreds.errors import IrcredsError
from ircreds.escape import term

# The command modules, imported lazily so `ircreds --help` stays fast. Add one line per module.
COMMAND_MODULES: tuple[str, ...] = (
    "ircreds.cli.load",
    "ircreds.cli.case",
    "ircreds.cli.athena",
    "ircreds.cli.scenario",
    "ircreds.cli.trace",
    "ircreds.cli.scope",
    "ircreds.cli.contain",
    "ircreds.cli.report",
    "ircreds.cli.demo",
    "ircreds.cli.notebooks",
    "ircreds.cli.hunt",
    "ircreds.cli.validate",
    "ircreds.cli.acquire",
)


class _TerminalFormatter(logging.Formatter):
    """Log lines for a terminal: file names and reasons come from the evidence, so controls are escaped."""

    def format(self, record: logging.LogRecord) -> str:
        return term(super().format(record), multiline=True, reversible=False)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available subcommand."""
    from ircreds import __version__

    parser = argparse.ArgumentParser(
        prog="ircreds",
        description="Trace and contain leaked AWS temporary credentials from CloudTrail.",
    )
    parser.add_argument("--version", action="version", version=f"ircreds {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:  # not written yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except IrcredsError as err:
        sys.stderr.write(term(f"ircreds {args.command}: {err}", multiline=True, reversible=False) + "\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
