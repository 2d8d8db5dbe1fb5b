"""Iterating on a thread of its own, a few items ahead of the consumer: decoding runs on
while the frames before are converted, and a recording's next batch decodes while the
model runs on this one (FFmpeg and torch's kernels work outside the GIL)."""
from __future__ import annotations

import os
import queue
import threading
import weakref
from typing import Any, Callable, Iterable, Iterator

_END = object()
#: the threads running now: stopped before the process forks (a DataLoader's workers),
#: so that no decoder is mid-frame, holding FFmpeg's locks, when the child is copied
_RUNNING: "weakref.WeakSet[RunAhead]" = weakref.WeakSet()


class RunAhead:
    """The items of ``make()`` (called on the thread), at most ``depth`` ahead of the
    consumer. An error raised while iterating reaches the consumer at the item where it
    happened. :meth:`close` (or leaving a ``with`` block) stops the thread; so does the
    process forking, after which ``closed`` is True and the consumer starts anew."""

    def __init__(self, make: Callable[[], Iterable[Any]], depth: int = 2) -> None:
        self._queue: "queue.Queue" = queue.Queue(max(1, int(depth)))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(make,), daemon=True)
        self._thread.start()
        _RUNNING.add(self)

    @property
    def closed(self) -> bool:
        return self._stop.is_set()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, make: Callable[[], Iterable[Any]]) -> None:
        try:
            for item in make():
                if not self._put(item):
                    return
        except BaseException as err:  # handed to the consumer, in order
            self._put(err)
            return
        self._put(_END)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        item = self._queue.get()
        if item is _END:
            self._queue.put(_END)  # later calls end too
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        _RUNNING.discard(self)

    def __enter__(self) -> "RunAhead":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _stop_all_before_fork() -> None:
    for ahead in list(_RUNNING):
        ahead.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_stop_all_before_fork)
