"""Run a callable in a forked child, for tests that kill writers mid-way (crash safety, concurrent writers).

The child must not share a lock with pytest's process: tqdm guards every progress bar with a
multiprocessing lock, a semaphore that a fork shares, so a child SIGKILLed while holding it
(rendering faces with a progress bar) left pytest waiting on it forever (seen in CI). The child
gets a process-private tqdm lock first.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


def fork_child(work: Callable[[], None]) -> int:
    """Fork; the child gives tqdm a private lock, runs ``work`` and exits (0 if it returned, else 1). Returns the pid."""
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            from tqdm import tqdm

            tqdm.set_lock(threading.RLock())
            work()
            code = 0
        finally:
            os._exit(code)
    return pid
