#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian machine, then run all of it:
# lint, unit tests, doctests, notebooks under nbval and the real-browser tests.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k load -x`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! [ -x /usr/bin/chromium ]; then   # the browser tests and kaleido need Debian's Chromium
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'

.venv/bin/ruff check ircreds tests benchmarks
.venv/bin/ruff format --check --quiet ircreds tests benchmarks
# two workers (pytest-xdist), one test file each at a time: a notebook's cells share a kernel and a file's
# fixtures its set-up; 1,905 tests took 25.8 min on one worker and 10.8 min on two on a 2-core machine
.venv/bin/python -m pytest -n 2 --dist loadfile --doctest-modules --nbval-lax ircreds tests notebooks "$@"
