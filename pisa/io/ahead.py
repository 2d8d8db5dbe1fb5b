"""Iterating on a thread of its own, a few items ahead of the consumer: decoding runs on
while the frames before are converted, and a recording's next batch decodes while the
model runs on this one (FFmpeg and torch's kernels work outside the GIL)."""
from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Iterable, Iterator

_END = object()


class RunAhead:
    """The items of ``make()`` (called on the thread), at most ``depth`` ahead of the
    consumer. An error raised while iterating reaches the consumer at the item where it
    happened. :meth:`close` (or leaving a ``with`` block) stops the thread."""

    def __init__(self, make: Callable[[], Iterable[Any]], depth: int = 2) -> None:
        self._queue: "queue.Queue" = queue.Queue(max(1, int(depth)))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(make,), daemon=True)
        self._thread.start()

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
        self._thread.join()

    def __enter__(self) -> "RunAhead":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
