"""Run one sandbox in its own process (a second moto server, for a second account).

Reads an ``account.json`` path from argv, starts the sandbox, prints one JSON line with its endpoint and
administrator key (moto's fake key, not a secret) and serves until stdin closes.
"""

from __future__ import annotations

import json
import sys

from ircreds.sandbox import start_sandbox


def main() -> None:
    with start_sandbox(sys.argv[1]) as sb:
        key, secret = sb.credentials
        sys.stdout.write(json.dumps({"endpoint_url": sb.endpoint_url, "key": key, "secret": secret}) + "\n")
        sys.stdout.flush()
        sys.stdin.read()


if __name__ == "__main__":
    main()
