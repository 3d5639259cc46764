"""Where worker processes come from: a fork when it is safe, a fork server when it is not.

A fork copies only the calling thread. Once other threads run (a notebook kernel's, a web server's,
a test runner's, a progress bar's monitor), one of them may hold a lock (the allocator's, a thread
pool's) that the child then finds held forever: the child hangs or crashes. A worker forked beside
such threads crashed once in CI. Then workers come from a fork server instead: one clean process,
started once per session, that has imported the modules workers run and forks each of them. A process
with no other thread (the command line) forks directly, which starts at once and shares its memory.

Example:
    >>> process_context().get_start_method() in ("fork", "forkserver", "spawn")
    True
"""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

#: The modules whose functions run in workers: the fork server imports them once, before any fork
#: (and never re-runs the caller's ``__main__``, which a script may leave unguarded).
PRELOAD = ["ircreds.engines.store", "ircreds.scenarios.trail"]


def process_context() -> Any:
    """The multiprocessing context for worker processes started from this process, now.

    Workers started from a fork server do not see changes made to module globals after import:
    pass every setting a worker needs as an argument.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")
