"""The production face engine: all face work in a pool of worker processes.

The event loop only checks upload headers (microseconds) and awaits futures; decoding, detection,
landmarks and encodings run in `app.face.worker` inside the pool. Workers are started with the
"forkserver" method: forking the server process itself is unsafe once threads run in it
(aiosqlite keeps one), while a fork server is single-threaded, has `app.face.worker` and its
libraries imported already, and so starts (and restarts) workers faster than "spawn".

Workers end with the server, however it ends: a server killed with SIGKILL leaves no worker behind
(a parent-death signal on Linux, and a watchdog thread that checks the server's PID every second).

A worker that dies (a crash in native code, the OOM killer) breaks the whole executor: the
requests in flight fail with `Unavailable` (`face_engine_unavailable`, 503) and a fresh pool is
created, so the next request works.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from app import lifeline
from app.errors import DomainError, Unavailable
from app.face import worker
from app.face.engine import (
    EngineHealth,
    FaceUnusable,
)
from app.face.images import DEFAULT_LIMITS, ImageLimits
from app.face.runner import WorkerFunctionsEngine

log = logging.getLogger("ecard.face")

T = TypeVar("T")


class _Refusal:
    """A DomainError raised in a worker, carried back as plain values.

    Exceptions with keyword-only constructor arguments do not survive pickling intact.
    """

    def __init__(self, error: DomainError) -> None:
        self.kind = type(error)
        self.detail = error.detail
        self.code = error.code
        self.extra = dict(error.extra)

    def rebuild(self) -> DomainError:
        if issubclass(self.kind, FaceUnusable):
            return self.kind(self.detail, code=self.code)  # type: ignore[arg-type]
        return self.kind(self.detail, code=self.code, **self.extra)


def _guarded(fn: Callable[..., T], *args: Any) -> T | _Refusal:
    try:
        return fn(*args)
    except DomainError as error:
        return _Refusal(error)


# Face workers yield the CPU to the server process: with one worker per core, the event loop would
# otherwise wait for a time slice behind face work and every request (even /health) would slow.
WORKER_NICENESS = 10


# A worker outlives a server killed with SIGKILL unless it watches: its parent is the fork server,
# which exits when the server's end of its pipe closes, but the worker would be left to init.
_PR_SET_PDEATHSIG = 1


def _exit_with_parent() -> None:
    """Linux: have the kernel send SIGKILL when the parent (the fork server) exits."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the watchdog below still ends the worker
        log.warning("could not ask for a parent-death signal; relying on the watchdog")


def _start_worker(server_pid: int) -> None:
    _exit_with_parent()
    lifeline.watch(server_pid, lambda: os._exit(0))
    os.nice(WORKER_NICENESS)
    worker.load_models()


def _warm() -> int:
    worker.load_models()
    return os.getpid()


class ProcessPoolFaceEngine(WorkerFunctionsEngine):
    """`FaceEngine` backed by a process pool of `workers` processes (default: one per core)."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        limits: ImageLimits = DEFAULT_LIMITS,
        start_method: str = "forkserver",
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.limits = limits
        self._context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._context.set_forkserver_preload(["app.face.worker"])
        self._executor: ProcessPoolExecutor | None = self._new_executor()
        self._lock = asyncio.Lock()
        self._busy = 0
        self.restarts = 0

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=self._context, initializer=_start_worker,
            initargs=(os.getpid(),),
        )

    async def start(self) -> None:
        """Start every worker and load its models now rather than on the first request."""
        await asyncio.gather(*(self.run(_warm) for _ in range(self.workers)))

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a picklable function in a worker. Domain errors raised there are raised here."""
        executor = self._executor
        if executor is None:
            raise Unavailable("the face engine is closed", code="face_engine_unavailable")
        loop = asyncio.get_running_loop()
        self._busy += 1
        try:
            result = await loop.run_in_executor(executor, _guarded, fn, *args)
        except BrokenProcessPool as exc:
            await self._replace(executor)
            raise Unavailable(
                "a face worker failed; try again", code="face_engine_unavailable"
            ) from exc
        finally:
            self._busy -= 1
        if isinstance(result, _Refusal):
            raise result.rebuild()
        return result

    async def _replace(self, broken: ProcessPoolExecutor) -> None:
        async with self._lock:
            if self._executor is not broken:
                return  # another request already replaced it
            log.error("face worker pool broken; starting a new one")
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()
            self.restarts += 1

    async def health(self) -> EngineHealth:
        ok = self._executor is not None
        return EngineHealth(
            ok=ok,
            workers=self.workers,
            busy=self._busy,
            restarts=self.restarts,
            detail="" if ok else "closed",
        )

    async def aclose(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
