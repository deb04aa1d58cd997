"""Processes that end with the process that started them, however it ends (SIGKILL included)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

WATCH_INTERVAL_SECONDS = 1.0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the PID now belongs to another account's process
        return False
    return True


def watch(pid: int, on_gone: Callable[[], None], *, interval: float = WATCH_INTERVAL_SECONDS) -> None:
    """Call `on_gone` (in a daemon thread) once the process `pid` has ended or this process has
    been handed to another parent (its parent died)."""
    parent = os.getppid()

    def run() -> None:
        while alive(pid) and (pid != parent or os.getppid() == parent):
            time.sleep(interval)
        on_gone()

    threading.Thread(target=run, name=f"watch-{pid}", daemon=True).start()
