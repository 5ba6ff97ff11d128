"""Run one analysis of untrusted media in a child process with CPU-time and memory limits.

A hostile video can be built to cost far more than it weighs; a limit the kernel enforces bounds every such case,
including the ones no check foresaw. The child is forked (Linux), does pure computation on the bytes it is given and
sends back its result; it never touches the parent's database connections or files.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import resource
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from .errors import InferenceError

Result = TypeVar("Result")

# One fork at a time: multiprocessing's bookkeeping of a process's children is not safe to change from several threads.
_STARTING = threading.Lock()


@dataclass(frozen=True)
class CostLimits:
    """What one analysis may use: CPU seconds (all its threads), memory mapped beyond what the parent had, wall time."""

    cpu_s: int
    memory_mb: int
    wall_s: float


def _address_space_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _child(sender: Connection, function: Callable[..., Any], kwargs: dict[str, Any], limits: CostLimits) -> None:
    # Another of the parent's threads may have held the lock of sys.stdout or sys.stderr at the fork, and it is never
    # released here: a warning printed by the analysis would wait for it forever. Fresh objects on the same files.
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115  # lives as long as the process
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    # The parent's objects are not the child's garbage: left to the collector, a full collection walks all of them and
    # so copies every page they lie on into the child (a million objects: about 120 MB of the child's memory budget).
    gc.freeze()
    # A forked child starts its CPU clock at zero; at the soft limit the kernel sends SIGXCPU, which ends it.
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    # The address space starts as the parent's (models, libraries): the budget is counted on top of it.
    ceiling = _address_space_bytes() + limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    try:
        outcome: tuple[str, Any] = ("done", function(**kwargs))
    except InferenceError as error:
        outcome = ("refused", (error.code, error.detail))
    except MemoryError:
        outcome = ("too_costly", None)
    except Exception as error:  # noqa: BLE001  # reported to the parent, which raises it as a failure of its own
        outcome = ("failed", f"{type(error).__name__}: {error}")
    sender.send(outcome)
    sender.close()


def run_limited(function: Callable[..., Result], *, limits: CostLimits, **kwargs: Any) -> Result:
    """`function(**kwargs)` in a forked child under `limits`; its InferenceError is raised here as it was there.

    Raises InferenceError("too_costly") when the child ran out of CPU time, memory or wall time, and RuntimeError when
    it failed in another way (a bug, not the input's fault).
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, function, kwargs, limits), daemon=True)
    with _STARTING:
        process.start()
    sender.close()
    try:
        if not receiver.poll(limits.wall_s):
            process.kill()
            raise InferenceError("too_costly", f"the analysis took longer than {limits.wall_s:.0f} seconds")
        status, value = receiver.recv()
    except EOFError:
        # Killed before it could answer: SIGXCPU at the CPU limit, or a failed allocation inside a library.
        status, value = "too_costly", None
    finally:
        receiver.close()
        process.join()
    if status == "done":
        return value  # type: ignore[no-any-return]  # what function returned, sent back through the pipe
    if status == "refused":
        raise InferenceError(*value)
    if status == "too_costly":
        raise InferenceError(
            "too_costly",
            f"analysing this video needs more than {limits.cpu_s} s of processor time or {limits.memory_mb} MB",
        )
    raise RuntimeError(f"the analysis failed: {value}")
