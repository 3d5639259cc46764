"""Where worker processes come from: a fork when it is safe, a fork server when that is safe, else none.

A fork copies only the calling thread. Once other threads run (a notebook kernel's, a web server's,
a test runner's, a progress bar's monitor), one of them may hold a lock (the allocator's, a thread
pool's) that the child then finds held forever: the child hangs or crashes. A case-store index worker
forked beside such threads crashed once in CI. A fork server avoids that (one clean process, started once, that
imports the modules workers run and forks each of them), but each of its workers first imports the
caller's main script again: a script without an ``if __name__ == "__main__":`` guard would run
again in every worker. So:

- no other thread runs (the command line): fork, which starts at once and shares memory;
- threads run and the main module is no file (a notebook kernel, the REPL, ``python -c``): a fork server;
- threads run in a script: no workers (``None``), the work runs in this process, slower but sound.

Example:
    >>> context = process_context()
    >>> context is None or context.get_start_method() in ("fork", "forkserver")
    True
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from typing import Any

#: The modules whose functions run in workers: the fork server imports them once, before any fork.
PRELOAD = ["ircreds.evidence.sources._reader", "ircreds.engines.store", "ircreds.scenarios.trail"]


def process_context() -> Any | None:
    """The multiprocessing context for worker processes started from this process now, or None.

    None: start no worker, do the work here. Workers from a fork server do not see changes made to
    module globals after import: pass every setting a worker needs as an argument.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    main = sys.modules.get("__main__")
    main_is_code = (
        getattr(getattr(main, "__spec__", None), "name", None) is not None
        or getattr(main, "__file__", None) is not None
    )
    if "forkserver" in methods and not main_is_code:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return None
