"""The bounded pool that runs assessments: ``workers`` threads and at most ``queue``
requests waiting for one.

A request takes a slot when it is admitted (before its upload is read, so that the
uploads on disk are bounded too) and gives it back when its assessment has finished,
or when it ends before one was started; with every slot taken a new request is refused
at once (:meth:`WorkerPool.admit` returns None), never queued without bound. An
assessment whose caller stopped waiting (a timeout) keeps its slot until its thread is
free again, so the pool never runs more than ``workers`` assessments at a time.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Dict, Optional


class Slot:
    """A place in the pool, taken by :meth:`WorkerPool.admit`. :meth:`submit` runs the
    request's work on a worker and gives the slot back when that ends; :meth:`close`
    gives it back when nothing was submitted (idempotent)."""

    def __init__(self, pool: "WorkerPool") -> None:
        self._pool = pool
        self._submitted = False
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> "Future[Any]":
        """Run ``fn(*args)`` on a worker thread; the slot is given back when it ends
        (or when the future is cancelled before it started)."""
        if self._submitted or self._closed:
            raise RuntimeError("a slot runs one piece of work")
        self._submitted = True
        future = self._pool._executor.submit(self._pool._run, fn, *args)
        future.add_done_callback(lambda _: self._pool._release())
        return future

    def close(self) -> None:
        if not self._submitted and not self._closed:
            self._closed = True
            self._pool._release()


class WorkerPool:
    """``workers`` threads (>= 1) and room for ``queue`` (>= 0) more admitted requests."""

    def __init__(self, workers: int = 1, queue: int = 4) -> None:
        if int(workers) < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if int(queue) < 0:
            raise ValueError(f"queue must be >= 0, got {queue}")
        self.workers, self.queue = int(workers), int(queue)
        self.capacity = self.workers + self.queue
        self._executor = ThreadPoolExecutor(max_workers=self.workers,
                                            thread_name_prefix="pisa-assess")
        self._lock = threading.Lock()
        self._admitted = 0
        self._running = 0

    def admit(self) -> Optional[Slot]:
        """A slot, or None when all :attr:`capacity` slots are taken."""
        with self._lock:
            if self._admitted >= self.capacity:
                return None
            self._admitted += 1
        return Slot(self)

    def _release(self) -> None:
        with self._lock:
            self._admitted -= 1

    def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self._lock:
            self._running += 1
        try:
            return fn(*args)
        finally:
            with self._lock:
                self._running -= 1

    def stats(self) -> Dict[str, int]:
        """``admitted`` (requests holding a slot: uploading, waiting or assessed),
        ``running`` (assessments on a worker now), ``workers``, ``queue``, ``capacity``."""
        with self._lock:
            return {"admitted": self._admitted, "running": self._running,
                    "workers": self.workers, "queue": self.queue, "capacity": self.capacity}

    def shutdown(self) -> None:
        """Stop taking work: waiting assessments are cancelled, running ones finish on
        their own."""
        self._executor.shutdown(wait=False, cancel_futures=True)
