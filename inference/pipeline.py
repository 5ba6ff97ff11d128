"""Overlapping pipeline stages: one stage produces frames in a thread while the caller consumes them, and work
that does not depend on another runs beside it.

The heavy work on both sides (OpenCV warps, the x264 encoder, onnxruntime, the
face models) releases the GIL, so a producer thread feeding a bounded queue
keeps a second core busy without holding more than a few frames in memory.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

_POLL_S = 0.1


class _End:
    """Marks the end of the producer's items, carrying its exception if it failed."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def run_ahead(
    items: Iterable[Item], *, depth: int = 4, on_wait: Callable[[], None] | None = None, wait_s: float = 0.5
) -> Iterator[Item]:
    """The items of an iterable, produced in a background thread up to depth items ahead of the consumer.

    Order is kept; an exception raised by the producer is raised in the consumer
    at the point where the item would have come. When the consumer stops early
    (it breaks, raises, or the generator is closed) the producer stops at its
    next item, so a cancelled render stops its animation too. While the
    consumer waits for an item, on_wait() is called every wait_s seconds (a
    render reports progress and checks its consent there); what it raises
    stops the pipeline like the consumer's own errors.
    """
    if depth < 1:
        raise ValueError("depth must be at least 1")
    ready: queue.Queue[Item | _End] = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def offer(item: Item | _End) -> bool:
        """Queue the item, waiting for room; False once the consumer has stopped."""
        while not stopped.is_set():
            try:
                ready.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
        except BaseException as error:  # handed to the consumer, which re-raises it
            offer(_End(error))
            return
        offer(_End())

    producer = threading.Thread(target=produce, name="candor-run-ahead", daemon=True)
    producer.start()
    try:
        while True:
            try:
                item = ready.get(timeout=wait_s)
            except queue.Empty:
                if on_wait is not None:
                    on_wait()
                continue
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stopped.set()
        producer.join()


@contextlib.contextmanager
def opencv_on_one_thread() -> Iterator[None]:
    """OpenCV's parallel loops off while a pipeline overlaps its own stages (restored afterwards).

    The render already keeps both cores busy (frames made in one thread, encoded in another); OpenCV splitting each
    warp and blur over its own pool on top of that doubled the animation's processor time for the same wall time, and
    took 5-8% of a whole render's (docs/engine.md, Speed). The frames are the same either way. OpenCV's thread count
    is the process's, so this is for a process that runs one render at a time (a render worker), not a web server.
    """
    import cv2

    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def started(work: Callable[[], Result], *, name: str) -> Future[Result]:
    """work() begun now in a daemon thread named `name`; the Future holds its result or the exception it raised.

    What waits on the Future gets the exception where it asks for the result.
    Work whose result is never asked for (its render was cancelled) runs to its
    end and is dropped.
    """
    future: Future[Result] = Future()

    def run() -> None:
        future.set_running_or_notify_cancel()
        try:
            future.set_result(work())
        except BaseException as error:  # handed to whoever asks for the result
            future.set_exception(error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def run_beside(
    work: Callable[[], Result], *, name: str, on_wait: Callable[[], None] | None = None, wait_s: float = 0.5
) -> Result:
    """work()'s result, computed in a daemon thread while the caller's thread calls on_wait() every wait_s seconds.

    The caller stays free for what must happen in its thread (a render's
    progress and consent checks touch the database); what on_wait raises
    stops the waiting (the work runs to its end and is dropped), and what work
    raises is raised here.
    """
    future = started(work, name=name)
    while True:
        try:
            return future.result(timeout=wait_s)
        except TimeoutError:
            if future.done():  # the work's own TimeoutError
                raise
            if on_wait is not None:
                on_wait()
